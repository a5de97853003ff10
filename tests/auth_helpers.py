"""Logged-in Flask test clients for tests of routes and callbacks behind the login gate.

    client = logged_in_client(dash_app.server, url, name="vera", role="viewer")
    client.get("/runs/1/spots.csv")                          # carries the session cookie
    client.post("/_dash-update-component", json=body)        # and a same-origin Origin header
"""

from __future__ import annotations

from dash._callback import GLOBAL_CALLBACK_MAP
from dash._utils import split_callback_id
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


def callback_body(dash_app, output: str) -> dict:
    """A ``/_dash-update-component`` request body for the callback of ``output``, as the
    renderer sends it, with every input and state value None."""
    spec = {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}[output]
    inputs = [{**item, "value": None} for item in spec["inputs"]]
    return {"output": output, "outputs": split_callback_id(output), "inputs": inputs,
            "state": [{**item, "value": None} for item in spec["state"]],
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else []}


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
