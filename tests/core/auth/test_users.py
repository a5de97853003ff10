import pytest

from core.auth.audit import ALLOWED, DENIED, FAILED, list_events
from core.auth.guard import PermissionDenied
from core.auth.passwords import WeakPassword
from core.auth.roles import Actor, Role
from core.auth.sessions import create_session, resolve_session
from core.auth.users import (
    AccountError,
    LoginFailed,
    LoginThrottled,
    add_user,
    authenticate,
    count_users,
    deactivate,
    list_users,
    set_password,
    set_role,
)


def test_add_user_and_log_in(database_url):
    user_id = add_user(database_url, "ana.b_1-x", "operator", "s3cret-pass")
    actor = authenticate(database_url, "ana.b_1-x", "s3cret-pass", "10.0.0.7")
    assert actor == Actor("ana.b_1-x", Role.OPERATOR, user_id=user_id, ip="10.0.0.7")
    assert [(a.name, a.role, a.active) for a in list_users(database_url)] == [
        ("ana.b_1-x", Role.OPERATOR, True)]
    assert count_users(database_url) == 1
    actions = [(e.action, e.outcome, e.target) for e in list_events(database_url)]
    assert actions == [("login", ALLOWED, "user ana.b_1-x"),
                       ("add user", ALLOWED, "user ana.b_1-x")]


@pytest.mark.parametrize("name", ["", "a" * 65, "with space", "ümlaut", "semi;colon", "a/b"])
def test_bad_names_are_refused_naming_value_and_rule(database_url, name):
    with pytest.raises(AccountError, match=r"user name .* is not allowed: use 1 to 64 char"):
        add_user(database_url, name, "viewer", "long-enough")


def test_taken_name_unknown_role_and_short_password(database_url):
    add_user(database_url, "bo", "viewer", "long-enough")
    with pytest.raises(AccountError, match="user name 'bo' is taken"):
        add_user(database_url, "bo", "viewer", "long-enough")
    with pytest.raises(AccountError, match="role 'root' is not one of viewer, operator, admin"):
        add_user(database_url, "cy", "root", "long-enough")
    with pytest.raises(WeakPassword, match="at least 8"):
        add_user(database_url, "cy", "viewer", "short")
    assert [a.name for a in list_users(database_url)] == ["bo"]


def test_unknown_name_and_wrong_password_fail_alike_and_are_audited(database_url):
    add_user(database_url, "dee", "viewer", "right-password")
    with pytest.raises(LoginFailed) as unknown:
        authenticate(database_url, "nobody", "right-password", "10.0.0.1")
    with pytest.raises(LoginFailed) as wrong:
        authenticate(database_url, "dee", "wrong-password", "10.0.0.1")
    assert str(unknown.value) == str(wrong.value) == "wrong user name or password"
    failed = list_events(database_url, outcome=FAILED)
    assert [(e.actor, e.target, e.ip) for e in failed] == [
        ("", "user dee", "10.0.0.1"), ("", "user nobody", "10.0.0.1")]


def test_sixth_attempt_is_throttled_even_with_the_right_password(database_url):
    add_user(database_url, "eve", "operator", "right-password")
    for _ in range(5):
        with pytest.raises(LoginFailed):
            authenticate(database_url, "eve", "guess-guess", "10.0.0.2")
    with pytest.raises(LoginThrottled) as throttled:
        authenticate(database_url, "eve", "right-password", "10.0.0.2")
    assert 14 * 60 < throttled.value.retry_after_s <= 15 * 60
    assert "try again in about 15 min" in str(throttled.value)
    denied = list_events(database_url, outcome=DENIED)
    assert denied[0].detail["reason"] == "throttled" and denied[0].target == "user eve"


def test_inactive_users_cannot_log_in_and_lose_their_sessions(database_url):
    user_id = add_user(database_url, "fay", "viewer", "right-password")
    token = create_session(database_url, user_id, "10.0.0.3")
    deactivate(database_url, "fay")
    assert resolve_session(database_url, token) is None
    with pytest.raises(LoginFailed):
        authenticate(database_url, "fay", "right-password", "10.0.0.3")
    assert [a.active for a in list_users(database_url)] == [False]


def test_set_role_and_password(database_url):
    user_id = add_user(database_url, "gil", "viewer", "first-password")
    token = create_session(database_url, user_id, "10.0.0.4")
    set_role(database_url, "gil", "admin")
    assert resolve_session(database_url, token).role == Role.ADMIN
    set_password(database_url, "gil", "second-password")
    assert resolve_session(database_url, token) is None  # a new password ends old sessions
    assert authenticate(database_url, "gil", "second-password", "10.0.0.4").role == Role.ADMIN
    with pytest.raises(AccountError, match="no user named 'nobody'"):
        set_role(database_url, "nobody", "viewer")
    event = next(e for e in list_events(database_url) if e.action == "set role")
    assert event.detail == {"old": "viewer", "new": "admin"} and event.actor == "local-shell"


def test_account_changes_by_a_logged_in_actor_need_manage_users(database_url):
    add_user(database_url, "hal", "viewer", "right-password")
    operator = Actor("ops", Role.OPERATOR, user_id=None, ip="10.0.0.5")
    with pytest.raises(PermissionDenied, match="ops is operator; this needs admin"):
        set_role(database_url, "hal", "admin", by=operator)
    admin = Actor("root", Role.ADMIN, user_id=None, ip="10.0.0.6")
    set_role(database_url, "hal", "operator", by=admin)
    with pytest.raises(AccountError, match="root cannot deactivate their own account"):
        deactivate(database_url, "root", by=admin)
    events = list_events(database_url, limit=2)
    assert [(e.actor, e.action, e.outcome) for e in events] == [
        ("root", "set role", ALLOWED), ("ops", "set role", DENIED)]
