"""What the workers do: run an acquisition, analyse a spot, recover an instrument at start.

The tasks are thin: a message only says "look at run N" or "analyse spot N". The run ledger
says what to do. ``run_acquisition`` acts only on a run in the state it expects (queued, or
paused/interrupted when an operator resumes), so a duplicate or stale message does nothing, and
a run whose worker died is never picked up again without an operator.

The tasks are shared: every app made by :func:`workers.celery_app.create_app` gets them once
this module is imported (a worker imports it at start through the app's ``include``), and
reads its settings from ``app.meniscus_settings``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from celery import Celery, shared_task, signals
from sqlalchemy import select

from core.settings import Settings
from core.storage.db import session_scope, upgrade_database
from core.storage.ledger import Ledger, UnknownRun
from core.storage.models import Measurement, Spot
from core.storage.spot_files import orphan_temporary_files
from core.storage.states import RunState
from workers.analysis_task import SpotAnalysisError, spots_awaiting_analysis
from workers.analysis_task import analyse_spot as analyse
from workers.celery_app import (
    ANALYSE_SPOT,
    RUN_ACQUISITION,
    consumed_instruments,
    instrument_queue,
    send_analysis,
    send_run,
)
from workers.instrument_config import InstrumentConfigError, instrument_record, runs_in_state

log = logging.getLogger(__name__)

#: where the engine writes a run's spot files, relative to the data folder
RUNS_FOLDER = "runs"
#: complete spot files whose commit was lost with a dead worker are moved here (per run)
UNCOMMITTED_FOLDER = "uncommitted"


@shared_task(name=RUN_ACQUISITION, bind=True, acks_late=False)
def run_acquisition(self, run_id: int, resume: bool = False) -> str:
    """Run (or, with ``resume``, resume) ``run_id`` if the ledger allows; queue analyses."""
    settings = self.app.meniscus_settings
    sent: set[int] = set()

    def analyse_later(spot_id: int) -> None:
        sent.add(spot_id)
        send_analysis(self.app, spot_id)

    final = acquire(settings, run_id, resume=resume, on_spot_committed=analyse_later)
    if final is None:  # a stale or duplicate message: the run was not in a startable state
        return "ignored"
    # spots committed by a worker that died before queueing their analysis
    for spot_id in spots_awaiting_analysis(settings.resolved_database_url, run_id):
        if spot_id not in sent:
            send_analysis(self.app, spot_id)
    return final


@shared_task(name=ANALYSE_SPOT, bind=True, acks_late=True, reject_on_worker_lost=True,
             throws=(SpotAnalysisError,))
def analyse_spot(self, spot_id: int, parameters: dict | None = None,
                 kind: str | None = None) -> list[dict]:
    """Analyse a committed spot (idempotent: see :mod:`workers.analysis_task`)."""
    settings = self.app.meniscus_settings
    outcomes = analyse(settings.resolved_database_url, settings.data_dir, spot_id, parameters,
                       kind=kind)
    return [asdict(outcome) for outcome in outcomes]


@signals.worker_init.connect
def _recover_when_starting(sender=None, **_) -> None:
    """``worker_init`` comes after the queues are chosen and before any message is taken:
    recover the instruments whose queues this worker serves."""
    app = getattr(sender, "app", None)
    if app is None or not hasattr(app, "meniscus_settings"):
        return
    for name in consumed_instruments(app):
        recover_at_start(app.meniscus_settings, name)


@signals.worker_ready.connect
def _wake_when_ready(sender=None, **_) -> None:
    """Wake queued runs whose message may have died with a previous worker."""
    app = getattr(sender, "app", None)
    if app is None or not hasattr(app, "meniscus_settings"):
        return
    for name in consumed_instruments(app):
        wake_queued_runs(app, name)


# --- acquisition ------------------------------------------------------------------------------
def worker_identity() -> str:
    """Who holds a lease: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(
    settings: Settings,
    run_id: int,
    *,
    resume: bool = False,
    on_spot_committed: Callable[[int], None] | None = None,
) -> str | None:
    """Run (or resume) ``run_id`` on its instrument if the ledger says it may start.

    Returns the run's state afterwards, or None (and does nothing) when the run is not queued
    (nor paused or interrupted with ``resume``): the message was stale or a duplicate.
    """
    url = settings.resolved_database_url
    ledger = Ledger(url)
    try:
        summary = ledger.run_summary(run_id)
    except UnknownRun:
        log.error("run %s does not exist: message ignored", run_id)
        return None
    startable = {RunState.QUEUED} | ({RunState.PAUSED, RunState.INTERRUPTED} if resume else set())
    if summary["state"] not in startable:
        log.info("run %s is %s: nothing to do for this message", run_id, summary["state"])
        return None
    from workers.engine import AcquisitionEngine
    from workers.instruments.registry import build_instrument

    holder = worker_identity()
    try:
        instrument = build_instrument(instrument_record(url, summary["instrument"]),
                                      speed=summary["speed"])
    except InstrumentConfigError as error:
        token = ledger.start_run(run_id, holder)
        ledger.finish_run(run_id, RunState.FAILED, token, error=str(error))
        log.error("run %s failed to start: %s", run_id, error)
        return RunState.FAILED.value
    engine = AcquisitionEngine(ledger, instrument, data_dir=settings.data_dir, holder=holder,
                               on_spot_committed=on_spot_committed)
    try:
        final = engine.run(run_id)
    finally:
        instrument.close()
    log.info("run %s ended %s", run_id, final)
    return final


# --- start-up of an instrument worker ----------------------------------------------------------
def recover_at_start(settings: Settings, instrument: str) -> list[int]:
    """Make ``instrument`` safe and settle runs a dead worker left active.

    Each such run becomes ``interrupted`` (its spot caught measuring too; one caught
    approaching goes back to pending), its folder loses temporary files of interrupted writes,
    and a complete spot file whose commit was lost is moved to ``uncommitted/``. The run waits
    for an operator: ``python -m workers resume RUN_ID``.
    """
    from workers.instruments.registry import build_instrument

    url = settings.resolved_database_url
    upgrade_database(url)
    try:
        record = instrument_record(url, instrument)
    except InstrumentConfigError as error:
        log.error("queue %s: %s", instrument_queue(instrument), error)
        return []
    try:
        device = build_instrument(record)
        device.make_safe()
        device.close()
    except Exception:
        log.exception("instrument %s could not be made safe at start", instrument)
    recovered = Ledger(url).recover_instrument(instrument)
    for run_id in recovered:
        tidy_run_folder(settings, run_id)
        log.warning(
            "run %s was left active by a stopped worker: it is now interrupted; resume it with "
            "`python -m workers resume %s`", run_id, run_id,
        )
    return recovered


def run_folder(settings: Settings, run_id: int) -> Path:
    """Folder of a run's spot files."""
    return Path(settings.data_dir) / RUNS_FOLDER / str(run_id)


def tidy_run_folder(settings: Settings, run_id: int) -> None:
    """Remove temporary files of interrupted writes; move uncommitted spot files aside."""
    folder = run_folder(settings, run_id)
    if not folder.is_dir():
        return
    for temporary in orphan_temporary_files(folder):
        temporary.unlink(missing_ok=True)
        log.warning("run %s: removed %s (write interrupted)", run_id, temporary.name)
    with session_scope(settings.resolved_database_url) as session:
        committed = set(session.scalars(
            select(Measurement.path).join(Spot).where(Spot.run_id == run_id)
        ))
    data_dir = Path(settings.data_dir)
    for path in sorted(folder.glob("*.h5")):
        if str(path.relative_to(data_dir)) not in committed:
            aside = folder / UNCOMMITTED_FOLDER / path.name
            aside.parent.mkdir(exist_ok=True)
            os.replace(path, aside)
            log.warning("run %s: %s was written but never committed; moved to %s",
                        run_id, path.name, aside.relative_to(data_dir))


def wake_queued_runs(app: Celery, instrument: str) -> list[int]:
    """Send a wake-up for each queued run of ``instrument`` (its message may have died with a
    previous worker; a duplicate is ignored)."""
    run_ids = runs_in_state(app.meniscus_settings.resolved_database_url, instrument,
                            (RunState.QUEUED,))
    for run_id in run_ids:
        send_run(app, run_id, instrument)
    return run_ids
