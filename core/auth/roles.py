"""Roles and permissions: viewer < operator < admin, each role holding the ones below it.

- viewer: browse everything, comment.
- operator: + design and launch grids, pause/abort runs, re-analyse, import files, and review
  (flags, exclusions, tags and notes).
- admin: + manage users and instruments.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for operator, 2 for admin."""
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class Permission(StrEnum):
    """One kind of action; :data:`MINIMUM_ROLE` says which role it needs."""

    VIEW = "view"            # pages, figures, frames, exports, API reads
    COMMENT = "comment"      # comments and replies
    REVIEW = "review"        # flags, exclusions, run tags and notes
    LAUNCH = "launch"        # submit a grid
    CONTROL = "control"      # pause, resume, abort a run
    REANALYSE = "reanalyse"  # re-run an analysis with new parameters
    IMPORT = "import"        # upload files (SEM images)
    MANAGE_USERS = "manage_users"
    MANAGE_INSTRUMENTS = "manage_instruments"


#: the least role that holds each permission
MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.VIEW: Role.VIEWER,
    Permission.COMMENT: Role.VIEWER,
    Permission.REVIEW: Role.OPERATOR,
    Permission.LAUNCH: Role.OPERATOR,
    Permission.CONTROL: Role.OPERATOR,
    Permission.REANALYSE: Role.OPERATOR,
    Permission.IMPORT: Role.OPERATOR,
    Permission.MANAGE_USERS: Role.ADMIN,
    Permission.MANAGE_INSTRUMENTS: Role.ADMIN,
}


def role_allows(role: Role | str, permission: Permission | str) -> bool:
    """True when ``role`` holds ``permission`` (unknown roles hold nothing)."""
    try:
        role = Role(role)
    except ValueError:
        return False
    return role.rank >= MINIMUM_ROLE[Permission(permission)].rank


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user (browser session or API token).

    ``ip`` is the client address, for the audit log; ``via`` is ``session``, ``token`` or
    ``cli`` (a local shell, trusted as the named user).
    """

    name: str
    role: Role
    user_id: int | None = None
    ip: str = ""
    via: str = "session"

    def can(self, permission: Permission | str) -> bool:
        """True when this actor's role holds ``permission``."""
        return role_allows(self.role, permission)
