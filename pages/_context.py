"""Where the pages find the database and the data folder: the Flask app's config.

Set by :func:`app.create_app`; tests set them on a bare Flask app and push its context.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def database_url() -> str:
    """SQLAlchemy URL of the run ledger."""
    return current_app.config["MENISCUS_DATABASE_URL"]


def data_dir() -> Path:
    """Root folder of the spot files."""
    return Path(current_app.config["MENISCUS_DATA_DIR"])
