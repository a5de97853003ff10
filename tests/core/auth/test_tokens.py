"""API tokens: created for active users, stored hashed, resolved to an Actor, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.auth.roles import Role
from core.auth.tokens import (
    TOKEN_PREFIX,
    TokenError,
    create_token,
    list_tokens,
    resolve_token,
    revoke_token,
    token_sha256,
)
from core.storage.db import session_scope
from core.storage.models import ApiToken, User, utcnow


def _add_user(url: str, name: str, role: str = "operator", *, active: bool = True) -> int:
    with session_scope(url) as session:
        user = User(name=name, role=role, password_hash="not-a-real-hash", active=active)
        session.add(user)
        session.flush()
        return user.id


def _last_used(url: str, token: str):
    with session_scope(url) as session:
        return session.scalar(select(ApiToken.last_used_at)
                              .where(ApiToken.token_sha256 == token_sha256(token)))


def test_a_token_acts_as_its_user_and_only_its_hash_is_stored(database_url):
    user_id = _add_user(database_url, "ana", "operator")
    token = create_token(database_url, "ana", label="notebook")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    assert create_token(database_url, "ana") != token
    with session_scope(database_url) as session:
        stored = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert stored[0].token_sha256 == token_sha256(token)
        assert all(token not in (row.token_sha256, row.label) for row in stored)
    actor = resolve_token(database_url, token, ip="10.0.0.7")
    assert (actor.name, actor.role, actor.user_id, actor.ip, actor.via) == (
        "ana", Role.OPERATOR, user_id, "10.0.0.7", "token")
    infos = list_tokens(database_url, "ana")
    assert [(info.label, info.active) for info in infos] == [("notebook", True), ("", True)]
    assert infos[0].last_used_at is not None and infos[1].last_used_at is None


def test_unknown_malformed_and_revoked_tokens_resolve_to_nobody(database_url):
    _add_user(database_url, "ana")
    token = create_token(database_url, "ana")
    assert resolve_token(database_url, TOKEN_PREFIX + "x" * 43) is None
    assert resolve_token(database_url, token[len(TOKEN_PREFIX):]) is None  # prefix missing
    assert resolve_token(database_url, token + "x" * 100) is None
    assert resolve_token(database_url, "") is None
    first = revoke_token(database_url, list_tokens(database_url, "ana")[0].id)
    assert resolve_token(database_url, token) is None and not first.active
    again = revoke_token(database_url, first.id)
    assert again.revoked_at == first.revoked_at  # revoking twice keeps the first time
    with pytest.raises(TokenError, match="no API token with id 999"):
        revoke_token(database_url, 999)


def test_tokens_only_for_active_users_and_a_deactivated_users_tokens_stop(database_url):
    _add_user(database_url, "bo", "viewer")
    _add_user(database_url, "old", "viewer", active=False)
    with pytest.raises(TokenError, match="no user named 'nobody'"):
        create_token(database_url, "nobody")
    with pytest.raises(TokenError, match="user 'old' is deactivated"):
        create_token(database_url, "old")
    with pytest.raises(TokenError, match="101 characters; at most 100"):
        create_token(database_url, "bo", label="x" * 101)
    token = create_token(database_url, "bo")
    assert resolve_token(database_url, token).role == Role.VIEWER
    with session_scope(database_url) as session:
        session.execute(update(User).where(User.name == "bo").values(active=False))
    assert resolve_token(database_url, token) is None
    assert list_tokens(database_url, "nobody") == []


def test_last_use_is_written_at_most_once_a_minute(database_url):
    _add_user(database_url, "ana")
    token = create_token(database_url, "ana")
    resolve_token(database_url, token)
    first = _last_used(database_url, token)
    resolve_token(database_url, token)
    assert _last_used(database_url, token) == first
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    with session_scope(database_url) as session:
        session.execute(update(ApiToken).values(last_used_at=two_minutes_ago))
    resolve_token(database_url, token)
    assert _last_used(database_url, token).replace(tzinfo=None) > two_minutes_ago.replace(
        tzinfo=None)
