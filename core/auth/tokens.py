"""Per-user API tokens for the JSON API (``Authorization: Bearer mnc_...``).

A token is ``mnc_`` followed by 43 URL-safe characters (32 random bytes); it is shown once,
when created, and only its SHA-256 is stored (:class:`~core.storage.models.ApiToken`), so a
copy of the database gives nobody a working token. A token acts as its user with the user's
current role; it stops working when revoked or when the user is deactivated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core.auth.roles import Actor, Role
from core.auth.token_hash import find_by_token, new_token, token_sha256
from core.errors import MeniscusError
from core.storage.db import session_scope
from core.storage.models import ApiToken, User, as_utc, utcnow

#: what every token starts with, so a leaked one is recognisable (and scannable) as ours
TOKEN_PREFIX = "mnc_"
#: longest token text looked up; anything longer is refused before hashing
MAX_TOKEN_LENGTH = 100
#: ``last_used_at`` is written at most this often per token (one write per request is waste)
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: longest label, characters (the column's width)
MAX_LABEL_LENGTH = 100


class TokenError(MeniscusError):
    """A token cannot be created or revoked (unknown or inactive user, unknown token id)."""


@dataclass(frozen=True)
class TokenInfo:
    """One token as its owner and the admin see it: never the token itself."""

    id: int
    user_name: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def create_token(url: str, user_name: str, label: str = "") -> str:
    """A new token for active user ``user_name``; the returned text is never stored.

    Raises :class:`TokenError` for an unknown or inactive user or a label over
    :data:`MAX_LABEL_LENGTH` characters.
    """
    if len(label) > MAX_LABEL_LENGTH:
        raise TokenError(f"token label is {len(label)} characters; at most "
                         f"{MAX_LABEL_LENGTH} are kept")
    token = new_token(TOKEN_PREFIX)
    with session_scope(url) as session:
        user = session.scalar(select(User).where(User.name == user_name))
        if user is None:
            raise TokenError(f"no user named {user_name!r}; add one with "
                             f"`python -m core users add {user_name} --role viewer`")
        if not user.active:
            raise TokenError(f"user {user_name!r} is deactivated; tokens are only given to "
                             f"active users")
        session.add(ApiToken(token_sha256=token_sha256(token), user_id=user.id, label=label))
    return token


def resolve_token(url: str, token: str, ip: str = "") -> Actor | None:
    """The :class:`~core.auth.roles.Actor` a token stands for (``via="token"``), or None when
    the token is malformed, unknown, revoked, or its user is deactivated.

    Records the use in ``last_used_at`` at most once per :data:`LAST_USED_RESOLUTION`.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = utcnow()
    with session_scope(url) as session:
        found = find_by_token(session, ApiToken, token)
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or not user.active:
            return None
        last_used = as_utc(row.last_used_at)
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            row.last_used_at = now
        try:
            role = Role(user.role)
        except ValueError:
            return None  # a role this version does not know holds nothing
        return Actor(user.name, role, user_id=user.id, ip=ip, via="token")


def revoke_token(url: str, token_id: int) -> TokenInfo:
    """Revoke token ``token_id`` (revoking twice keeps the first time); returns it.

    Raises :class:`TokenError` when there is no such token.
    """
    with session_scope(url) as session:
        found = session.execute(
            select(ApiToken, User.name).join(User, ApiToken.user_id == User.id)
            .where(ApiToken.id == token_id)
        ).first()
        if found is None:
            raise TokenError(f"no API token with id {token_id}")
        row, user_name = found
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _info(row, user_name)


def list_tokens(url: str, user_name: str) -> list[TokenInfo]:
    """Every token of ``user_name`` (revoked ones too), oldest first; [] for unknown users."""
    with session_scope(url) as session:
        rows = session.execute(
            select(ApiToken, User.name).join(User, ApiToken.user_id == User.id)
            .where(User.name == user_name).order_by(ApiToken.id)
        ).all()
        return [_info(row, name) for row, name in rows]


def _info(row: ApiToken, user_name: str) -> TokenInfo:
    return TokenInfo(id=row.id, user_name=user_name, label=row.label,
                     created_at=as_utc(row.created_at), last_used_at=as_utc(row.last_used_at),
                     revoked_at=as_utc(row.revoked_at))

