"""Where the pages find the database and the data folder (the Flask app's config), and the
run a page's URL names.

Set by :func:`app.create_app`; tests set them on a bare Flask app and push its context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dash.development.base_component import Component
from flask import current_app

from components.feedback import create_error
from core.errors import MeniscusError
from core.results.runs import RunRow, run_header
from core.settings import Settings


def database_url() -> str:
    """SQLAlchemy URL of the run ledger."""
    return current_app.config["MENISCUS_DATABASE_URL"]


def data_dir() -> Path:
    """Root folder of the spot files."""
    return Path(current_app.config["MENISCUS_DATA_DIR"])


def submit_settings() -> Settings:
    """Settings for :mod:`workers.submit` and :mod:`workers.guarded` that point at the app's
    database and data folder (the broker still comes from the environment)."""
    return Settings(data_dir=data_dir(), database_url=database_url())


def run_page(run_id: str | None, build: Callable[[RunRow], Component], *,
             title: str = "No such run") -> Component:
    """The page of the run whose id the URL gives as ``run_id``: ``build(run)``.

    An id that is not a whole number, an unknown run, or a :class:`MeniscusError` raised
    while building become an error box in the page (titled ``title`` for the latter two).
    """
    try:
        number = int(run_id)
    except (TypeError, ValueError):
        return create_error(f"{run_id!r} is not a run id", title="No such run")
    try:
        return build(run_header(database_url(), number))
    except MeniscusError as error:
        return create_error(str(error), title=title)
