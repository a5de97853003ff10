"""Submitting and steering runs: the API the command line and the web app use.

Everything here writes the ledger or sends a wake-up message; nothing drives hardware. With no
broker configured the embedded workers are started on demand (:mod:`workers.embedded`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from celery import Celery
from sqlalchemy import case, func, select

from core.errors import MeniscusError
from core.grid import Grid, check_grid, estimate_duration_s, grid_hash, grid_to_mapping, plan_spots
from core.grid.plan import Spot as PlannedSpot
from core.settings import Settings, get_settings
from core.storage.db import session_scope, upgrade_database
from core.storage.ledger import Ledger, Progress, UnknownRun
from core.storage.models import Instrument as InstrumentRow
from core.storage.models import Run, Spot
from core.storage.states import FINAL_RUN_STATES, RunState
from workers.celery_app import (
    REDIS_VISIBILITY_TIMEOUT_S,
    WorkerOptions,
    create_app,
    instrument_queue,
    is_embedded,
    send_analysis,
    send_run,
)
from workers.instrument_config import DEFAULT_INSTRUMENT, check_speed, instrument_record

#: longest wait for a just-started instrument worker to recover a run (imports take seconds)
RECOVERY_WAIT_S = 60.0


class DispatchError(MeniscusError):
    """The run is in the ledger but no worker could be told about it."""


class RunStateError(MeniscusError):
    """The run is not in a state that allows the request."""


class WorkerLost(MeniscusError):
    """A run waits for an embedded worker that is no longer running."""


@dataclass(frozen=True)
class Submission:
    """A submitted run: its id, how many spots, and the planned duration (s, at speed 1)."""

    run_id: int
    spot_count: int
    estimate_s: float


def ledger_spot(spot: PlannedSpot) -> dict:
    """The ledger's columns of a planned spot."""
    return {
        "order": spot.order, "index": spot.index, "row": spot.row, "col": spot.col,
        "x_um": spot.x_um, "y_um": spot.y_um, "block": spot.block,
        "condition_index": spot.condition, "condition": spot.condition_label,
        "repeat": spot.repeat, "technique": spot.technique,
        "current_density_mA_cm2": spot.current_density_mA_cm2, "current_A": spot.current_A,
        "duration_s": spot.duration_s,
    }


def submit_grid(
    grid: Grid,
    *,
    settings: Settings | None = None,
    instrument: str = DEFAULT_INSTRUMENT,
    speed: float = 1.0,
    name: str | None = None,
    operator: str = "",
) -> Submission:
    """Check, plan and submit ``grid``, then wake the instrument's worker.

    Raises
    ------
    core.grid.GridError
        The grid asks for what the instrument cannot do (nothing is submitted).
    core.storage.ledger.InstrumentBusy
        The instrument holds a run that has not ended.
    workers.instrument_config.InstrumentConfigError
        Unknown instrument, or a speed its backend cannot run at.
    DispatchError
        No worker could be reached; the run was withdrawn (aborted) again.
    """
    settings = settings or get_settings()
    check_grid(grid)
    spots = plan_spots(grid)
    url = settings.resolved_database_url
    upgrade_database(url)
    record = instrument_record(url, instrument)
    check_speed(record.backend, speed)
    ledger = Ledger(url)
    run_id = ledger.submit_run(
        instrument=instrument, name=name or grid.name, grid=grid_to_mapping(grid),
        grid_hash=grid_hash(grid), spots=[ledger_spot(spot) for spot in spots],
        operator=operator, speed=speed,
    )
    try:
        _wake(settings, instrument, run_id, resume=False)
    except Exception as error:
        ledger.request_abort(run_id)  # a queued run is aborted at once, freeing the instrument
        raise DispatchError(
            f"run {run_id} was withdrawn: the {instrument} worker could not be reached "
            f"({type(error).__name__}: {error})"
        ) from error
    return Submission(run_id, len(spots), estimate_duration_s(grid))


def resume_run(run_id: int, *, settings: Settings | None = None) -> None:
    """Continue a paused or interrupted run from its first pending spot.

    Embedded, a run still ``active`` whose worker is gone (it crashed, nobody restarted it)
    is first recovered by starting the instrument's worker, then resumed.
    """
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url)
    summary = ledger.run_summary(run_id)
    if summary["state"] == RunState.ACTIVE and is_embedded(settings):
        workers = _ensure_embedded(settings, instruments=(summary["instrument"],))
        if any(handle.started for handle in workers.handles
               if handle.queue == instrument_queue(summary["instrument"])):
            _await_recovery(ledger, run_id)
        summary = ledger.run_summary(run_id)
    if summary["state"] not in (RunState.PAUSED, RunState.INTERRUPTED):
        raise RunStateError(
            f"run {run_id} is {summary['state']}; only a paused or interrupted run can resume"
        )
    _wake(settings, summary["instrument"], run_id, resume=True)


def _await_recovery(ledger: Ledger, run_id: int) -> None:
    """Wait until a just-started instrument worker has recovered ``run_id``."""
    deadline = time.monotonic() + RECOVERY_WAIT_S
    while ledger.run_summary(run_id)["state"] == RunState.ACTIVE:
        if time.monotonic() > deadline:
            raise RunStateError(
                f"run {run_id} is still active {RECOVERY_WAIT_S:.0f} s after its instrument's "
                f"worker started; see the worker's log"
            )
        time.sleep(0.1)


def pause_run(run_id: int, *, settings: Settings | None = None) -> None:
    """Ask an active run to pause after its current spot (resume it with :func:`resume_run`)."""
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url)
    state = ledger.run_summary(run_id)["state"]
    if state != RunState.ACTIVE:
        # a queued run's start clears pause requests: abort it instead, or pause once it runs
        raise RunStateError(f"run {run_id} is {state}; only an active run can pause")
    ledger.request_pause(run_id)


def abort_run(run_id: int, *, now: bool = False, settings: Settings | None = None) -> str:
    """Abort after the current spot (or at once with ``now``); returns the run's state.

    A queued, paused or interrupted run is aborted at once; an active one when its engine
    next looks (between spots, or within 0.1 s with ``now``).
    """
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url)
    state = ledger.run_summary(run_id)["state"]
    if state in FINAL_RUN_STATES:
        raise RunStateError(f"run {run_id} has already ended ({state})")
    ledger.request_abort(run_id, "now" if now else "after_spot")
    return ledger.run_summary(run_id)["state"]


def queue_analysis(
    run_id: int,
    *,
    settings: Settings | None = None,
    every_spot: bool = False,
    parameters: dict | None = None,
    kind: str | None = None,
    spot_ids: list[int] | None = None,
) -> list[int]:
    """Queue the analysis of a run's committed spots: those without any analysis yet, or
    every committed spot (``every_spot``, e.g. with new ``parameters``), or only those of
    ``spot_ids`` among them. Returns the spot ids queued."""
    from workers.analysis_task import spots_awaiting_analysis

    settings = settings or get_settings()
    url = settings.resolved_database_url
    Ledger(url).run_summary(run_id)  # UnknownRun if there is no such run
    wanted = None if spot_ids is None else set(spot_ids)
    if every_spot or wanted is not None:
        with session_scope(url) as session:
            spot_ids = list(session.scalars(
                select(Spot.id).where(Spot.run_id == run_id, Spot.measurement.has())
                .order_by(Spot.order)
            ))
        if wanted is not None:
            spot_ids = [spot_id for spot_id in spot_ids if spot_id in wanted]
    else:
        spot_ids = spots_awaiting_analysis(url, run_id)
    if spot_ids:
        app = _app(settings)
        if is_embedded(settings):
            _ensure_embedded(settings, instruments=())
        for spot_id in spot_ids:
            send_analysis(app, spot_id, parameters, kind)
    return spot_ids


# --- reading ----------------------------------------------------------------------------------
def run_progress(run_id: int, *, settings: Settings | None = None) -> dict:
    """A run's summary (name, instrument, operator, state) with its progress (spots by state,
    current spot, elapsed and ETA in s)."""
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url)
    summary = ledger.run_summary(run_id)
    progress = ledger.progress(run_id)
    return {
        **{key: summary[key] for key in ("id", "name", "instrument", "operator", "speed")},
        **asdict(progress),
    }


def list_runs(*, settings: Settings | None = None, limit: int = 20) -> list[dict]:
    """The latest runs, newest first: id, name, instrument, operator, state, spots accounted
    for and in total, created time."""
    from core.storage.states import FINAL_SPOT_STATES

    settings = settings or get_settings()
    finished = func.sum(
        case((Spot.state.in_([state.value for state in FINAL_SPOT_STATES]), 1), else_=0)
    )
    with session_scope(settings.resolved_database_url) as session:
        rows = session.execute(
            select(Run.id, Run.name, InstrumentRow.name, Run.operator, Run.state,
                   finished, func.count(Spot.id), Run.created_at)
            .join(InstrumentRow, Run.instrument_id == InstrumentRow.id)
            .outerjoin(Spot, Spot.run_id == Run.id)
            .group_by(Run.id, InstrumentRow.name)
            .order_by(Run.id.desc())
            .limit(limit)
        ).all()
    keys = ("id", "name", "instrument", "operator", "state", "finished", "total", "created_at")
    return [
        {**dict(zip(keys, row, strict=True)), "finished": int(row[5] or 0),
         "created_at": row[7].isoformat() if row[7] else None}
        for row in rows
    ]


def wait_for_run(
    run_id: int,
    *,
    settings: Settings | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> str:
    """Poll the ledger until the run ends (or is interrupted); returns its state.

    A run that is interrupted when the wait begins (just resumed, its message not yet taken)
    counts as interrupted again only once it has been seen in another state.
    ``on_progress`` is called whenever the progress changes. Raises ``TimeoutError`` after
    ``timeout_s``.
    """
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last = None
    first_state = ledger.progress(run_id).state
    moved_on = first_state != RunState.INTERRUPTED
    worker_alive = _embedded_worker_check(settings, ledger.run_summary(run_id)["instrument"])
    while True:
        progress = ledger.progress(run_id)
        seen = (progress.state, progress.finished, progress.current_order)
        if on_progress is not None and seen != last:
            on_progress(progress)
        last = seen
        moved_on = moved_on or progress.state != first_state
        if progress.state in FINAL_RUN_STATES or (
            progress.state == RunState.INTERRUPTED and moved_on
        ):
            return progress.state
        if progress.state in (RunState.QUEUED, RunState.ACTIVE) and not worker_alive():
            # re-read: the run may have ended just before its worker exited
            if ledger.progress(run_id).state in (RunState.QUEUED, RunState.ACTIVE):
                raise WorkerLost(
                    f"run {run_id} is {progress.state} but no worker serves its instrument "
                    f"(the worker stopped); resume it with: python -m workers resume {run_id}"
                )
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {progress.state} after {timeout_s:g} s")
        time.sleep(poll_s)


def _embedded_worker_check(settings: Settings, instrument: str) -> Callable[[], bool]:
    """A check whether the instrument's embedded worker lives (always True with a broker:
    remote workers cannot be seen from here)."""
    if not is_embedded(settings):
        return lambda: True
    from workers.embedded import running_pid

    queue = instrument_queue(instrument)
    return lambda: running_pid(settings, queue) is not None


def visibility_warning(settings: Settings, estimate_s: float, speed: float) -> str | None:
    """A warning when a run may outlast the Redis visibility timeout (see celery_app)."""
    if is_embedded(settings) or estimate_s / speed <= REDIS_VISIBILITY_TIMEOUT_S:
        return None
    return (
        f"this run is planned to take {estimate_s / speed / 3600:.0f} h, longer than the "
        f"broker's {REDIS_VISIBILITY_TIMEOUT_S / 3600:.0f} h visibility timeout: a message "
        f"reserved meanwhile may be delivered twice (harmless: the ledger decides)"
    )


# --- internals --------------------------------------------------------------------------------
_APPS: dict[tuple, Celery] = {}


def _app(settings: Settings) -> Celery:
    """One Celery app (and its connection pool) per broker configuration, for sending."""
    options = WorkerOptions()
    key = (settings.celery_broker_url, str(settings.data_dir.resolve()),
           settings.resolved_database_url, options.broker_prefix)
    if key not in _APPS:
        _APPS[key] = create_app(settings, options)
    return _APPS[key]


def _ensure_embedded(settings: Settings, *, instruments: tuple[str, ...]):
    from workers.embedded import ensure_workers

    return ensure_workers(settings, instruments=instruments)


def _wake(settings: Settings, instrument: str, run_id: int, *, resume: bool) -> None:
    if is_embedded(settings):
        _ensure_embedded(settings, instruments=(instrument,))
    send_run(_app(settings), run_id, instrument, resume=resume)


__all__ = [
    "DispatchError",
    "RunStateError",
    "Submission",
    "UnknownRun",
    "WorkerLost",
    "abort_run",
    "list_runs",
    "pause_run",
    "queue_analysis",
    "resume_run",
    "run_progress",
    "submit_grid",
    "wait_for_run",
]
