"""The Celery app: which broker, which queues, which delivery guarantees.

Queues: one per instrument, ``instrument.<name>``, served by exactly one worker with
``--pool solo`` and concurrency 1 (it owns the hardware), and ``analysis``, served by any
number of workers anywhere.

Brokers:

- ``CELERY_BROKER_URL`` set (Redis in shared use): that broker. Keys can carry a prefix
  (``MENISCUS_BROKER_PREFIX``) so several labs or test sessions share one Redis.
- nothing set (embedded): kombu's ``filesystem://`` transport with its folders under
  ``MENISCUS_DATA_DIR/broker``; :mod:`workers.embedded` starts the workers as child processes.

Results are ignored (``task_ignore_result``): the run ledger is the truth, a task's return
value is only logged. Acquisition messages are acknowledged when the task starts: a worker
that dies mid-run must not get the run delivered again (the ledger resumes it, on an
operator's word). Only the idempotent analysis task uses ``acks_late`` with
``reject_on_worker_lost``, so a killed analysis is simply done again.

Run a worker by hand with ``python -m workers worker instrument sim`` (or ``... analysis``),
or with Celery's own command::

    celery -A workers.celery_app worker -Q instrument.sim --pool solo --concurrency 1
    celery -A workers.celery_app worker -Q analysis
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from celery import Celery
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

INSTRUMENT_QUEUE_PREFIX = "instrument."
ANALYSIS_QUEUE = "analysis"
RUN_ACQUISITION = "meniscus.run_acquisition"
ANALYSE_SPOT = "meniscus.analyse_spot"

#: Redis hands an unacknowledged message out again after this long. An instrument worker
#: reserves the next message while it runs a grid, and that message stays unacknowledged for
#: the whole run, so the timeout must outlast the longest run: the article's 63-spot screen
#: takes ~10 min, a 2000-spot screen at ~60 s a spot ~33 h. Two days covers any run we plan.
#: (Acquisition tasks themselves are acknowledged on start, and a duplicate message is
#: harmless: the task only acts on a run in the state it expects.) The price: an analysis
#: whose worker was SIGKILLed comes back only after this long; ``python -m workers analyse
#: RUN_ID`` re-queues it at once (analysis is idempotent).
REDIS_VISIBILITY_TIMEOUT_S = 48 * 3600
#: how often an embedded worker looks for new message files (s)
FILESYSTEM_POLL_S = 0.1


class WorkerOptions(BaseSettings):
    """Worker-side settings (``MENISCUS_`` variables or ``.env``), beside :class:`Settings`."""

    model_config = SettingsConfigDict(
        env_prefix="MENISCUS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    broker_prefix: str = Field(
        default="", description="prefix of every broker key (several labs on one Redis)"
    )
    embedded_idle_exit_s: float = Field(
        default=1800.0, ge=0,
        description="an embedded worker idle this long with an empty queue exits (0: never)",
    )


def instrument_queue(instrument: str) -> str:
    """The queue an instrument's worker serves: ``instrument.<name>``."""
    return f"{INSTRUMENT_QUEUE_PREFIX}{instrument}"


def is_embedded(settings: Settings) -> bool:
    """True when no broker is configured and the file-based one under the data folder is used."""
    return not settings.celery_broker_url


def broker_folder(settings: Settings) -> Path:
    """Root of the embedded broker's folders (absolute)."""
    return (settings.data_dir / "broker").resolve()


def embedded_broker_folders(settings: Settings) -> dict[str, Path]:
    """The embedded broker's folders (created if missing): queue, processed, control."""
    root = broker_folder(settings)
    folders = {name: root / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def broker_config(settings: Settings, options: WorkerOptions | None = None) -> dict:
    """Celery settings naming the broker and its transport options."""
    options = options or WorkerOptions()
    if is_embedded(settings):
        folders = embedded_broker_folders(settings)
        return {
            # the host is meaningless for files; naming it keeps kombu from warning each connect
            "broker_url": "filesystem://localhost/",
            "broker_transport_options": {
                # one folder for both directions: every process reads and writes the same queue
                "data_folder_in": str(folders["queue"]),
                "data_folder_out": str(folders["queue"]),
                # taken messages are moved here, on the same filesystem, so a rename (atomic)
                # decides which of two consumers gets a message
                "store_processed": True,
                "processed_folder": str(folders["processed"]),
                "control_folder": str(folders["control"]),
                "polling_interval": FILESYSTEM_POLL_S,
            },
            # remote control needs fanout queues that outlive dead workers as files
            "worker_enable_remote_control": False,
        }
    transport_options = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_S}
    if options.broker_prefix:
        transport_options["global_keyprefix"] = options.broker_prefix
    return {
        "broker_url": settings.celery_broker_url,
        "broker_transport_options": transport_options,
    }


def create_app(settings: Settings | None = None, options: WorkerOptions | None = None) -> Celery:
    """A Celery app for ``settings`` (default: the environment).

    The tasks live in :mod:`workers.tasks`, which a worker imports when it starts
    (``include``): a process that only sends messages (the web app, the command line) loads
    neither the tasks nor any instrument code.
    """
    settings = settings or get_settings()
    options = options or WorkerOptions()
    app = Celery("meniscus", set_as_current=False)
    app.conf.update(
        broker_config(settings, options),
        include=["workers.tasks"],
        task_ignore_result=True,
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_routes={ANALYSE_SPOT: {"queue": ANALYSIS_QUEUE}},
        task_default_queue=ANALYSIS_QUEUE,
        worker_hijack_root_logger=True,
        worker_redirect_stdouts=False,
    )
    app.meniscus_settings = settings
    app.meniscus_options = options
    return app


def send_run(app: Celery, run_id: int, instrument: str, *, resume: bool = False) -> None:
    """Wake ``instrument``'s worker for ``run_id`` (resume: also a paused/interrupted run)."""
    app.send_task(RUN_ACQUISITION, args=[run_id], kwargs={"resume": resume},
                  queue=instrument_queue(instrument))


def send_analysis(app: Celery, spot_id: int, parameters: Mapping | None = None,
                  kind: str | None = None) -> None:
    """Queue the analysis of a committed spot. A failure to queue is logged, not raised:
    the spot's data is safe, and ``python -m workers analyse RUN_ID`` queues it again."""
    try:
        app.send_task(ANALYSE_SPOT, args=[spot_id],
                      kwargs={"parameters": None if parameters is None else dict(parameters),
                              "kind": kind},
                      queue=ANALYSIS_QUEUE)
    except Exception:
        log.exception("spot %s: could not queue its analysis", spot_id)


def configure_worker(app: Celery, queue: str) -> None:
    """Settings of a worker serving ``queue``: instrument workers take one message at a time."""
    if queue.startswith(INSTRUMENT_QUEUE_PREFIX):
        app.conf.worker_concurrency = 1
        if not is_embedded(app.meniscus_settings):
            # fetch the next message only when the run is over (Redis only): nothing sits
            # unacknowledged through a long run
            app.conf.worker_disable_prefetch = True


def consumed_instruments(app: Celery) -> list[str]:
    """Names of the instruments whose queues this worker consumes."""
    queues = app.amqp.queues.consume_from or {}
    return sorted(
        name[len(INSTRUMENT_QUEUE_PREFIX):] for name in queues
        if name.startswith(INSTRUMENT_QUEUE_PREFIX)
    )


def __getattr__(name: str) -> Celery:
    # ``celery -A workers.celery_app`` reads ``app``: built on first use from the environment,
    # so importing this module creates no folders and reads no settings
    if name == "app":
        globals()["app"] = created = create_app()
        return created
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
