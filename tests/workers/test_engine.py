"""The acquisition engine on the simulated instrument: faults, abort, pause, safe ending."""

from __future__ import annotations

import math
import threading
import time

import pytest

from core.grid import grid_from_mapping
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Run
from core.storage.spot_files import file_sha256, orphan_temporary_files, read_spot_file
from tests.workers.harness import (
    grid_mapping,
    sites,
    small_grid,
    spot_table,
    submit_direct,
    wait_until,
)
from workers.engine import AcquisitionEngine
from workers.instruments.protocols import InstrumentError, Stopped
from workers.instruments.sim import SimFaults, SimInstrument, site_key

#: engine behaviour that does not depend on the database runs on SQLite only; abort and pause
#: (transactions polled from another thread, timing) run on PostgreSQL too
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def ledger(database_url):
    return Ledger(database_url)


def _engine(ledger, instrument, data_dir, committed=None):
    return AcquisitionEngine(ledger, instrument, data_dir=data_dir, holder="test",
                             on_spot_committed=None if committed is None else committed.append)


def _states(ledger, run_id):
    return [row["state"] for row in spot_table(ledger.url, run_id)]


def _in_thread(engine, run_id):
    """Run the engine in a thread; returns (thread, outcome dict filled when it ends)."""
    outcome = {}

    def target():
        outcome["state"] = engine.run(run_id)
        outcome["ended_at"] = time.monotonic()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _wait_for_spot(ledger, run_id, order, state):
    wait_until(lambda: spot_table(ledger.url, run_id)[order]["state"] == state,
               timeout_s=20, what=f"spot {order} {state}", interval_s=0.01)


@sqlite_only
def test_every_spot_is_measured_once_filed_with_its_checksum_and_the_pipette_retracted(
    ledger, tmp_path
):
    grid = small_grid(camera=True)
    run_id = submit_direct(ledger, grid)
    sim = SimInstrument(speed=math.inf)
    committed = []
    assert _engine(ledger, sim, tmp_path, committed).run(run_id) == "completed"

    table = spot_table(ledger.url, run_id)
    assert [row["state"] for row in table] == ["done"] * 6
    assert committed == [row["id"] for row in table]
    for row in table:
        assert row["path"] == f"runs/{run_id}/spot_{row['order']:05d}.h5"
        assert file_sha256(tmp_path / row["path"]) == row["sha256"]
    record = read_spot_file(tmp_path / table[4]["path"])
    assert record.attributes["run_id"] == run_id
    assert record.attributes["spot_order"] == 4
    assert record.attributes["instrument"] == "sim"
    assert record.movie is not None and len(record.movie.frames) == len(record.movie.times_s) > 0
    assert sim.is_safe()
    assert orphan_temporary_files(tmp_path) == []
    assert ledger.progress(run_id).state == "completed"


@sqlite_only
def test_no_contact_and_a_fifo_timeout_are_recorded_and_the_run_goes_on(ledger, tmp_path):
    grid = small_grid()
    spots = sites(grid)
    faults = SimFaults(no_contact_sites=frozenset({site_key(*spots[1])}),
                       fifo_timeout_sites=frozenset({site_key(*spots[3])}))
    run_id = submit_direct(ledger, grid)
    sim = SimInstrument(speed=math.inf, faults=faults)
    assert _engine(ledger, sim, tmp_path).run(run_id) == "completed"

    table = spot_table(ledger.url, run_id)
    assert [row["state"] for row in table] == [
        "done", "no_contact", "done", "failed", "done", "done"]
    # retract 8 µm + 4 µm overtravel allowed below it
    assert table[1]["error"] == "no contact within 12.0 µm of travel"
    assert table[3]["error"].startswith("sim: FPGA_To_Host_FIFO timed out at t = 0.2")
    assert table[1]["path"] is None and table[3]["path"] is None
    assert sim.is_safe()


@sqlite_only
def test_three_failures_in_a_row_fail_the_run_and_skip_the_rest(ledger, tmp_path):
    grid = small_grid()
    spots = sites(grid)
    faults = SimFaults(fifo_timeout_sites=frozenset(site_key(*spots[k]) for k in (1, 2, 3)))
    run_id = submit_direct(ledger, grid)
    sim = SimInstrument(speed=math.inf, faults=faults)
    assert _engine(ledger, sim, tmp_path).run(run_id) == "failed"

    assert _states(ledger, run_id) == [
        "done", "failed", "failed", "failed", "skipped", "skipped"]
    summary = ledger.run_summary(run_id)
    assert summary["state"] == "failed"
    assert sim.is_safe()


@sqlite_only
def test_a_hung_stage_fails_the_run_before_the_site_is_touched(ledger, tmp_path):
    grid = small_grid()
    spots = sites(grid)
    faults = SimFaults(stage_hang_sites=frozenset({site_key(*spots[2])}))
    run_id = submit_direct(ledger, grid)
    sim = SimInstrument(speed=math.inf, faults=faults)
    assert _engine(ledger, sim, tmp_path).run(run_id) == "failed"

    # the stage never reached spot 2: it was not approached, so it is skipped with the rest
    assert _states(ledger, run_id) == ["done", "done", "skipped", "skipped", "skipped", "skipped"]
    progress = ledger.progress(run_id)
    assert progress.state == "failed"
    assert sim.is_safe()


class _TimedSim(SimInstrument):
    """Records when a measurement stopped on request (outputs off)."""

    stopped_at: float | None = None

    def measure(self, *args, **kwargs):
        try:
            return super().measure(*args, **kwargs)
        except Stopped:
            self.stopped_at = time.monotonic()
            raise


def test_abort_now_interrupts_the_measurement_within_200_ms(ledger, tmp_path):
    # speed 10: the approach takes 0.4 s and a 20 s measurement 2 s of real time
    grid = small_grid(duration_s=20.0)
    run_id = submit_direct(ledger, grid, speed=10.0)
    sim = _TimedSim(speed=10.0)
    thread, outcome = _in_thread(_engine(ledger, sim, tmp_path), run_id)
    try:
        _wait_for_spot(ledger, run_id, 0, "measuring")
        time.sleep(0.3)
        asked_at = time.monotonic()
        ledger.request_abort(run_id, "now")
    finally:
        thread.join(timeout=10)
    reaction_s = sim.stopped_at - asked_at
    assert reaction_s < 0.2, f"the measurement went on {reaction_s * 1e3:.0f} ms after the abort"
    assert outcome["ended_at"] - asked_at < 1.0  # ledger settled, pipette up, run closed
    assert outcome["state"] == "aborted"
    table = spot_table(ledger.url, run_id)
    assert [row["state"] for row in table] == ["interrupted"] + ["skipped"] * 5
    assert table[0]["error"] == "aborted during the measurement"
    assert table[0]["path"] is None
    assert sim.is_safe()
    assert orphan_temporary_files(tmp_path) == []


@sqlite_only
def test_abort_now_during_the_approach_leaves_the_site_untouched(ledger, tmp_path):
    grid = small_grid(duration_s=5.0)
    run_id = submit_direct(ledger, grid, speed=2.0)  # approach: 2 s of real time
    sim = SimInstrument(speed=2.0)
    thread, outcome = _in_thread(_engine(ledger, sim, tmp_path), run_id)
    try:
        _wait_for_spot(ledger, run_id, 0, "approaching")
        ledger.request_abort(run_id, "now")
    finally:
        thread.join(timeout=10)
    assert outcome["state"] == "aborted"
    # back to pending (no contact made), then skipped with the rest: never "interrupted"
    assert _states(ledger, run_id) == ["skipped"] * 6
    assert sim.is_safe()


def test_abort_after_the_spot_finishes_the_current_spot(ledger, tmp_path):
    grid = small_grid(duration_s=5.0)
    run_id = submit_direct(ledger, grid, speed=20.0)
    sim = SimInstrument(speed=20.0)
    thread, outcome = _in_thread(_engine(ledger, sim, tmp_path), run_id)
    try:
        _wait_for_spot(ledger, run_id, 1, "measuring")
        ledger.request_abort(run_id, "after_spot")
    finally:
        thread.join(timeout=20)
    assert outcome["state"] == "aborted"
    assert _states(ledger, run_id) == ["done", "done", "skipped", "skipped", "skipped", "skipped"]
    assert sim.is_safe()


def test_pause_stops_between_spots_and_resume_measures_the_rest_once(ledger, tmp_path):
    grid = small_grid(duration_s=5.0)
    run_id = submit_direct(ledger, grid, speed=20.0)
    sim = SimInstrument(speed=20.0)
    committed = []
    thread, outcome = _in_thread(_engine(ledger, sim, tmp_path, committed), run_id)
    try:
        _wait_for_spot(ledger, run_id, 1, "measuring")
        ledger.request_pause(run_id)
    finally:
        thread.join(timeout=20)
    assert outcome["state"] == "paused"
    assert ledger.progress(run_id).state == "paused"
    assert _states(ledger, run_id) == ["done", "done", "pending", "pending", "pending", "pending"]
    assert sim.is_safe()

    resumed = SimInstrument(speed=math.inf)
    assert _engine(ledger, resumed, tmp_path, committed).run(run_id) == "completed"
    table = spot_table(ledger.url, run_id)
    assert [row["state"] for row in table] == ["done"] * 6
    assert committed == [row["id"] for row in table]  # each spot committed exactly once
    assert resumed.is_safe()


class _BrokenDisk(SimInstrument):
    """Measures, then fails in a way the engine does not expect (a programming error)."""

    def checkpoint(self, phase, site):
        if phase == "after_write" and site_key(*site) == site_key(21.0, 10.0):
            raise RuntimeError("disk went away")


@sqlite_only
def test_an_unexpected_error_fails_the_spot_and_the_run_then_propagates(ledger, tmp_path):
    grid = small_grid()
    run_id = submit_direct(ledger, grid)
    sim = _BrokenDisk(speed=math.inf)
    with pytest.raises(RuntimeError, match="disk went away"):
        _engine(ledger, sim, tmp_path).run(run_id)
    table = spot_table(ledger.url, run_id)
    # spot 1 sits at (21, 10): serpentine row 0 goes (10, 10), (21, 10), (32, 10)
    assert [row["state"] for row in table] == ["done", "failed"] + ["skipped"] * 4
    assert table[1]["error"] == "RuntimeError: disk went away"
    assert ledger.run_summary(run_id)["state"] == "failed"
    assert sim.is_safe()


class _Interrupted(SimInstrument):
    def checkpoint(self, phase, site):
        if phase == "during_measurement":
            raise KeyboardInterrupt


@sqlite_only
def test_a_hard_shutdown_leaves_the_run_active_for_recovery(ledger, tmp_path):
    grid = small_grid()
    run_id = submit_direct(ledger, grid)
    sim = _Interrupted(speed=math.inf)
    with pytest.raises(KeyboardInterrupt):
        _engine(ledger, sim, tmp_path).run(run_id)
    assert sim.is_safe()
    assert ledger.run_summary(run_id)["state"] == "active"
    assert _states(ledger, run_id)[0] == "measuring"
    assert ledger.recover_instrument("sim") == [run_id]
    assert _states(ledger, run_id)[0] == "interrupted"
    assert ledger.run_summary(run_id)["state"] == "interrupted"


def test_an_instrument_that_cannot_be_made_safe_fails_the_run_with_both_reasons(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    from core.storage.db import upgrade_database

    upgrade_database(url)
    ledger = Ledger(url)
    grid = grid_from_mapping(grid_mapping(rows=1, cols=2))
    run_id = submit_direct(ledger, grid)

    class Latched(SimInstrument):
        def make_safe(self):
            raise InstrumentError("emergency stop latched: reinitialise first")

    state = AcquisitionEngine(ledger, Latched(speed=math.inf), data_dir=tmp_path,
                              holder="t").run(run_id)
    assert state == "failed"
    assert ledger.progress(run_id).by_state == {"done": 2}
    with session_scope(url) as session:
        error = session.get(Run, run_id).error
    assert error == ("instrument could not be made safe: emergency stop latched: "
                     "reinitialise first")
