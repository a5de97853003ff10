"""SQLAlchemy 2 models of the run ledger: instruments, runs, spots, measurements, analyses,
and the per-instrument lease that guarantees one active run per instrument.

The schema is owned by the Alembic migrations in ``core/storage/migrations``; these models
must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.storage.states import RunState, SpotState


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (stored as such on PostgreSQL and SQLite)."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time made timezone-aware: SQLite gives back naive datetimes for the UTC values
    it stored (PostgreSQL's are aware already); None stays None."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {dict: JSON, list: JSON}


class Instrument(Base):
    """An instrument a run can be submitted to (``sim`` is always there)."""

    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    backend: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InstrumentLease(Base):
    """Which run holds an instrument. One row per instrument; taking it bumps ``fencing_token``.

    A worker writes to the ledger only while its token is the current one, so a worker that
    lost its lease (and whose run was recovered) cannot corrupt the run that took over.
    """

    __tablename__ = "instrument_leases"

    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    fencing_token: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str | None] = mapped_column(String(128), nullable=True)
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Run(Base):
    """One grid executed on one instrument."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    operator: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default=RunState.QUEUED.value, index=True)
    grid: Mapped[dict] = mapped_column(default=dict)
    grid_hash: Mapped[str] = mapped_column(String(64))
    abort_request: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pause_request: Mapped[bool] = mapped_column(default=False)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    tags: Mapped[list] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    instrument: Mapped[Instrument] = relationship()
    spots: Mapped[list[Spot]] = relationship(
        back_populates="run", order_by="Spot.order", cascade="all, delete-orphan"
    )


class Spot(Base):
    """One planned landing site of a run, with its conditions and ledger state."""

    __tablename__ = "spots"
    __table_args__ = (UniqueConstraint("run_id", "order", name="uq_spot_run_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    order: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer, default=0)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    col: Mapped[int | None] = mapped_column(Integer, nullable=True)
    x_um: Mapped[float] = mapped_column(Float)
    y_um: Mapped[float] = mapped_column(Float)
    block: Mapped[int] = mapped_column(Integer, default=0)
    condition_index: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    technique: Mapped[dict] = mapped_column(default=dict)
    current_density_mA_cm2: Mapped[float | None] = mapped_column(Float, nullable=True)
    current_A: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=SpotState.PENDING.value, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    run: Mapped[Run] = relationship(back_populates="spots")
    measurement: Mapped[Measurement | None] = relationship(
        back_populates="spot", uselist=False, cascade="all, delete-orphan"
    )


class Measurement(Base):
    """The data file of a measured spot (HDF5), committed only after it is safely on disk."""

    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id"), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    n_samples: Mapped[int] = mapped_column(Integer, default=0)
    n_frames: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    spot: Mapped[Spot] = relationship(back_populates="measurement")


class Analysis(Base):
    """One version of one kind of analysis of a spot; re-analysis adds a version."""

    __tablename__ = "analyses"
    __table_args__ = (
        UniqueConstraint("spot_id", "kind", "version", name="uq_analysis_spot_kind_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict] = mapped_column(default=dict)
    results: Mapped[dict] = mapped_column(default=dict)
    software_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- people: accounts, sessions, API tokens, login attempts, audit -------------------------


class User(Base):
    """A person who can log in. ``role`` is viewer, operator or admin (core.auth.roles)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: argon2id hash (PHC string) of the password
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow)


class UserSession(Base):
    """A browser login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A per-user token for the JSON API (``Authorization: Bearer ...``); SHA-256 stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One login attempt, kept for throttling repeated failures (by name and by address)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(default=False)


class AuditEvent(Base):
    """Who did (or tried to do) what. Allowed events with a run make the run's activity feed.

    ``outcome`` is ``allowed``, ``denied`` (no session or role) or ``failed`` (e.g. a wrong
    password); ``detail`` holds small JSON (reason, comment id, old/new values).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(300), default="")
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    spot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict] = mapped_column(default=dict)


# --- group review: comments and flags (exclusions are ``review`` analyses) ------------------


class Comment(Base):
    """A comment on a run (``spot_id`` None) or on one of its spots; replies name a parent."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    spot_id: Mapped[int | None] = mapped_column(ForeignKey("spots.id"), nullable=True, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Flag(Base):
    """A reviewer's flag on a spot (kind from core.review.flags.FLAG_KINDS); clearing keeps it."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cleared_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


# --- imported files --------------------------------------------------------------------------


class SemImage(Base):
    """An SEM image of a spot's footprint, imported by a person and stored under a generated
    name (``path`` relative to the data folder); ``original_name`` is kept for display only."""

    __tablename__ = "sem_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spots.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
