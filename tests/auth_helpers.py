"""Logged-in Flask test clients for tests of routes and callbacks behind the login gate.

    client = logged_in_client(dash_app.server, url, name="vera", role="viewer")
    client.get("/runs/1/spots.csv")                          # carries the session cookie
    client.post("/_dash-update-component", json=body)        # and a same-origin Origin header
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dash._callback import GLOBAL_CALLBACK_MAP
from dash._utils import split_callback_id, stringify_id
from flask import Flask
from flask.testing import FlaskClient

from app_auth import server_callbacks
from core.auth.sessions import COOKIE_NAME, create_session
from core.auth.users import add_user, list_users
from core.settings import Settings

#: the one Dash app of this test process (see :func:`shared_dash_app`)
_SHARED_APP: dict = {}
#: the password of every account the helpers create
TEST_PASSWORD = "test-password-1"
#: scheme and host of Flask's test client (its default SERVER_NAME is localhost)
TEST_ORIGIN = "http://localhost"


def ensure_user(url: str, name: str, role: str) -> int:
    """The id of user ``name``, created with ``role`` and :data:`TEST_PASSWORD` if missing."""
    for account in list_users(url):
        if account.name == name:
            return account.id
    return add_user(url, name, role, TEST_PASSWORD)


def logged_in_client(server: Flask, url: str, *, name: str = "tester",
                     role: str = "operator") -> FlaskClient:
    """A test client of ``server`` logged in as ``name`` (created with ``role`` if missing).

    The client sends the ``meniscus_session`` cookie of a fresh session and an ``Origin``
    header equal to its own scheme and host, as a browser on the app's page does.
    """
    token = create_session(url, ensure_user(url, name, role), "127.0.0.1")
    client = server.test_client()
    client.set_cookie(COOKIE_NAME, token, domain="localhost")
    client.environ_base["HTTP_ORIGIN"] = TEST_ORIGIN
    return client


def callback_output(dash_app, module: str, name: str) -> str:
    """The output key (what Dash's renderer posts as ``output``) of callback ``module.name``,
    e.g. ``callback_output(app, "pages.design", "launch")``."""
    for output, function in server_callbacks(dash_app).items():
        while function is not None:
            if (function.__module__, function.__name__) == (module, name):
                return output
            function = getattr(function, "__wrapped__", None)
    raise LookupError(f"no callback {module}.{name} in the app's callback map")


def callback_body(dash_app, output: str, components: Iterable[tuple] = (), *,
                  triggered: tuple | None = None) -> dict:
    """A ``/_dash-update-component`` request body for the callback of ``output``, as Dash's
    renderer sends it.

    ``components`` are the page's components the callback may see, as ``(component id,
    property, value)``; a pattern-matching component has its own dict id
    (``{"type": FLAG_ADD, "kind": "other"}``). Each input, state and output gets the
    components its id matches, as the renderer sends them: a plain id as itself (value None
    unless given), a pattern id as the dict ids of the matching components (a list for
    ``ALL``, one for ``MATCH``: the one matching the triggering component; a ``MATCH``
    pattern that no component matches is sent with its wildcards, which the gate can judge
    but Dash cannot run). ``triggered`` ``(component id, property)`` is the input that
    changed; by default the first input's first component.
    """
    spec = {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}[output]
    values = [(component_id, prop, value) for component_id, prop, value in components]
    if triggered is None:
        first = (_resolve(spec["inputs"][0], values, {}, with_value=False)
                 if spec["inputs"] else [])
        first = first if isinstance(first, list) else [first]
        triggered = (first[0]["id"], first[0]["property"]) if first else None
    matched = triggered[0] if triggered and isinstance(triggered[0], dict) else {}

    def resolve(items, with_value=True):
        return [_resolve(item, values, matched, with_value=with_value) for item in items]

    outputs = split_callback_id(output)
    return {
        "output": output,
        "outputs": (resolve(outputs, with_value=False) if isinstance(outputs, list)
                    else _resolve(outputs, values, matched, with_value=False)),
        "inputs": resolve(spec["inputs"]), "state": resolve(spec["state"]),
        "changedPropIds": [f"{stringify_id(triggered[0])}.{triggered[1]}"] if triggered else [],
    }


def _resolve(dependency: dict, values: list[tuple], matched: dict, *, with_value: bool):
    """The renderer's entry for one dependency (``{"id": ..., "property": ...}`` with the id
    as Dash's callback map writes it): one ``{"id", "property"[, "value"]}``, or a list of
    them for a pattern with ``ALL``/``ALLSMALLER``."""
    component_id, prop = dependency["id"], dependency["property"]

    def entry(concrete):
        value = next((v for i, p, v in values if i == concrete and p == prop), None)
        return {"id": concrete, "property": prop, **({"value": value} if with_value else {})}

    if not component_id.startswith("{"):
        return entry(component_id)
    pattern = json.loads(component_id)
    found = []
    for concrete, _prop, _value in values:
        if _matches(pattern, concrete, matched) and concrete not in found:
            found.append(concrete)
    if any(value in (["ALL"], ["ALLSMALLER"]) for value in pattern.values()):
        return [entry(concrete) for concrete in found]
    return entry(found[0] if found else pattern)


def _matches(pattern: dict, concrete, matched: dict) -> bool:
    """Whether dict id ``concrete`` fits ``pattern`` (wildcards as Dash writes them:
    ``["ALL"]``, ``["MATCH"]``, ``["ALLSMALLER"]``), ``MATCH`` and ``ALLSMALLER`` taken
    against the triggering component's id ``matched``."""
    if not isinstance(concrete, dict) or concrete.keys() != pattern.keys():
        return False
    for key, wanted in pattern.items():
        if wanted == ["MATCH"] and key in matched and concrete[key] != matched[key]:
            return False
        if wanted == ["ALLSMALLER"] and key in matched and not concrete[key] < matched[key]:
            return False
        if not isinstance(wanted, list) and concrete[key] != wanted:
            return False
    return True


def shared_dash_app(tmp_path_factory):
    """The Dash app that this test process's tests of pages and callbacks share, built and
    started (first request served) on first use, on a data folder of its own.

    Dash registers a callback once, when its module is imported, and hands the registered
    callbacks to the first app of the process that serves a request. Page modules are run
    again for each new app, but helper modules (``pages/_spot_review.py``...) are not, so an
    app built later lacks their callbacks: tests that post to ``/_dash-update-component`` use
    this one app, started before any other app of the process serves a request.
    """
    if "app" not in _SHARED_APP:
        from app import create_app

        dash_app = create_app(Settings(data_dir=tmp_path_factory.mktemp("shared-app-data")))
        dash_app.server.test_client().get("/login")  # Dash takes its callbacks in now
        _SHARED_APP["app"] = dash_app
    return _SHARED_APP["app"]
