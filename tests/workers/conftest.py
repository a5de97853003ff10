"""Fixtures of the worker tests: deployments (data folder + database + broker) with real
worker processes, always stopped afterwards."""

from __future__ import annotations

import uuid

import pytest

from core.storage.db import upgrade_database
from tests.workers.harness import OWN_VARIABLES, Deployment


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix for this test alone on the shared Redis; its keys are deleted afterwards."""
    import redis

    prefix = f"meniscus-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No Meniscus variable of the developer's, and a working folder without a .env file."""
    for key in OWN_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture(params=["embedded", "redis"])
def deployment(request, tmp_path, clean_environment):
    """Embedded (file broker + SQLite) or shared (Redis + PostgreSQL), the test process's
    environment set like the workers'. Every worker process is stopped afterwards."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    variables = {"MENISCUS_DATA_DIR": str(data_dir), "MENISCUS_EMBEDDED_IDLE_EXIT_S": "0"}
    if request.param == "embedded":
        url = f"sqlite:///{data_dir / 'meniscus.db'}"
        upgrade_database(url)
    else:
        url = request.getfixturevalue("postgres_url")
        variables["CELERY_BROKER_URL"] = request.getfixturevalue("redis_url")
        variables["MENISCUS_BROKER_PREFIX"] = request.getfixturevalue("redis_prefix")
    variables["DATABASE_URL"] = url
    for key, value in variables.items():
        clean_environment.setenv(key, value)
    deployment = Deployment(request.param, data_dir, url, variables)
    try:
        yield deployment
    finally:
        deployment.stop()
        if request.param == "embedded":
            from workers.embedded import stop_workers

            stop_workers(deployment.settings(), timeout_s=1.5)
