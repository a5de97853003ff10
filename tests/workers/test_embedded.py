"""Embedded workers: started once whoever asks, stopped on request or when idle."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest

from core.settings import Settings
from workers.embedded import (
    EmbeddedWorkerError,
    ensure_workers,
    prune_processed,
    queue_is_empty,
    running_workers,
    start_housekeeping,
    stop_workers,
)


@pytest.fixture
def settings(clean_environment, tmp_path):
    clean_environment.setenv("MENISCUS_DATA_DIR", str(tmp_path / "data"))
    clean_environment.setenv("MENISCUS_EMBEDDED_IDLE_EXIT_S", "0")
    settings = Settings()
    yield settings
    stop_workers(settings, timeout_s=10)


def _ensure_in_child(settings, barrier, results):
    barrier.wait(timeout=30)
    try:
        workers = ensure_workers(settings)
        results.put(sorted((h.queue, h.pid, h.started) for h in workers.handles))
    except Exception as error:
        results.put(f"{type(error).__name__}: {error}")


def test_two_processes_ensuring_workers_at_once_start_one_worker_per_queue(settings):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    children = [context.Process(target=_ensure_in_child, args=(settings, barrier, results))
                for _ in range(2)]
    for child in children:
        child.start()
    first, second = results.get(timeout=90), results.get(timeout=90)
    for child in children:
        child.join(timeout=10)
    pids = {queue: pid for queue, pid, _ in first}
    assert sorted(pids) == ["analysis", "instrument.sim"]
    assert [(queue, pid) for queue, pid, _ in second] == sorted(pids.items())
    # one of the two calls started each worker, the other found it running
    assert sorted(started for _, _, started in first + second) == [False, False, True, True]

    again = ensure_workers(settings)  # and a third caller, later, in this process
    assert sorted((h.queue, h.pid, h.started) for h in again.handles) == [
        ("analysis", pids["analysis"], False), ("instrument.sim", pids["instrument.sim"], False)]
    assert running_workers(settings) == pids

    assert sorted(stop_workers(settings, timeout_s=20)) == sorted(pids.values())
    assert running_workers(settings) == {}


def test_an_idle_worker_exits_once_its_queue_is_empty_and_no_task_runs(settings):
    from celery import signals

    queue = settings.data_dir / "broker" / "queue"
    queue.mkdir(parents=True)
    waiting = queue / "1_a.analysis.msg"
    waiting.write_text("{}")
    exited = threading.Event()
    thread = start_housekeeping(settings, "analysis", 0.2, on_idle=exited.set)
    signals.task_prerun.send(sender=None)  # a task runs...
    assert not exited.wait(0.6)
    signals.task_postrun.send(sender=None)  # ...and ends, but a message still waits
    assert not exited.wait(0.6)
    waiting.unlink()
    assert exited.wait(2.0)
    thread.join(timeout=1)


def test_ensure_workers_refuses_when_a_broker_is_configured(clean_environment):
    clean_environment.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    with pytest.raises(EmbeddedWorkerError, match="CELERY_BROKER_URL is set: start the workers"):
        ensure_workers(Settings())


def test_taken_messages_are_pruned_after_an_hour_and_queues_counted_by_name(settings):
    root = settings.data_dir / "broker"
    (root / "processed").mkdir(parents=True)
    (root / "queue").mkdir()
    old, new = root / "processed" / "1_a.analysis.msg", root / "processed" / "2_b.analysis.msg"
    old.write_text("{}")
    new.write_text("{}")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert prune_processed(settings) == 1
    assert [p.name for p in (root / "processed").iterdir()] == [new.name]

    assert queue_is_empty(settings, "analysis")
    (root / "queue" / "3_c.instrument.sim.msg").write_text("{}")
    assert queue_is_empty(settings, "analysis")
    assert not queue_is_empty(settings, "instrument.sim")
