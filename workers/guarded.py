"""What the web (Dash callbacks and the JSON API) may ask of the workers, checked by role.

Each function authorizes ``actor`` first (:func:`core.auth.guard.authorize`: a refusal is
audited and raises ``NotAuthenticated``/``PermissionDenied``), then does the work through
:mod:`workers.submit` and writes the allowed action to the audit log, where it shows in the
run's activity feed. The command line (``python -m workers``) is a local shell on the
instrument PC and calls :mod:`workers.submit` directly.
"""

from __future__ import annotations

from core.auth.audit import ALLOWED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.grid import Grid
from core.settings import Settings, get_settings
from workers import submit
from workers.instrument_config import DEFAULT_INSTRUMENT


def launch(
    actor: Actor | None,
    grid: Grid,
    *,
    settings: Settings | None = None,
    instrument: str = DEFAULT_INSTRUMENT,
    speed: float = 1.0,
    name: str | None = None,
) -> submit.Submission:
    """Submit ``grid`` as ``actor`` (operator or above); the run's operator is the actor."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    label = name or grid.name
    authorize(url, actor, Permission.LAUNCH, action="launch",
              target=f"grid {label!r} on {instrument}")
    submission = submit.submit_grid(grid, settings=settings, instrument=instrument, speed=speed,
                                    name=name, operator=actor.name)
    record_event(url, actor, "launch", ALLOWED, target=f"grid {label!r} on {instrument}",
                 run_id=submission.run_id,
                 detail={"n_spots": submission.n_spots, "speed": speed})
    return submission


def control(
    actor: Actor | None, run_id: int, action: str, *, settings: Settings | None = None
) -> str | None:
    """``pause``, ``resume``, ``abort_after`` or ``abort_now`` a run (operator or above).

    Returns the run's state after an abort, None otherwise.
    """
    if action not in ("pause", "resume", "abort_after", "abort_now"):
        raise ValueError(f"unknown run action {action!r}")
    settings = settings or get_settings()
    url = settings.resolved_database_url
    authorize(url, actor, Permission.CONTROL, action=action, target=f"run {run_id}",
              run_id=run_id)
    state = None
    if action == "pause":
        submit.pause_run(run_id, settings=settings)
    elif action == "resume":
        submit.resume_run(run_id, settings=settings)
    else:
        state = submit.abort_run(run_id, now=action == "abort_now", settings=settings)
    record_event(url, actor, action, ALLOWED, target=f"run {run_id}", run_id=run_id)
    return state


def reanalyse(
    actor: Actor | None,
    run_id: int,
    *,
    kind: str,
    parameters: dict,
    spot_id: int | None = None,
    settings: Settings | None = None,
) -> list[int]:
    """Queue a new version of analysis ``kind`` with ``parameters`` for one spot (or every
    measured spot of the run); returns the spot ids queued (operator or above)."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    target = f"spot {spot_id}" if spot_id is not None else f"run {run_id}"
    authorize(url, actor, Permission.REANALYSE, action="reanalyse", target=target,
              run_id=run_id, spot_id=spot_id)
    spot_ids = submit.queue_analysis(run_id, settings=settings, every_spot=True,
                                     parameters=parameters, kind=kind, spot_ids=(
                                         [spot_id] if spot_id is not None else None))
    record_event(url, actor, "reanalyse", ALLOWED, target=target, run_id=run_id,
                 spot_id=spot_id, detail={"kind": kind, "parameters": parameters,
                                          "n_spots": len(spot_ids)})
    return spot_ids
