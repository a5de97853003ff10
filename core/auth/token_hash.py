"""The secret tokens of sessions and API tokens: how they are made, stored and looked up.

    token = new_token()                                  # 43 URL-safe characters, 32 bytes
    digest = token_sha256(token)                         # 64 hex characters, what is stored
    found = find_by_token(session, UserSession, token)   # (row, its User) or None

Both kinds of token carry 256 random bits, so a plain (unsalted, fast) SHA-256 is enough: it
cannot be reversed or guessed, and it lets a request's token be looked up by its digest.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from core.storage.models import ApiToken, User, UserSession

#: random bytes per token (43 characters once URL-safe base64 encoded)
TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """``prefix`` followed by :data:`TOKEN_BYTES` random bytes as URL-safe base64 text."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_sha256(token: str) -> str:
    """Hex SHA-256 of a token's UTF-8 text: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_by_token(session: Session, model: type[UserSession] | type[ApiToken],
                  token: str) -> Row[tuple[UserSession | ApiToken, User]] | None:
    """The ``model`` row (a browser session or an API token) stored for ``token``, with the
    :class:`User` it belongs to; None when no row holds that token's digest. Whether the
    row is still valid (revoked, expired, user deactivated) is the caller's to judge."""
    return session.execute(
        select(model, User).join(User, User.id == model.user_id)
        .where(model.token_sha256 == token_sha256(token))
    ).first()
