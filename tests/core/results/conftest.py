"""A small analysed run (see small_run.py) in each of SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture(scope="session")
def spot_data():
    """Simulated traces and movies of the small run, made once per session."""
    return simulate_spot_data()


@pytest.fixture
def small_run(database_url, tmp_path, spot_data):
    """The small run in a fresh database (SQLite and PostgreSQL) with its files."""
    return build_small_run(database_url, tmp_path / "data", spot_data)


@pytest.fixture
def sqlite_run(tmp_path, spot_data):
    """The small run in SQLite only (for tests about files rather than SQL)."""
    from core.storage.db import upgrade_database

    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    return build_small_run(url, tmp_path / "data", spot_data)
