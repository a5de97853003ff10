"""The one check every service runs before it changes anything or shows anything.

    authorize(url, actor, Permission.LAUNCH, action="launch", target="grid screen-1")

raises :class:`NotAuthenticated` (no actor: HTTP 401) or :class:`PermissionDenied` (role too
low: HTTP 403) and writes the refusal to the audit log first.
"""

from __future__ import annotations

from core.auth.audit import DENIED, record_event
from core.auth.roles import MINIMUM_ROLE, Actor, Permission
from core.errors import MeniscusError


class NotAuthenticated(MeniscusError):
    """No logged-in user (HTTP 401)."""


class PermissionDenied(MeniscusError):
    """The user's role does not hold the permission (HTTP 403)."""


def authorize(
    url: str,
    actor: Actor | None,
    permission: Permission,
    *,
    action: str,
    target: str = "",
    run_id: int | None = None,
    spot_id: int | None = None,
    ip: str = "",
) -> Actor:
    """Return ``actor`` when it may take ``permission``; otherwise audit and raise."""
    if actor is None:
        record_event(url, None, action, DENIED, target=target, run_id=run_id, spot_id=spot_id,
                     ip=ip, detail={"reason": "not logged in", "permission": str(permission)})
        raise NotAuthenticated(f"{action}: log in first")
    if not actor.can(permission):
        needed = MINIMUM_ROLE[permission]
        record_event(url, actor, action, DENIED, target=target, run_id=run_id, spot_id=spot_id,
                     ip=ip or actor.ip,
                     detail={"reason": f"needs role {needed}", "permission": str(permission)})
        raise PermissionDenied(
            f"{action}: {actor.name} is {actor.role}; this needs {needed} or above")
    return actor
