"""The Celery app's broker, queues and delivery settings, and the tasks run in-process."""

from __future__ import annotations

import os

import pytest

import workers.tasks  # noqa: F401  (defines the shared tasks every app gets)
from core.settings import Settings
from core.storage.db import upgrade_database
from core.storage.ledger import Ledger
from tests.workers.harness import small_grid, spot_table, submit_direct
from workers.celery_app import (
    ANALYSE_SPOT,
    REDIS_VISIBILITY_TIMEOUT_S,
    RUN_ACQUISITION,
    WorkerOptions,
    configure_worker,
    create_app,
    instrument_queue,
)
from workers.embedded import queue_is_empty


@pytest.fixture
def embedded_settings(clean_environment, tmp_path):
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'meniscus.db'}"
    clean_environment.setenv("MENISCUS_DATA_DIR", str(data_dir))
    clean_environment.setenv("DATABASE_URL", url)
    upgrade_database(url)
    return Settings()


def _queued(settings, queue):
    folder = settings.data_dir / "broker" / "queue"
    return sorted(name for name in os.listdir(folder) if name.endswith(f".{queue}.msg"))


def test_embedded_app_uses_file_queues_under_the_data_folder(embedded_settings):
    app = create_app(embedded_settings)
    conf = app.conf
    root = embedded_settings.data_dir.resolve() / "broker"
    assert conf.broker_url == "filesystem://localhost/"
    options = conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"] == str(root / "queue")
    assert options["processed_folder"] == str(root / "processed")
    assert options["store_processed"] is True
    assert all((root / name).is_dir() for name in ("queue", "processed", "control"))
    assert conf.include == ["workers.tasks"]  # imported by workers only, not by senders
    assert conf.task_ignore_result is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_enable_remote_control is False


def test_redis_app_outlasts_any_run_and_prefixes_its_keys(clean_environment):
    clean_environment.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    app = create_app(Settings(), WorkerOptions(broker_prefix="lab-a:"))
    options = app.conf.broker_transport_options
    assert app.conf.broker_url == "redis://127.0.0.1:6379/13"
    assert options["visibility_timeout"] == REDIS_VISIBILITY_TIMEOUT_S >= 24 * 3600
    assert options["global_keyprefix"] == "lab-a:"
    configure_worker(app, instrument_queue("sim"))
    assert app.conf.worker_concurrency == 1
    assert app.conf.worker_disable_prefetch is True


def test_only_the_idempotent_analysis_is_acknowledged_late(embedded_settings):
    app = create_app(embedded_settings)
    analyse, acquire = app.tasks[ANALYSE_SPOT], app.tasks[RUN_ACQUISITION]
    assert (analyse.acks_late, analyse.reject_on_worker_lost) == (True, True)
    assert not acquire.acks_late and not acquire.reject_on_worker_lost
    assert app.conf.task_routes[ANALYSE_SPOT] == {"queue": "analysis"}


def test_a_run_task_queues_one_analysis_per_spot_and_a_duplicate_message_does_nothing(
    embedded_settings,
):
    settings = embedded_settings
    ledger = Ledger(settings.resolved_database_url)
    run_id = submit_direct(ledger, small_grid(rows=1, cols=3))
    app = create_app(settings)
    assert app.tasks[RUN_ACQUISITION].apply(args=[run_id]).get() == "completed"
    assert len(_queued(settings, "analysis")) == 3
    # the same message again (a wake-up after a restart): the run is over, nothing happens
    assert app.tasks[RUN_ACQUISITION].apply(args=[run_id]).get() == "ignored"
    assert len(_queued(settings, "analysis")) == 3
    assert not queue_is_empty(settings, "analysis") and queue_is_empty(settings, "instrument.sim")

    spot_ids = [row["id"] for row in spot_table(settings.resolved_database_url, run_id)]
    result = app.tasks[ANALYSE_SPOT].apply(args=[spot_ids[0]]).get()
    assert result == [{"kind": "galvanostatic", "version": 1, "created": True}]


def test_a_paused_run_starts_again_only_when_resumed(embedded_settings):
    settings = embedded_settings
    ledger = Ledger(settings.resolved_database_url)
    run_id = submit_direct(ledger, small_grid(rows=1, cols=2))
    ledger.mark_paused(run_id, ledger.start_run(run_id, holder="a worker that paused it"))
    app = create_app(settings)
    task = app.tasks[RUN_ACQUISITION]
    assert task.apply(args=[run_id]).get() == "ignored"  # a wake-up is not a resume
    assert task.apply(args=[run_id], kwargs={"resume": True}).get() == "completed"
    assert [row["state"] for row in spot_table(settings.resolved_database_url, run_id)] == [
        "done", "done"]
