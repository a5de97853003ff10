"""Browser sessions: a random token in the ``meniscus_session`` cookie, its SHA-256 in the DB.

    token = create_session(url, user_id, ip="10.0.0.5")       # set as the cookie
    actor = resolve_session(url, token)                        # each request; None = log in
    revoke_session(url, token)                                 # logout

Sessions expire :attr:`~core.settings.Settings.session_hours` (12 h by default) after the
last request (sliding expiry); revoked sessions, expired ones and those of deactivated users
resolve to None. The database never holds a usable token: a copy of it logs nobody in.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.auth.roles import Actor, Role
from core.auth.token_hash import find_by_token, new_token, token_sha256
from core.settings import get_settings
from core.storage.db import session_scope
from core.storage.models import UserSession, as_utc, utcnow

#: name of the browser cookie that carries the session token
COOKIE_NAME = "meniscus_session"
#: a session's expiry is pushed forward at most this often, s (not one write per request)
SLIDE_EVERY_S = 60


def create_session(url: str, user_id: int, ip: str = "", *,
                   lifetime_h: float | None = None) -> str:
    """Start a session for ``user_id`` and return its token (43 URL-safe characters).

    ``lifetime_h`` defaults to the settings' ``session_hours``.
    """
    token = new_token()
    now = utcnow()
    with session_scope(url) as session:
        session.add(UserSession(
            token_sha256=token_sha256(token), user_id=user_id, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=_lifetime_h(lifetime_h)), ip=ip[:64]))
    return token


def resolve_session(url: str, token: str | None, *, ip: str = "",
                    lifetime_h: float | None = None) -> Actor | None:
    """The :class:`Actor` of a live session, sliding its expiry; None when there is none."""
    if not token:
        return None
    now = utcnow()
    with session_scope(url) as session:
        row = find_by_token(session, UserSession, token)
        if row is None:
            return None
        stored, user = row
        if (stored.revoked_at is not None or as_utc(stored.expires_at) <= now
                or not user.active):
            return None
        if (now - as_utc(stored.last_seen_at)).total_seconds() >= SLIDE_EVERY_S:
            stored.last_seen_at = now
            stored.expires_at = now + timedelta(hours=_lifetime_h(lifetime_h))
        return Actor(user.name, Role(user.role), user_id=user.id, ip=ip, via="session")


def revoke_session(url: str, token: str | None) -> bool:
    """End the session of ``token``; True when a live one was ended."""
    if not token:
        return False
    with session_scope(url) as session:
        stored = session.scalar(select(UserSession).where(
            UserSession.token_sha256 == token_sha256(token)))
        if stored is None or stored.revoked_at is not None:
            return False
        stored.revoked_at = utcnow()
    return True


def _lifetime_h(lifetime_h: float | None) -> float:
    return get_settings().session_hours if lifetime_h is None else lifetime_h

