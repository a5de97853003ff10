"""Pages are tested by calling their layout and callback functions directly.

Dash registers the page modules when the app is built, so the tests share one app per process
(:func:`tests.auth_helpers.shared_dash_app`); each test points it at a fresh database holding
the small run of tests/core/results/small_run.py.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

import pytest
from flask import g

from core.auth.roles import Actor, Role
from core.storage.db import upgrade_database
from tests.auth_helpers import shared_dash_app
from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture(scope="session")
def dash_app(tmp_path_factory):
    return shared_dash_app(tmp_path_factory)


@pytest.fixture(scope="session")
def page():
    """``page("results")`` → the page module as Dash registered it."""
    def load(name: str):
        return importlib.import_module(f"pages.{name}")
    return load


@pytest.fixture
def small_run(dash_app, tmp_path):
    """The small run in SQLite, with the app's context pointing at it."""
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    run = build_small_run(url, tmp_path / "data", simulate_spot_data())
    with _context(dash_app, url, run.data_dir):
        yield run


@pytest.fixture
def empty_database(dash_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_database(url)
    with _context(dash_app, url, tmp_path):
        yield url


@contextmanager
def _context(dash_app, url, data_dir, actor: Actor | None = None):
    """A request context on the app, pointing at ``url``, as ``actor`` (default: an admin).

    Tests of refusals set ``flask.g.meniscus_actor`` to a viewer or None inside it.
    """
    server = dash_app.server
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(data_dir))
    with server.test_request_context("/"):
        g.meniscus_actor = actor or Actor("tester", Role.ADMIN, user_id=None, ip="127.0.0.1")
        yield
