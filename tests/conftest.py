"""Shared fixtures: real services (PostgreSQL, Redis) where tests need them.

Locally a missing service skips the tests that need it; with ``CI`` set it fails them, so CI
never goes green on skipped service tests.
"""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "MENISCUS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail in CI, when a service a test needs cannot be reached."""
    message = f"{what} is not reachable: {error}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must provide it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server_url():
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    from sqlalchemy import create_engine, text

    name = f"meniscus_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any driver/connection error means: no server here
        service_missing("PostgreSQL at " + POSTGRES_ADMIN_URL, error)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty, migrated database URL: SQLite in a temporary folder, and PostgreSQL."""
    from core.storage.db import upgrade_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    else:
        server = request.getfixturevalue("postgres_server_url")
        url = _fresh_postgres_schema(server)
    upgrade_database(url)
    return url


def _fresh_postgres_schema(server_url: str) -> str:
    """A URL whose connections use a new, empty schema in the session's database."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{server_url}?options=-csearch_path%3D{schema}"


REDIS_URL = os.environ.get("MENISCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="session")
def redis_url():
    """URL of a reachable Redis (db 13 unless ``MENISCUS_TEST_REDIS_URL`` says otherwise).

    Shared by parallel test sessions: tests put their keys under a prefix of their own and
    delete them afterwards (see ``redis_prefix`` in tests/workers/conftest.py).
    """
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as error:  # any connection error means: no server here
        service_missing("Redis at " + REDIS_URL, error)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def postgres_url(postgres_server_url):
    """An empty, migrated PostgreSQL database URL (a fresh schema in the session's database)."""
    from core.storage.db import upgrade_database

    url = _fresh_postgres_schema(postgres_server_url)
    upgrade_database(url)
    return url
