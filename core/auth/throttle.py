"""Login throttling: too many failed logins for one name or from one address lock it out.

Within a :data:`WINDOW_S` (15 min) window, :data:`MAX_FAILURES_PER_NAME` (5) failures for a
name since its last successful login, or :data:`MAX_FAILURES_PER_ADDRESS` (20) failures from an
address, refuse further attempts until the oldest of those failures leaves the window. Attempts
are rows of ``login_attempts``, so the limit holds across web processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from core.storage.db import session_scope
from core.storage.models import LoginAttempt, as_utc, utcnow

#: how far back failures count, s
WINDOW_S = 15 * 60
#: failures for one user name that lock it
MAX_FAILURES_PER_NAME = 5
#: failures from one client address that lock it
MAX_FAILURES_PER_ADDRESS = 20


def record_attempt(url: str, name: str, ip: str, *, success: bool) -> None:
    """Store one login attempt; attempts older than a day are deleted on the way."""
    now = utcnow()
    with session_scope(url) as session:
        session.add(LoginAttempt(name=name[:64], ip=ip[:64], at=now, success=success))
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))


def retry_after_s(url: str, name: str, ip: str, *, now: datetime | None = None) -> float:
    """Seconds until ``name`` from ``ip`` may try again; 0 when it may try now."""
    now = now or utcnow()
    since = now - timedelta(seconds=WINDOW_S)
    with session_scope(url) as session:
        last_success = session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.name == name[:64], LoginAttempt.success.is_(True)))
        name_since = max(since, as_utc(last_success)) if last_success else since
        by_name = _failures(session, LoginAttempt.name == name[:64], name_since)
        by_address = _failures(session, LoginAttempt.ip == ip[:64], since)
    wait = 0.0
    for failures, limit in ((by_name, MAX_FAILURES_PER_NAME),
                            (by_address, MAX_FAILURES_PER_ADDRESS)):
        if len(failures) >= limit:
            # the lock ends when the limit-th most recent failure leaves the window
            unlock = as_utc(failures[limit - 1]) + timedelta(seconds=WINDOW_S)
            wait = max(wait, (unlock - now).total_seconds())
    return wait


def _failures(session, condition, since: datetime) -> list[datetime]:
    """Times of the failed attempts matching ``condition`` after ``since``, newest first."""
    return list(session.scalars(
        select(LoginAttempt.at)
        .where(condition, LoginAttempt.success.is_(False), LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(MAX_FAILURES_PER_ADDRESS)))

