"""Accounts: add, list, change role or password, deactivate, and log in.

Account changes are made by a trusted local caller (the command line on the instrument PC,
the first-run setup; ``by=None``) or by a logged-in actor who holds ``MANAGE_USERS`` (the
admin page). Every change is written to the audit log.

:func:`authenticate` checks a name and password and returns the :class:`Actor`; repeated
failures are throttled (:mod:`core.auth.throttle`) and both failures and throttled attempts are
audited. An unknown name and a wrong password give the same message and take the same time.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.auth import throttle
from core.auth.audit import ALLOWED, DENIED, FAILED, record_event
from core.auth.guard import authorize
from core.auth.passwords import (
    check_password_rules,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from core.auth.roles import Actor, Permission, Role
from core.errors import MeniscusError
from core.storage.db import session_scope
from core.storage.models import User, UserSession, utcnow

#: what a user name may be made of
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
NAME_RULE = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"

#: who made a change when no logged-in actor did (command line, first-run setup)
LOCAL_SHELL = Actor("local-shell", Role.ADMIN, via="cli")


class AccountError(MeniscusError):
    """An account cannot be created or changed as asked (bad name, unknown user...)."""


class LoginFailed(MeniscusError):
    """Wrong name or password (one message for both, so names cannot be probed)."""

    def __init__(self) -> None:
        super().__init__("wrong user name or password")


class LoginThrottled(MeniscusError):
    """Too many failed logins for this name or address; try again in ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(f"too many failed logins; try again in about {minutes} min")


@dataclass(frozen=True)
class Account:
    """One user as listed by the command line and the admin page (never the hash)."""

    id: int
    name: str
    role: Role
    active: bool
    created_at: datetime


def check_name(name: str) -> str:
    """Return ``name`` if it follows :data:`NAME_RULE`, else raise :class:`AccountError`."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise AccountError(f"user name {name!r} is not allowed: use {NAME_RULE}")
    return name


def check_role(role: str) -> Role:
    """``role`` as a :class:`Role`, or :class:`AccountError` naming the allowed ones."""
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AccountError(f"role {role!r} is not one of {allowed}") from None


def add_user(url: str, name: str, role: Role | str, password: str, *,
             by: Actor | None = None) -> int:
    """Create an active account and return its id.

    Raises :class:`AccountError` for a bad or taken name or an unknown role, and
    :class:`~core.auth.passwords.WeakPassword` for a password shorter than 8 characters.
    """
    actor = _manager(url, by, "add user", name)
    check_name(name)
    role = check_role(role)
    check_password_rules(password)
    password_hash = hash_password(password)
    with session_scope(url) as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountError(f"user name {name!r} is taken")
        user = User(name=name, role=role.value, password_hash=password_hash, active=True)
        session.add(user)
        session.flush()
        user_id = user.id
    record_event(url, actor, "add user", ALLOWED, target=f"user {name}",
                 detail={"role": role.value})
    return user_id


def count_users(url: str) -> int:
    """How many accounts exist (active or not)."""
    with session_scope(url) as session:
        return session.scalar(select(func.count(User.id))) or 0


def list_users(url: str) -> list[Account]:
    """Every account, by name."""
    with session_scope(url) as session:
        return [Account(u.id, u.name, Role(u.role), u.active, u.created_at)
                for u in session.scalars(select(User).order_by(User.name))]


def set_role(url: str, name: str, role: Role | str, *, by: Actor | None = None) -> None:
    """Give ``name`` another role (takes effect at its next request)."""
    actor = _manager(url, by, "set role", name)
    role = check_role(role)
    with session_scope(url) as session:
        user = _user(session, name)
        old = user.role
        user.role = role.value
    record_event(url, actor, "set role", ALLOWED, target=f"user {name}",
                 detail={"old": old, "new": role.value})


def set_password(url: str, name: str, password: str, *, by: Actor | None = None) -> None:
    """Change the password of ``name`` and log out its browser sessions."""
    actor = _manager(url, by, "set password", name)
    check_password_rules(password)
    password_hash = hash_password(password)
    with session_scope(url) as session:
        user = _user(session, name)
        user.password_hash = password_hash
        user.password_changed_at = utcnow()
        _revoke_sessions(session, user.id)
    record_event(url, actor, "set password", ALLOWED, target=f"user {name}")


def deactivate(url: str, name: str, *, by: Actor | None = None) -> None:
    """Stop ``name`` from logging in and end its browser sessions (the account stays, for the
    audit log and the runs it launched)."""
    actor = _manager(url, by, "deactivate user", name)
    if by is not None and by.name == name:
        raise AccountError(f"{name} cannot deactivate their own account")
    with session_scope(url) as session:
        user = _user(session, name)
        user.active = False
        _revoke_sessions(session, user.id)
    record_event(url, actor, "deactivate user", ALLOWED, target=f"user {name}")


def authenticate(url: str, name: str, password: str, ip: str) -> Actor:
    """The :class:`Actor` for a correct ``name`` and ``password`` from address ``ip``.

    Raises :class:`LoginThrottled` after too many recent failures for the name or the address
    (checked before the password, so a right password does not help), else
    :class:`LoginFailed` for an unknown or inactive name or a wrong password.
    """
    name = name[:64]
    retry_after_s = throttle.retry_after_s(url, name, ip)
    if retry_after_s > 0:
        record_event(url, None, "login", DENIED, target=f"user {name}", ip=ip,
                     detail={"reason": "throttled", "retry_after_s": round(retry_after_s)})
        raise LoginThrottled(retry_after_s)
    with session_scope(url) as session:
        user = session.scalar(select(User).where(User.name == name))
        found = user is not None and user.active
        stored = user.password_hash if found else dummy_hash()
        matches = verify_password(stored, password) and found
        if matches and needs_rehash(stored):
            user.password_hash = hash_password(password)
        actor = Actor(user.name, Role(user.role), user_id=user.id, ip=ip) if matches else None
    throttle.record_attempt(url, name, ip, success=matches)
    if actor is None:
        record_event(url, None, "login", FAILED, target=f"user {name}", ip=ip,
                     detail={"reason": "wrong name or password"})
        raise LoginFailed()
    record_event(url, actor, "login", ALLOWED, target=f"user {name}", ip=ip)
    return actor


def _manager(url: str, by: Actor | None, action: str, name: str) -> Actor:
    """The actor recorded for an account change: ``by`` once authorized, else the shell."""
    if by is None:
        return LOCAL_SHELL
    return authorize(url, by, Permission.MANAGE_USERS, action=action, target=f"user {name}")


def _user(session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user named {name!r}")
    return user


def _revoke_sessions(session, user_id: int) -> None:
    session.execute(update(UserSession)
                    .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


#: the account created when the users table is empty at the web app's first start
FIRST_ADMIN_NAME = "admin"


def create_first_admin(url: str) -> str | None:
    """Create ``admin`` with a random password when there are no accounts; return the password
    (None when accounts exist, also when another process created the first one meanwhile)."""
    if count_users(url) > 0:
        return None
    password = secrets.token_urlsafe(15)
    try:
        add_user(url, FIRST_ADMIN_NAME, Role.ADMIN, password)
    except (AccountError, IntegrityError):  # another web worker got there first
        return None
    return password
