"""Real worker processes on the embedded file broker + SQLite, and on Redis + PostgreSQL:
a worker SIGKILLed at every phase of a spot, concurrent submissions, the command line."""

from __future__ import annotations

import math
import multiprocessing
import signal

import pytest
import yaml

from core.storage.db import session_scope
from core.storage.ledger import InstrumentBusy, Ledger
from core.storage.models import Analysis
from core.storage.spot_files import file_sha256, orphan_temporary_files
from tests.workers.harness import (
    grid_mapping,
    log_tail,
    sites,
    small_grid,
    spot_table,
    wait_until,
)
from workers.embedded import running_workers
from workers.instrument_config import configure_instrument
from workers.submit import list_runs, resume_run, submit_grid, wait_for_run

pytestmark = pytest.mark.slow

#: (phase, spot order) of each kill, in the order they happen in one run
KILLS = [("before_move", 1), ("during_approach", 2), ("during_measurement", 3),
         ("after_write", 4), ("after_commit", 5)]
AT_DEATH = {"before_move": "pending", "during_approach": "approaching",
            "during_measurement": "measuring", "after_write": "measuring",
            "after_commit": "done"}
#: a spot caught before contact is measured later; one caught after contact never again
AFTER_RECOVERY = {"before_move": "pending", "during_approach": "pending",
                  "during_measurement": "interrupted", "after_write": "interrupted",
                  "after_commit": "done"}


def _kill_at(url, site, phase):
    faults = {} if site is None else {"faults": {"kill_at": [list(site), phase]}}
    configure_instrument(url, "sim", config=faults)


def _analysed(url, spot_ids):
    with session_scope(url) as session:
        return sorted(session.scalars(
            Analysis.__table__.select().with_only_columns(Analysis.spot_id)
            .where(Analysis.spot_id.in_(spot_ids))
        ))


def test_a_worker_killed_at_every_phase_of_a_spot_loses_nothing(deployment):
    url, settings = deployment.database_url, deployment.settings()
    ledger = Ledger(url)
    grid = small_grid(rows=2, cols=4)
    spots = sites(grid)
    _kill_at(url, spots[KILLS[0][1]], KILLS[0][0])
    worker = deployment.start_worker("instrument", "sim")
    run_id = submit_grid(grid, settings=settings, speed=math.inf).run_id
    run_folder = deployment.data_dir / "runs" / str(run_id)

    for number, (phase, order) in enumerate(KILLS):
        assert worker.wait(timeout=60) == -signal.SIGKILL, log_tail(worker)
        assert ledger.run_summary(run_id)["state"] == "active"  # nobody has noticed yet
        assert spot_table(url, run_id)[order]["state"] == AT_DEATH[phase], phase

        following = KILLS[number + 1] if number + 1 < len(KILLS) else None
        _kill_at(url, None if following is None else spots[following[1]],
                 None if following is None else following[0])
        if phase == "during_measurement":  # as if a write had been cut short too
            (run_folder / ".spot_00003.h5.x1y2.partial").write_bytes(b"half a file")
        worker = deployment.start_worker("instrument", "sim")
        wait_until(lambda: ledger.run_summary(run_id)["state"] == "interrupted", timeout_s=60,
                   what=f"recovery after the kill {phase}")
        table = spot_table(url, run_id)
        assert table[order]["state"] == AFTER_RECOVERY[phase], phase
        assert [row["state"] for row in table[:order]] == [
            row["state"] for row in table[:order] if row["state"] in ("done", "interrupted")]
        resume_run(run_id, settings=settings)

    assert wait_for_run(run_id, settings=settings, timeout_s=60) == "completed"
    table = spot_table(url, run_id)
    assert [row["order"] for row in table] == list(range(8))  # every planned spot, once
    assert [row["state"] for row in table] == [
        "done", "done", "done", "interrupted", "interrupted", "done", "done", "done"]
    assert {table[3]["error"], table[4]["error"]} == {"worker stopped during the measurement"}
    done = [row for row in table if row["state"] == "done"]
    for row in done:
        assert file_sha256(deployment.data_dir / row["path"]) == row["sha256"]
    assert all(row["path"] is None for row in table if row["state"] == "interrupted")
    # the folder holds exactly the committed files; the uncommitted one was moved aside
    assert sorted(p.name for p in run_folder.glob("*.h5")) == sorted(
        f"spot_{row['order']:05d}.h5" for row in done)
    assert [p.name for p in (run_folder / "uncommitted").iterdir()] == ["spot_00004.h5"]
    assert orphan_temporary_files(deployment.data_dir) == []
    # every measured spot analysed exactly once (spot 5's analysis was lost with its worker
    # and queued again when the run ended). Embedded, submitting started an analysis worker;
    # with Redis it starts only now, and finds every message sent, duplicates included
    if deployment.broker == "redis":
        deployment.start_worker("analysis")
    done_ids = [row["id"] for row in done]
    wait_until(lambda: len(_analysed(url, done_ids)) >= len(done_ids), timeout_s=60,
               what="the analyses")
    assert _analysed(url, done_ids) == sorted(done_ids)


def _submit_once(settings, grid, barrier, results):
    from core.storage.db import session_factory

    # a forked child must not use the parent's pooled database connections
    session_factory(settings.resolved_database_url).kw["bind"].dispose(close=False)
    barrier.wait(timeout=30)
    try:
        results.put(("run", submit_grid(grid, settings=settings, speed=math.inf).run_id))
    except InstrumentBusy as error:
        results.put(("busy", str(error)))
    except Exception as error:
        results.put(("error", f"{type(error).__name__}: {error}"))


def _queued_wake_ups(deployment) -> int:
    if deployment.broker == "embedded":
        folder = deployment.data_dir / "broker" / "queue"
        return sum(1 for p in folder.iterdir() if p.name.endswith(".instrument.sim.msg"))
    import redis

    client = redis.Redis.from_url(deployment.variables["CELERY_BROKER_URL"])
    try:
        return client.llen(deployment.variables["MENISCUS_BROKER_PREFIX"] + "instrument.sim")
    finally:
        client.close()


def test_twenty_concurrent_submissions_make_exactly_one_run(deployment):
    settings = deployment.settings()
    grid = small_grid()
    held = []
    if deployment.broker == "embedded":
        # stand in for running workers: no worker takes the message, so it can be counted
        from workers.embedded import hold_worker_lock

        held = [hold_worker_lock(settings, queue) for queue in ("instrument.sim", "analysis")]
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(20), context.Queue()
    children = [context.Process(target=_submit_once, args=(settings, grid, barrier, results))
                for _ in range(20)]
    try:
        for child in children:
            child.start()
        outcomes = [results.get(timeout=60) for _ in children]
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
        for lock in held:
            lock.close()
    runs = [value for kind, value in outcomes if kind == "run"]
    assert len(runs) == 1, outcomes
    busy = f"instrument 'sim' is busy with run {runs[0]}; abort it or wait"
    assert sorted(outcomes) == sorted([("run", runs[0])] + [("busy", busy)] * 19)
    assert [run["id"] for run in list_runs(settings=settings)] == runs
    assert _queued_wake_ups(deployment) == 1


@pytest.mark.parametrize("deployment", ["embedded"], indirect=True)
def test_the_command_line_starts_workers_notices_a_crash_and_resumes(deployment, tmp_path):
    """Embedded, as an operator sees it: ``submit --wait`` starts the workers; the instrument
    worker dies mid-measurement; ``resume --wait`` starts a new one, which recovers the run,
    and the run completes. (With Redis the workers are deployed by hand: see the kill test.)"""
    url = deployment.database_url
    path = tmp_path / "grid.yaml"
    grid = grid_mapping(rows=1, cols=3)
    path.write_text(yaml.safe_dump(grid, allow_unicode=True))
    _kill_at(url, sites(small_grid(rows=1, cols=3))[1], "during_measurement")

    result = deployment.cli("submit", path, "--speed", "inf", "--wait", timeout_s=120)
    run_id = int(result.stdout)
    assert result.stdout == f"{run_id}\n"  # the run id is all there is on stdout
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: run {run_id} is active but no worker serves its instrument (the worker "
        f"stopped); resume it with: python -m workers resume {run_id}")
    assert sorted(running_workers(deployment.settings())) == ["analysis"]

    _kill_at(url, None, None)
    result = deployment.cli("resume", run_id, "--wait", timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"run {run_id} completed: 3/3 spots" in result.stderr
    table = spot_table(url, run_id)
    assert [row["state"] for row in table] == ["done", "interrupted", "done"]
    done_ids = [table[0]["id"], table[2]["id"]]
    wait_until(lambda: _analysed(url, done_ids) == done_ids, timeout_s=60, what="the analyses")
    # the command line started them, and left them running for the next submission
    assert sorted(running_workers(deployment.settings())) == ["analysis", "instrument.sim"]
