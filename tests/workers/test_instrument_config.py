"""Instruments in the ledger: registration, checked configuration, speed, their runs."""

from __future__ import annotations

import math

import pytest

from core.storage.ledger import Ledger
from tests.workers.harness import small_grid, submit_direct
from workers.instrument_config import (
    InstrumentConfigError,
    InstrumentRecord,
    check_speed,
    configure_instrument,
    instrument_record,
    known_instruments,
    runs_in_state,
)


def test_sim_is_registered_on_first_use_with_an_empty_config(database_url):
    assert instrument_record(database_url, "sim") == InstrumentRecord("sim", "sim", {})
    assert known_instruments(database_url) == ["sim"]


def test_configuring_an_instrument_registers_it_or_replaces_its_config(database_url):
    faults = {"no_contact_sites": [[10.0, 10.0]], "kill_at": [[21.0, 10.0], "after_write"]}
    configure_instrument(database_url, "rig2", config={"seed": 7, "faults": faults})
    assert instrument_record(database_url, "rig2") == InstrumentRecord(
        "rig2", "sim", {"seed": 7, "faults": faults})
    configure_instrument(database_url, "rig2", config={})
    assert instrument_record(database_url, "rig2").config == {}
    assert known_instruments(database_url) == ["rig2"]


def test_unknown_instruments_backends_and_keys_are_refused(database_url):
    with pytest.raises(InstrumentConfigError,
                       match=r"instrument 'rig9' is not registered \(known: \[\]\)"):
        instrument_record(database_url, "rig9")
    with pytest.raises(InstrumentConfigError,
                       match=r"backend 'fpga' is not one of \['nifpga', 'sim'\]"):
        configure_instrument(database_url, "rig9", backend="fpga")
    with pytest.raises(InstrumentConfigError, match=r"sim config keys \['sped'\] are unknown"):
        configure_instrument(database_url, "rig9", config={"sped": 3})
    assert known_instruments(database_url) == []


@pytest.mark.parametrize("speed", [0.0, -1.0, math.nan])
def test_a_speed_must_be_positive(speed):
    with pytest.raises(InstrumentConfigError, match="must be a positive number"):
        check_speed("sim", speed)


def test_runs_of_an_instrument_are_found_by_state(database_url):
    ledger = Ledger(database_url)
    first = submit_direct(ledger, small_grid())
    ledger.request_abort(first)
    second = submit_direct(ledger, small_grid())
    assert runs_in_state(database_url, "sim", ["queued"]) == [second]
    assert runs_in_state(database_url, "sim", ["queued", "aborted"]) == [first, second]
    assert runs_in_state(database_url, "rig2", ["queued"]) == []
