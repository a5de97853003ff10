"""Embedded mode: with no broker configured, whoever needs workers starts them.

``ensure_workers(settings)`` starts, if not already running, an instrument worker per
instrument (``--pool solo -Q instrument.<name>``) and one analysis worker (``-Q analysis``),
as child processes on the file-based broker under ``MENISCUS_DATA_DIR/broker``. It is
idempotent across processes: each worker holds an exclusive lock on
``broker/workers/<queue>.lock`` (its pid written inside) for its whole life, and
``ensure_workers`` holds ``broker/workers/ensure.lock`` while it checks and starts, so the web
app and the command line never start two workers for one queue.

The workers run in their own session: they outlive the process that started them (a run
continues when the web app restarts) and exit by themselves after
``MENISCUS_EMBEDDED_IDLE_EXIT_S`` idle with an empty queue. ``stop_workers`` asks active runs
to pause after their spot, then stops the workers.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import MeniscusError
from core.settings import Settings
from workers.celery_app import (
    ANALYSIS_QUEUE,
    INSTRUMENT_QUEUE_PREFIX,
    WorkerOptions,
    broker_folder,
    instrument_queue,
    is_embedded,
)

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: longest wait for a started worker to take its lock (imports dominate: a few seconds)
START_TIMEOUT_S = 60.0
_POLL_S = 0.05
#: how long a killed worker may take to release its lock and be collected
_KILL_WAIT_S = 5.0
#: taken message files are kept this long (for inspection), then deleted
PROCESSED_KEEP_S = 3600.0
PRUNE_EVERY_S = 600.0
_HOUSEKEEPING_S = 5.0
#: how long a starting worker retries a lock that a probe may hold for an instant
_LOCK_RETRY_S = 0.5


class EmbeddedWorkerError(MeniscusError):
    """An embedded worker could not be started or stopped."""


@dataclass(frozen=True)
class WorkerHandle:
    """One embedded worker process."""

    queue: str
    pid: int
    log_path: Path
    #: True when this call started it, False when it was already running
    started: bool

    def alive(self) -> bool:
        """Whether the process still exists (and is not a zombie of ours)."""
        return _alive(self.pid)


@dataclass(frozen=True)
class EmbeddedWorkers:
    """The workers :func:`ensure_workers` found or started."""

    settings: Settings
    handles: tuple[WorkerHandle, ...]

    def stop(self, timeout_s: float = 30.0) -> list[int]:
        """Stop these workers (see :func:`stop_workers`); returns the pids stopped."""
        return stop_workers(self.settings, queues=[h.queue for h in self.handles],
                            timeout_s=timeout_s)


def workers_folder(settings: Settings) -> Path:
    """Lock files and logs of the embedded workers."""
    return broker_folder(settings) / "workers"


def lock_path(settings: Settings, queue: str) -> Path:
    return workers_folder(settings) / f"{queue}.lock"


def log_path(settings: Settings, queue: str) -> Path:
    return workers_folder(settings) / f"{queue}.log"


def ensure_workers(
    settings: Settings, *, instruments: tuple[str, ...] = ("sim",), analysis: bool = True
) -> EmbeddedWorkers:
    """Start the embedded workers that are not running; return handles to all of them.

    Raises :class:`EmbeddedWorkerError` if a broker is configured (workers are then deployed
    separately) or a worker does not come up within :data:`START_TIMEOUT_S`.
    """
    if not is_embedded(settings):
        raise EmbeddedWorkerError(
            "CELERY_BROKER_URL is set: start the workers on their machines "
            "(python -m workers worker instrument NAME / python -m workers worker analysis)"
        )
    queues = [instrument_queue(name) for name in instruments]
    if analysis:
        queues.append(ANALYSIS_QUEUE)
    folder = workers_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    handles = []
    with open(folder / "ensure.lock", "a+") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        started = {}
        for queue in queues:
            pid = running_pid(settings, queue)
            if pid is None:
                started[queue] = _spawn(settings, queue)
            else:
                handles.append(WorkerHandle(queue, pid, log_path(settings, queue), False))
        for queue, process in started.items():
            handles.append(_await_lock(settings, queue, process))
    return EmbeddedWorkers(settings, tuple(handles))


def running_pid(settings: Settings, queue: str) -> int | None:
    """Pid of the worker holding ``queue``'s lock, or None when no worker serves it."""
    path = lock_path(settings, queue)
    if not path.exists():
        return None
    with open(path, "a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            probe.seek(0)
            text = probe.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(probe, fcntl.LOCK_UN)
        return None


def hold_worker_lock(settings: Settings, queue: str) -> IO | None:
    """Take ``queue``'s worker lock for this process's life; None if another worker holds it.

    Keep the returned file open: closing it (or the process ending, however) releases it.
    """
    path = lock_path(settings, queue)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # held open for the life of the process
    # another process may be probing the lock (it takes and drops it): try for a moment
    deadline = time.monotonic() + _LOCK_RETRY_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(_POLL_S)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _spawn(settings: Settings, queue: str) -> subprocess.Popen:
    if queue.startswith(INSTRUMENT_QUEUE_PREFIX):
        role = ["instrument", queue[len(INSTRUMENT_QUEUE_PREFIX):]]
    else:
        role = ["analysis"]
    env = dict(os.environ)
    env.pop("CELERY_BROKER_URL", None)
    env.pop("MENISCUS_CELERY_BROKER_URL", None)
    # absolute paths: the worker's working directory is the repository, not the caller's
    env["MENISCUS_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    env["DATABASE_URL"] = settings.resolved_database_url
    env["MENISCUS_EMBEDDED_IDLE_EXIT_S"] = str(WorkerOptions().embedded_idle_exit_s)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    log_file = log_path(settings, queue)
    with open(log_file, "ab") as output:
        # started in the data folder: a .env where the caller runs (which could name a broker)
        # must not reach a worker told explicitly to use the embedded one
        return subprocess.Popen(
            [sys.executable, "-m", "workers", "worker", *role],
            cwd=Path(settings.data_dir).resolve(), env=env, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _await_lock(settings: Settings, queue: str, process: subprocess.Popen) -> WorkerHandle:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        pid = running_pid(settings, queue)
        if pid is not None and pid > 0:  # -1: locked, its pid not written yet
            return WorkerHandle(queue, pid, log_path(settings, queue), pid == process.pid)
        if process.poll() is not None:
            break
        time.sleep(_POLL_S)
    if process.poll() is None:
        process.kill()
        process.wait()
    raise EmbeddedWorkerError(
        f"the {queue} worker did not start within {START_TIMEOUT_S:.0f} s "
        f"(exit status {process.returncode}); see {log_path(settings, queue)}:\n"
        f"{_tail(log_path(settings, queue))}"
    )


def running_workers(settings: Settings) -> dict[str, int]:
    """Queue → pid of every embedded worker running for this data folder."""
    folder = workers_folder(settings)
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.glob("*.lock")):
        if path.stem == "ensure":
            continue
        pid = running_pid(settings, path.stem)
        if pid is not None:
            found[path.stem] = pid
    return found


def stop_workers(
    settings: Settings, *, queues: list[str] | None = None, timeout_s: float = 30.0
) -> list[int]:
    """Stop embedded workers (all, or those of ``queues``); returns the pids signalled.

    Active runs on their instruments are asked to pause after the current spot (resume them
    later), then each worker gets SIGTERM (Celery's warm shutdown: the current task ends
    first). A worker still there after ``timeout_s`` is killed; the next start recovers its
    run as interrupted.
    """
    from core.storage.ledger import Ledger
    from workers.instrument_config import runs_in_state

    running = running_workers(settings)
    targets = {queue: pid for queue, pid in running.items()
               if (queues is None or queue in queues) and pid > 0}
    ledger = Ledger(settings.resolved_database_url)
    for queue in targets:
        if queue.startswith(INSTRUMENT_QUEUE_PREFIX):
            name = queue[len(INSTRUMENT_QUEUE_PREFIX):]
            for run_id in runs_in_state(settings.resolved_database_url, name, ("active",)):
                ledger.request_pause(run_id)
    for pid in targets.values():
        _signal(pid, signal.SIGTERM)
    _wait_released(settings, targets, timeout_s)
    killed = [queue for queue, pid in targets.items() if running_pid(settings, queue) == pid]
    for queue in killed:
        log.warning("worker %s (pid %s) did not stop in %.0f s: killed", queue, targets[queue],
                    timeout_s)
        _signal(targets[queue], signal.SIGKILL)
    _wait_released(settings, {queue: targets[queue] for queue in killed}, _KILL_WAIT_S)
    for pid in targets.values():
        _reap(pid)
    return list(targets.values())


def _wait_released(settings: Settings, workers: dict[str, int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(
        running_pid(settings, queue) == pid for queue, pid in workers.items()
    ):
        time.sleep(_POLL_S)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect the exit status if the worker was our child (no zombie left behind)."""
    deadline = time.monotonic() + _KILL_WAIT_S
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child, or already collected
        if finished:
            return
        time.sleep(_POLL_S)


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(path: Path, n_chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n_chars:]
    except OSError:
        return "(no log)"


def queue_is_empty(settings: Settings, queue: str) -> bool:
    """Whether the embedded broker holds no message for ``queue``."""
    folder = broker_folder(settings) / "queue"
    suffix = f".{queue}.msg"
    # message files are named "<ms>_<uuid>.<queue>.msg" by kombu's filesystem transport
    return not any(name.partition(".")[2] == suffix[1:] for name in _listdir(folder))


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def prune_processed(settings: Settings, *, older_than_s: float = PROCESSED_KEEP_S) -> int:
    """Delete message files the workers took more than ``older_than_s`` ago; returns how many.

    The filesystem transport moves each message it takes into ``broker/processed`` (a rename
    on the same filesystem, so two consumers cannot both take it) and never deletes it.
    """
    folder = broker_folder(settings) / "processed"
    cutoff = time.time() - older_than_s
    removed = 0
    for name in _listdir(folder):
        path = folder / name
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def start_housekeeping(
    settings: Settings, queue: str, idle_exit_s: float, *, on_idle: Callable[[], None] | None = None
) -> threading.Thread:
    """In an embedded worker: prune taken messages now and then, and exit once idle for
    ``idle_exit_s`` (0: never) with an empty queue. The analysis worker also waits for every
    instrument worker to be gone, since those queue analyses as they measure.

    Exiting is ``on_idle()``; by default SIGTERM to this process (Celery's warm shutdown).
    Returns the housekeeping thread (a daemon).
    """
    from celery import signals

    state = {"busy": 0, "since": time.monotonic()}

    def task_started(**_):
        state["busy"] += 1

    def task_ended(**_):
        state["busy"] -= 1
        state["since"] = time.monotonic()

    def idle() -> bool:
        if not idle_exit_s or state["busy"] or time.monotonic() - state["since"] < idle_exit_s:
            return False
        if not queue_is_empty(settings, queue):
            return False
        if queue == ANALYSIS_QUEUE:
            others = running_workers(settings)
            return not any(name.startswith(INSTRUMENT_QUEUE_PREFIX) for name in others)
        return True

    def watch():
        pruned_at = -math.inf
        while not idle():
            if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                prune_processed(settings)
                pruned_at = time.monotonic()
            time.sleep(_HOUSEKEEPING_S if not idle_exit_s else min(_HOUSEKEEPING_S,
                                                                  idle_exit_s / 4))
        log.info("%s worker idle for %g s with an empty queue: exiting", queue, idle_exit_s)
        if on_idle is None:
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            on_idle()

    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_ended, weak=False)
    thread = threading.Thread(target=watch, name="housekeeping", daemon=True)
    thread.start()
    return thread
