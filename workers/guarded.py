"""What the web (Dash callbacks and the JSON API) may ask of the workers, checked by role.

Each function authorizes ``actor`` first (:func:`core.auth.guard.authorize`: a refusal is
audited and raises ``NotAuthenticated``/``PermissionDenied``), then does the work through
:mod:`workers.submit` and writes the allowed action to the audit log, where it shows in the
run's activity feed. The command line (``python -m workers``) is a local shell on the
instrument PC and calls :mod:`workers.submit` directly.
"""

from __future__ import annotations

from core.auth.audit import ALLOWED, FAILED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.errors import MeniscusError
from core.grid import Grid
from core.results.sem_import import (
    ImportOutcome,
    SemUpload,
    import_sem_file,
    spot_for_file,
)
from core.settings import Settings, get_settings
from core.storage.uploads import display_name, max_upload_bytes
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
                 detail={"n_spots": submission.spot_count, "speed": speed})
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


def import_sem(
    actor: Actor | None,
    run_id: int,
    files: list[SemUpload],
    *,
    settings: Settings | None = None,
) -> list[ImportOutcome]:
    """Import SEM images of ``run_id``'s spots and queue their analysis (operator or above).

    Each file is stored under a generated name, checked, registered to its spot (given, or
    from the grid index in its name) and its ``sem`` analysis queued with the pixel size
    given for it. A file that cannot be imported is reported in its outcome (and audited as
    failed); the others go on. Files over ``MENISCUS_MAX_UPLOAD_MB`` are refused.
    """
    settings = settings or get_settings()
    url = settings.resolved_database_url
    authorize(url, actor, Permission.IMPORT, action="import_sem", target=f"run {run_id}",
              run_id=run_id)
    max_bytes = max_upload_bytes(settings.max_upload_mb)
    outcomes = []
    for upload in files:
        name = display_name(upload.name)
        try:
            spot_id = spot_for_file(url, run_id, upload.name, upload.spot_id)
            imported = import_sem_file(
                url, settings.data_dir, run_id=run_id, spot_id=spot_id, name=upload.name,
                data=upload.data, max_bytes=max_bytes, pixel_size_nm=upload.pixel_size_nm,
                uploaded_by=actor.name)
        except MeniscusError as error:
            record_event(url, actor, "import_sem", FAILED, target=name, run_id=run_id,
                         spot_id=upload.spot_id, detail={"error": str(error)})
            outcomes.append(ImportOutcome(name, upload.spot_id, error=str(error)))
            continue
        submit.queue_analysis(run_id, settings=settings, kind="sem", spot_ids=[spot_id],
                              parameters={"sem_image_id": imported.image_id,
                                          "pixel_size_nm": upload.pixel_size_nm})
        record_event(url, actor, "import_sem", ALLOWED, target=name, run_id=run_id,
                     spot_id=spot_id, detail={"sem_image_id": imported.image_id,
                                              "size_bytes": len(upload.data)})
        outcomes.append(ImportOutcome(name, spot_id, image_id=imported.image_id))
    return outcomes
