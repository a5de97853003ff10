"""The audit log: every refused request and every change, with who, what, when and where.

Allowed events that name a run are that run's activity feed (:func:`run_activity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from core.auth.roles import Actor
from core.storage.db import session_scope
from core.storage.models import AuditEvent, utcnow

ALLOWED = "allowed"
DENIED = "denied"
FAILED = "failed"


def record_event(
    url: str,
    actor: Actor | None,
    action: str,
    outcome: str,
    *,
    target: str = "",
    run_id: int | None = None,
    spot_id: int | None = None,
    ip: str | None = None,
    detail: dict | None = None,
) -> None:
    """Append one event. ``actor`` None is an anonymous request (no session, bad token)."""
    with session_scope(url) as session:
        session.add(AuditEvent(
            actor=actor.name if actor else "", role=str(actor.role) if actor else "",
            action=action[:64], outcome=outcome, target=target[:300], run_id=run_id,
            spot_id=spot_id, ip=(ip if ip is not None else (actor.ip if actor else ""))[:64],
            detail=detail or {},
        ))


@dataclass(frozen=True)
class Event:
    """One audit event as shown in the activity feed and the admin's audit view."""

    at: datetime
    actor: str
    role: str
    action: str
    outcome: str
    target: str
    run_id: int | None
    spot_id: int | None
    ip: str
    detail: dict


def list_events(
    url: str, *, run_id: int | None = None, outcome: str | None = None, limit: int = 200
) -> list[Event]:
    """Newest first; filtered by run and/or outcome."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(AuditEvent.run_id == run_id)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    with session_scope(url) as session:
        return [Event(e.at, e.actor, e.role, e.action, e.outcome, e.target, e.run_id,
                      e.spot_id, e.ip, dict(e.detail or {})) for e in session.scalars(query)]


def run_activity(url: str, run_id: int, *, limit: int = 200) -> list[Event]:
    """What people did on a run (comments, flags, exclusions, tags, launch, abort...)."""
    return list_events(url, run_id=run_id, outcome=ALLOWED, limit=limit)


def prune_refusals(url: str, *, older_than_days: float, now: datetime | None = None) -> int:
    """Delete refused and failed events older than ``older_than_days`` days; return how many.

    Allowed events are kept whatever their age: they are the runs' activity feeds and the
    record of who launched, aborted, excluded or re-analysed what. Refusals pile up with every
    anonymous request, so a server prunes them now and then (``python -m core audit prune``).
    """
    if not older_than_days > 0:
        raise ValueError(f"older_than_days = {older_than_days}: it must be above 0 days")
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    with session_scope(url) as session:
        result = session.execute(delete(AuditEvent).where(
            AuditEvent.outcome.in_((DENIED, FAILED)), AuditEvent.at < cutoff))
        return result.rowcount or 0
