"""The run of review_run.py in each of SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.core.review.review_run import ReviewRun, build_review_run


@pytest.fixture
def review_run(database_url) -> ReviewRun:
    """The review run in a fresh database (SQLite and PostgreSQL)."""
    return build_review_run(database_url)
