"""Settings from the environment: variables prefixed ``MENISCUS_``, plus ``DATABASE_URL`` and
``CELERY_BROKER_URL`` under their usual names, and a ``.env`` file in the working directory.

With nothing set, Meniscus runs embedded: data and an SQLite database under ``./data``, and a
file-based broker there too, so a fresh machine needs no server.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where Meniscus keeps its data and which services it talks to."""

    model_config = SettingsConfigDict(
        env_prefix="MENISCUS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("data"), description="root of spot files and the DB")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "MENISCUS_DATABASE_URL"),
        description="SQLAlchemy URL; default: SQLite file in the data folder",
    )
    celery_broker_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CELERY_BROKER_URL", "MENISCUS_CELERY_BROKER_URL"),
        description="Celery broker (Redis in shared use); default: file broker in the data folder",
    )
    session_hours: float = Field(
        default=12.0, gt=0,
        description="browser login lifetime, h; sliding: each request within it extends it",
    )
    secure_cookies: bool = Field(
        default=False,
        description="send the session cookie over HTTPS only (set true behind TLS)",
    )
    secret_key: str | None = Field(
        default=None,
        description="Flask secret (signs the login form's CSRF cookie); default: generated "
        "once and kept in <data_dir>/secret_key",
    )
    max_upload_mb: float = Field(
        default=64.0, gt=0, description="largest request body the web app accepts, MB")
    trusted_proxies: int = Field(
        default=0, ge=0, le=10,
        description="reverse proxies in front of the web app whose X-Forwarded-For/-Proto/-Host "
        "headers are trusted (0: none, the client address is the connection's)",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in use: ``DATABASE_URL`` or the embedded SQLite file."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'meniscus.db').resolve()}"

    def run_dir(self, run_id: int) -> Path:
        """Folder holding one HDF5 file per measured spot of run ``run_id``."""
        return self.data_dir / "runs" / str(run_id)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def get_settings() -> Settings:
    """Read the settings afresh from the environment (cheap; tests change the environment)."""
    return Settings()
