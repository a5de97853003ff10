"""Building an instrument's backend from its ledger record."""

from __future__ import annotations

import math

import pytest

from workers.instrument_config import InstrumentConfigError, InstrumentRecord
from workers.instruments.registry import build_instrument
from workers.instruments.sim import SimInstrument


def test_a_sim_gets_its_faults_and_seed_from_the_record_and_the_run_speed():
    record = InstrumentRecord("rig2", "sim", {
        "seed": 7, "pixel_size_nm": 80.0,
        "faults": {"no_contact_sites": [[10.0, 10.0]], "kill_at": [[21.0, 10.0], "after_write"]}})
    sim = build_instrument(record, speed=math.inf)
    assert isinstance(sim, SimInstrument)
    assert (sim.name, sim.seed, sim.speed, sim.pixel_size_nm) == ("rig2", 7, math.inf, 80.0)
    assert sim.faults.no_contact_sites == frozenset({(10.0, 10.0)})
    assert sim.faults.kill_at == ((21.0, 10.0), "after_write")
    assert sim.is_safe()


def test_malformed_faults_are_reported_when_the_instrument_is_built():
    record = InstrumentRecord("rig", "sim", {"faults": {"kill_at": [[1, 2], "at_lunch"]}})
    with pytest.raises(InstrumentConfigError, match=r"instrument 'rig': faults .* are malformed "
                                                    r"\(kill phase 'at_lunch' is not one of"):
        build_instrument(record)


def test_a_record_with_an_unknown_key_or_speed_is_not_built():
    with pytest.raises(InstrumentConfigError, match=r"sim config keys \['sped'\] are unknown"):
        build_instrument(InstrumentRecord("rig", "sim", {"sped": 2}))
    with pytest.raises(InstrumentConfigError, match="speed 0.0 must be a positive number"):
        build_instrument(InstrumentRecord("rig", "sim", {}), speed=0.0)


def test_the_nifpga_backend_needs_its_config_file_and_runs_in_real_time():
    with pytest.raises(InstrumentConfigError, match="the nifpga backend needs config_file"):
        build_instrument(InstrumentRecord("seccm", "nifpga", {}))
    with pytest.raises(InstrumentConfigError):
        build_instrument(InstrumentRecord("seccm", "nifpga", {"config_file": "x.yaml"}),
                         speed=10.0)


def test_the_nifpga_backend_checks_its_config_before_touching_hardware(tmp_path):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(Exception, match="absent.yaml"):
        build_instrument(InstrumentRecord("seccm", "nifpga", {"config_file": str(missing)}))
