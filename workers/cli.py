"""``python -m workers``: submit and steer runs, read their progress, run workers.

::

    python -m workers submit GRID.yaml [--instrument sim] [--speed N] [--name NAME]
                                       [--operator NAME] [--wait]
    python -m workers status [RUN_ID] [--json] [--limit N]
    python -m workers pause RUN_ID
    python -m workers resume RUN_ID [--wait]
    python -m workers abort RUN_ID [--now]
    python -m workers analyse RUN_ID [--all] [--kind KIND] [--parameters JSON]
    python -m workers worker instrument NAME | worker analysis [--concurrency N]
    python -m workers embedded start|stop|status

``submit`` prints the run id as the only line on stdout (progress and messages go to stderr).
Exit status: 0 success (with ``--wait``: the run completed), 1 failure or a run that ended
otherwise, 2 invalid input (every problem of a grid printed, nothing submitted), 3 the
instrument is busy. With no broker configured, ``submit`` and ``resume`` start the embedded
workers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
from collections.abc import Sequence

from core.errors import MeniscusError

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_BUSY = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except MeniscusError as error:
        from core.storage.ledger import InstrumentBusy

        _err(f"error: {error}")
        return EXIT_BUSY if isinstance(error, InstrumentBusy) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers", description="Submit, steer and follow acquisition runs.")
    commands = parser.add_subparsers(dest="command", required=True)

    submit = commands.add_parser("submit", help="validate a grid and submit it as a run")
    submit.add_argument("grid", help="grid design (.yaml, .yml or .json)")
    submit.add_argument("--instrument", default="sim")
    submit.add_argument("--speed", type=_speed, default=1.0,
                        help="simulated seconds per real second (sim only; 'inf': no waiting)")
    submit.add_argument("--name", help="run name (default: the grid's name)")
    submit.add_argument("--operator", default=os.environ.get("USER", ""))
    submit.add_argument("--wait", action="store_true",
                        help="return when the run ends; exit 0 only if it completed")
    submit.set_defaults(handler=_submit)

    status = commands.add_parser("status", help="table of runs, or one run's progress")
    status.add_argument("run_id", nargs="?", type=int)
    status.add_argument("--json", action="store_true")
    status.add_argument("--limit", type=int, default=20)
    status.set_defaults(handler=_status)

    for name, handler, text in (("pause", _pause, "pause after the current spot"),
                                ("resume", _resume, "continue a paused or interrupted run")):
        command = commands.add_parser(name, help=text)
        command.add_argument("run_id", type=int)
        if name == "resume":
            command.add_argument("--wait", action="store_true")
        command.set_defaults(handler=handler)

    abort = commands.add_parser("abort", help="abort after the current spot, or --now")
    abort.add_argument("run_id", type=int)
    abort.add_argument("--now", action="store_true",
                       help="stop within 0.1 s; a spot being measured becomes interrupted")
    abort.set_defaults(handler=_abort)

    analyse = commands.add_parser("analyse", help="queue the analysis of a run's spots")
    analyse.add_argument("run_id", type=int)
    analyse.add_argument("--all", action="store_true",
                         help="every committed spot, not only those without an analysis")
    analyse.add_argument("--kind", help="one analysis kind (e.g. galvanostatic, cv)")
    analyse.add_argument("--parameters", type=json.loads,
                         help='options as JSON, e.g. \'{"smoothing_s": 0.1}\'')
    analyse.set_defaults(handler=_analyse)

    worker = commands.add_parser("worker", help="run a worker in the foreground")
    roles = worker.add_subparsers(dest="role", required=True)
    instrument = roles.add_parser("instrument", help="the worker of one instrument")
    instrument.add_argument("name")
    analysis = roles.add_parser("analysis", help="an analysis worker")
    analysis.add_argument("--concurrency", type=int,
                          help="processes (default: one with the embedded broker, else CPUs)")
    for role in (instrument, analysis):
        role.add_argument("--loglevel", default="INFO")
        role.set_defaults(handler=_worker)

    embedded = commands.add_parser("embedded", help="the workers of the embedded broker")
    embedded.add_argument("action", choices=("start", "stop", "status"))
    embedded.add_argument("--instrument", action="append",
                          help="instrument worker(s) to start (default: sim)")
    embedded.set_defaults(handler=_embedded)
    return parser


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed {text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed {text} must be positive (inf allowed)")
    return value


# --- commands ---------------------------------------------------------------------------------
def _submit(args) -> int:
    from core.grid import GridError, check_grid, load_grid
    from core.settings import get_settings
    from workers.submit import submit_grid, visibility_warning

    settings = get_settings()
    try:
        grid = load_grid(args.grid)
        check_grid(grid)  # before anything is written, started or sent
    except GridError as error:
        for problem in error.problems:
            _err(f"{args.grid}: {problem}")
        _err(f"{args.grid}: {len(error.problems)} problem(s); nothing was submitted")
        return EXIT_INVALID
    submission = submit_grid(grid, settings=settings, instrument=args.instrument,
                             speed=args.speed, name=args.name, operator=args.operator)
    print(submission.run_id, flush=True)
    _err(f"run {submission.run_id}: {submission.spot_count} spots on {args.instrument}, "
         f"planned {_duration(submission.estimate_s)} of instrument time at speed "
         f"{args.speed:g}")
    warning = visibility_warning(settings, submission.estimate_s, args.speed)
    if warning:
        _err(f"warning: {warning}")
    if args.wait:
        return _wait(submission.run_id, settings)
    return EXIT_OK


def _status(args) -> int:
    _ledger_ready()
    from workers.submit import list_runs, run_progress

    if args.run_id is None:
        runs = list_runs(limit=args.limit)
        if args.json:
            print(json.dumps(runs, indent=2))
        else:
            print(_table(runs))
        return EXIT_OK
    progress = run_progress(args.run_id)
    if args.json:
        print(json.dumps(_finite(progress), indent=2))
    else:
        print(_progress_text(progress))
    return EXIT_OK


def _pause(args) -> int:
    _ledger_ready()
    from workers.submit import pause_run

    pause_run(args.run_id)
    _err(f"run {args.run_id} will pause after its current spot")
    return EXIT_OK


def _resume(args) -> int:
    _ledger_ready()
    from core.settings import get_settings
    from workers.submit import resume_run

    settings = get_settings()
    resume_run(args.run_id, settings=settings)
    _err(f"run {args.run_id} resumes from its first pending spot")
    return _wait(args.run_id, settings) if args.wait else EXIT_OK


def _abort(args) -> int:
    _ledger_ready()
    from workers.submit import abort_run

    state = abort_run(args.run_id, now=args.now)
    if state == "aborted":
        _err(f"run {args.run_id} aborted")
    else:
        when = "at once" if args.now else "after its current spot"
        _err(f"run {args.run_id} ({state}) will abort {when}")
    return EXIT_OK


def _analyse(args) -> int:
    _ledger_ready()
    from workers.submit import queue_analysis

    spot_ids = queue_analysis(args.run_id, every_spot=args.all, parameters=args.parameters,
                              kind=args.kind)
    _err(f"run {args.run_id}: analysis queued for {len(spot_ids)} spot(s)")
    return EXIT_OK


def _worker(args) -> int:
    from core.settings import get_settings

    settings = get_settings()
    if args.role == "instrument":
        from workers.celery_app import instrument_queue

        return serve(settings, instrument_queue(args.name), loglevel=args.loglevel)
    return serve(settings, "analysis", loglevel=args.loglevel, concurrency=args.concurrency)


def _embedded(args) -> int:
    from core.settings import get_settings
    from workers.embedded import ensure_workers, running_workers, stop_workers

    settings = get_settings()
    if args.action == "start":
        workers = ensure_workers(settings, instruments=tuple(args.instrument or ("sim",)))
        for handle in workers.handles:
            verb = "started" if handle.started else "running"
            _err(f"{handle.queue}: {verb}, pid {handle.pid}, log {handle.log_path}")
    elif args.action == "stop":
        pids = stop_workers(settings)
        _err(f"stopped {len(pids)} worker(s)")
    else:
        for queue, pid in running_workers(settings).items():
            print(f"{queue}\t{pid}")
    return EXIT_OK


def serve(settings, queue: str, *, loglevel: str = "INFO", concurrency: int | None = None) -> int:
    """Run a Celery worker for ``queue`` in this process until it is stopped."""
    from core.storage.db import upgrade_database
    from workers.celery_app import (
        INSTRUMENT_QUEUE_PREFIX,
        WorkerOptions,
        configure_worker,
        create_app,
        is_embedded,
    )

    embedded = is_embedded(settings)
    lock = None
    if embedded:
        from workers.embedded import hold_worker_lock, running_pid, start_housekeeping

        lock = hold_worker_lock(settings, queue)
        if lock is None:
            _err(f"a worker already serves {queue} (pid {running_pid(settings, queue)})")
            return EXIT_OK
    upgrade_database(settings.resolved_database_url)
    options = WorkerOptions()
    app = create_app(settings, options)
    configure_worker(app, queue)
    argv = ["worker", "--queues", queue, "--loglevel", loglevel,
            "--hostname", f"{queue}-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if queue.startswith(INSTRUMENT_QUEUE_PREFIX) or (embedded and concurrency is None):
        argv += ["--pool", "solo", "--concurrency", "1"]
    elif concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if embedded:
        start_housekeeping(settings, queue, options.embedded_idle_exit_s)
    try:
        app.worker_main(argv)
    finally:
        if lock is not None:
            lock.close()
    return EXIT_OK


def _ledger_ready() -> None:
    """Create or upgrade the database, so reading a fresh data folder shows no runs rather
    than a missing table."""
    from core.settings import get_settings
    from core.storage.db import upgrade_database

    upgrade_database(get_settings().resolved_database_url)


# --- output -----------------------------------------------------------------------------------
def _wait(run_id: int, settings) -> int:
    from workers.submit import wait_for_run

    state = wait_for_run(run_id, settings=settings,
                         on_progress=lambda progress: _err(_progress_line(progress)))
    if state == "interrupted":
        _err(f"run {run_id} was interrupted (its worker stopped); "
             f"resume it with: python -m workers resume {run_id}")
    return EXIT_OK if state == "completed" else EXIT_FAILED


def _progress_line(progress) -> str:
    parts = [f"run {progress.run_id} {progress.state}: {progress.finished}/{progress.total} spots"]
    if progress.current_order is not None:
        parts.append(f"at spot {progress.current_order}")
    if progress.eta_s is not None:
        parts.append(f"ETA {_duration(progress.eta_s)}")
    return ", ".join(parts)


def _progress_text(progress: dict) -> str:
    counts = ", ".join(f"{state} {n}" for state, n in sorted(progress["by_state"].items()))
    lines = [
        f"run {progress['id']}: {progress['name']} on {progress['instrument']} "
        f"(operator {progress['operator'] or '-'}, speed {progress['speed']:g})",
        f"state {progress['state']}: {progress['finished']}/{progress['total']} spots "
        f"accounted for ({counts})",
    ]
    if progress["current_order"] is not None:
        lines.append(f"current spot: {progress['current_order']}")
    if progress["elapsed_s"] is not None:
        eta = "" if progress["eta_s"] is None else f", ETA {_duration(progress['eta_s'])}"
        lines.append(f"elapsed {_duration(progress['elapsed_s'])}{eta}")
    return "\n".join(lines)


def _table(runs: list[dict]) -> str:
    header = ("id", "state", "instrument", "spots", "operator", "created", "name")
    rows = [
        (str(run["id"]), run["state"], run["instrument"], f"{run['finished']}/{run['total']}",
         run["operator"] or "-", (run["created_at"] or "")[:19], run["name"])
        for run in runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)),
                   row[-1]])
        for row in [header, *rows]
    )


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _finite(value):
    """JSON has no infinity (speed inf) or NaN: those become null."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
