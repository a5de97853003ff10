"""Who is asking, and what each Dash callback needs: the web side of the role checks.

Every callback states the permission it needs, directly under ``@callback``::

    @callback(Output(...), Input(...))
    @requires(Permission.LAUNCH)
    def launch(...): ...

``requires`` refuses (HTTP 401 without a session, 403 for a role too low; both audited) before
the function runs, and marks the function so that ``app_auth`` can build the table of
callback → permission when the app is built. A callback without the mark is refused for
everyone (deny by default), so forgetting it fails loudly in the tests, never silently open.

``current_actor()`` is the logged-in user of this request (set by ``app_auth``'s gate on
``flask.g``); services take it as their ``actor`` argument.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, has_request_context, request

from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from pages._context import database_url

#: attribute set on callback functions by :func:`requires`
PERMISSION_ATTRIBUTE = "meniscus_permission"


def current_actor() -> Actor | None:
    """The user of the current request (None outside a request or without a session)."""
    if not has_request_context():
        return None
    return getattr(g, "meniscus_actor", None)


def requires(permission: Permission) -> Callable:
    """Decorate a Dash callback (or a Flask view) with the permission it needs."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            authorize(database_url(), current_actor(), permission,
                      action=f"callback {function.__module__}.{function.__name__}",
                      ip=(request.remote_addr or "") if has_request_context() else "")
            return function(*args, **kwargs)

        setattr(guarded, PERMISSION_ATTRIBUTE, Permission(permission))
        return guarded

    return decorate
