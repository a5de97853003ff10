from datetime import timedelta

from sqlalchemy import select, update

from core.auth.roles import Actor, Role
from core.auth.sessions import (
    create_session,
    resolve_session,
    revoke_session,
    token_sha256,
)
from core.auth.users import add_user
from core.storage.db import session_scope
from core.storage.models import UserSession, utcnow


def test_a_session_resolves_to_its_user_and_only_the_hash_is_stored(database_url):
    user_id = add_user(database_url, "ivy", "operator", "right-password")
    token = create_session(database_url, user_id, "10.1.1.1", lifetime_h=12)
    assert len(token) == 43
    assert resolve_session(database_url, token, ip="10.1.1.2") == Actor(
        "ivy", Role.OPERATOR, user_id=user_id, ip="10.1.1.2", via="session")
    with session_scope(database_url) as session:
        stored = session.scalar(select(UserSession))
        assert stored.token_sha256 == token_sha256(token) != token
        assert stored.ip == "10.1.1.1"
        lifetime = stored.expires_at - stored.created_at
    assert lifetime == timedelta(hours=12)


def test_unknown_revoked_and_expired_sessions_resolve_to_none(database_url):
    user_id = add_user(database_url, "jo", "viewer", "right-password")
    assert resolve_session(database_url, None) is None
    assert resolve_session(database_url, "not-a-token") is None
    token = create_session(database_url, user_id)
    assert revoke_session(database_url, token) is True
    assert revoke_session(database_url, token) is False
    assert resolve_session(database_url, token) is None
    expired = create_session(database_url, user_id)
    with session_scope(database_url) as session:
        session.execute(update(UserSession)
                        .where(UserSession.token_sha256 == token_sha256(expired))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert resolve_session(database_url, expired) is None


def test_expiry_slides_with_use(database_url):
    user_id = add_user(database_url, "kim", "viewer", "right-password")
    token = create_session(database_url, user_id, lifetime_h=1)
    an_hour_ago = utcnow() - timedelta(minutes=59)
    with session_scope(database_url) as session:
        session.execute(update(UserSession).values(
            last_seen_at=an_hour_ago, expires_at=an_hour_ago + timedelta(hours=1)))
    assert resolve_session(database_url, token, lifetime_h=1) is not None
    with session_scope(database_url) as session:
        stored = session.scalar(select(UserSession))
        remaining = stored.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)
