"""The whole app from outside: nothing opens without a login, roles hold on every callback,
and the session, origin, throttling and redirect defences work (through Flask's test client).
"""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import dash
import pytest
from sqlalchemy import update

from app_auth import (
    CALLBACK_PATH,
    PUBLIC_PATHS,
    PUBLIC_PREFIXES,
    callback_permissions,
    server_callbacks,
)
from core.auth.audit import DENIED, list_events
from core.auth.roles import Role, role_allows
from core.auth.sessions import COOKIE_NAME, create_session, revoke_session, token_sha256
from core.storage.db import session_scope, upgrade_database
from core.storage.models import UserSession, utcnow
from tests.auth_helpers import (
    TEST_PASSWORD,
    callback_body,
    callback_output,
    ensure_user,
    logged_in_client,
    shared_dash_app,
)


@pytest.fixture(scope="module")
def dash_app(tmp_path_factory):
    return shared_dash_app(tmp_path_factory)


@pytest.fixture(scope="module")
def url(dash_app, tmp_path_factory):
    """A database of this module's own (page tests point the shared app elsewhere)."""
    config = dash_app.server.config
    saved = config["MENISCUS_DATABASE_URL"], config["MENISCUS_DATA_DIR"]
    folder = tmp_path_factory.mktemp("security-data")
    url = f"sqlite:///{folder / 'meniscus.db'}"
    upgrade_database(url)
    config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(folder))
    yield url
    config.update(MENISCUS_DATABASE_URL=saved[0], MENISCUS_DATA_DIR=saved[1])


def _gated_paths(dash_app) -> list[tuple[str, str]]:
    """(method, path) of every page and every Flask route that is not public; variable parts
    of paths are filled with 1."""
    paths = set()
    for page in dash.page_registry.values():
        paths.add(("GET", re.sub(r"<[^>]+>", "1", page.get("path_template") or page["path"])))
    for rule in dash_app.server.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.add((method, path))
    return sorted(paths)


def test_every_page_and_route_is_refused_without_a_session(dash_app, url):
    client = dash_app.server.test_client()
    gated = _gated_paths(dash_app)
    assert ("GET", "/admin") in gated and ("POST", "/_dash-update-component") in gated
    assert ("GET", "/runs/1/spots.csv") in gated and ("GET", "/_dash-layout") in gated
    for method, path in gated:
        response = client.open(path, method=method, json={} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.json == {"error": "log in first"}
    page = client.get("/design?x=1", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Fdesign%3Fx%3D1"
    denied = list_events(url, outcome=DENIED, limit=len(gated) + 1)
    assert {e.target for e in denied} >= {f"{m} {p}" for m, p in gated}


def test_public_paths_stay_open_and_only_they(dash_app, url):
    client = dash_app.server.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/logout").status_code == 200
    assert client.get("/assets/bootstrap-5.3.6.min.css").status_code == 200
    assert client.get("/_favicon.ico").status_code == 200
    # a public prefix on a path that Dash's catch-all page route would serve
    assert client.get("/api/not-an-endpoint").status_code == 401
    assert client.get("/assets/../_dash-layout").status_code in (401, 404)


def test_every_server_callback_declares_a_permission(dash_app):
    declared = callback_permissions(dash_app)
    assert len(server_callbacks(dash_app)) >= 10
    assert sorted(set(server_callbacks(dash_app)) - set(declared)) == []


def test_a_viewer_cannot_run_any_callback_beyond_viewing(dash_app, url):
    viewer = logged_in_client(dash_app.server, url, name="vera", role="viewer")
    protected = {output: permission for output, permission in callback_permissions(dash_app)
                 .items() if not role_allows(Role.VIEWER, permission)}
    assert callback_output(dash_app, "pages.design", "launch") in protected
    assert callback_output(dash_app, "pages.run", "control") in protected
    assert callback_output(dash_app, "pages.admin", "change_account") in protected
    for output, permission in protected.items():
        response = viewer.post("/_dash-update-component", json=callback_body(dash_app, output))
        assert response.status_code == 403, output
        assert response.json["error"] == (f"callback: vera is viewer; this needs "
                                           f"{role_needed(permission)} or above")
        event = list_events(url, outcome=DENIED, limit=1)[0]
        assert (event.actor, event.action, event.target) == ("vera", "callback", output)
        assert event.detail["permission"] == str(permission)


def role_needed(permission) -> str:
    from core.auth.roles import MINIMUM_ROLE

    return str(MINIMUM_ROLE[permission])


def test_a_viewer_runs_read_only_callbacks(dash_app, url):
    viewer = logged_in_client(dash_app.server, url, name="vera", role="viewer")
    output = callback_output(dash_app, "pages.experiments", "update_runs")
    response = viewer.post("/_dash-update-component", json=callback_body(dash_app, output))
    assert response.status_code == 200 and "experiments-table" in response.json["response"]


def test_a_callback_without_a_declared_permission_is_refused_for_everyone(dash_app, url):
    admin = logged_in_client(dash_app.server, url, name="root", role="admin")
    body = {"output": "nowhere.children", "outputs": {"id": "nowhere", "property": "children"},
            "inputs": [], "state": []}
    response = admin.post("/_dash-update-component", json=body)
    assert response.status_code == 403 and "declares no permission" in response.json["error"]
    event = list_events(url, outcome=DENIED, limit=1)[0]
    assert event.target == "nowhere.children" and event.actor == "root"


def test_cross_origin_and_non_json_posts_are_refused(dash_app, url):
    operator = logged_in_client(dash_app.server, url, name="olga", role="operator")
    body = callback_body(dash_app, callback_output(dash_app, "pages.experiments", "update_runs"))
    evil = operator.post("/_dash-update-component", json=body,
                         headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-origin" in evil.json["error"]
    assert list_events(url, outcome=DENIED, limit=1)[0].detail == {
        "reason": "cross-origin", "origin": "https://evil.example"}
    del operator.environ_base["HTTP_ORIGIN"]
    assert operator.post("/_dash-update-component", json=body).status_code == 403
    referred = operator.post("/_dash-update-component", json=body,
                             headers={"Referer": "http://localhost/design"})
    assert referred.status_code == 200
    form = operator.post("/_dash-update-component", data={"output": body["output"]},
                         headers={"Origin": "http://localhost"})
    assert form.status_code == 415 and "must be application/json" in form.json["error"]
    refused = list_events(url, outcome=DENIED, limit=1)[0]
    assert (refused.actor, refused.action, refused.target) == (
        "olga", "request", "POST /_dash-update-component")
    assert refused.detail == {"reason": "not JSON",
                              "content_type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("body", [["a", "list"], {"outputs": "no output key"}, {"output": 3}])
def test_a_malformed_callback_body_is_refused_and_audited(dash_app, url, body):
    operator = logged_in_client(dash_app.server, url, name="olga", role="operator")
    response = operator.post("/_dash-update-component", json=body)
    assert response.status_code == 400
    assert response.json == {"error": "callback request without an 'output' in its JSON body"}
    refused = list_events(url, outcome=DENIED, limit=1)[0]
    assert (refused.actor, refused.target, refused.detail) == (
        "olga", "POST /_dash-update-component", {"reason": "malformed callback body"})


def test_the_sixth_failed_login_is_throttled_even_with_the_right_password(dash_app, url):
    ensure_user(url, "tess", "operator")
    client = dash_app.server.test_client()
    for _ in range(5):
        wrong = _log_in(client, "tess", "wrong-password")
        assert wrong.status_code == 401 and b"wrong user name or password" in wrong.data
    throttled = _log_in(client, "tess", TEST_PASSWORD)
    assert throttled.status_code == 429 and b"too many failed logins" in throttled.data
    assert 840 < int(throttled.headers["Retry-After"]) <= 900
    assert COOKIE_NAME not in throttled.headers.get("Set-Cookie", "")


def test_the_session_cookie_is_http_only_and_same_site(dash_app, url):
    ensure_user(url, "cora", "viewer")
    client = dash_app.server.test_client()
    cookie = _session_cookie(_log_in(client, "cora", TEST_PASSWORD))
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http://localhost by default
    dash_app.server.config["MENISCUS_SECURE_COOKIES"] = True
    try:
        cookie = _session_cookie(_log_in(dash_app.server.test_client(), "cora", TEST_PASSWORD))
    finally:
        dash_app.server.config["MENISCUS_SECURE_COOKIES"] = False
    assert cookie["secure"]


def test_revoked_and_expired_sessions_are_refused(dash_app, url):
    user_id = ensure_user(url, "rex", "viewer")
    client = dash_app.server.test_client()
    token = create_session(url, user_id, "127.0.0.1")
    client.set_cookie(COOKIE_NAME, token, domain="localhost")
    assert client.get("/_dash-layout").status_code == 200
    revoke_session(url, token)
    assert client.get("/_dash-layout").status_code == 401
    token = create_session(url, user_id, "127.0.0.1")
    with session_scope(url) as session:
        session.execute(update(UserSession).where(UserSession.token_sha256 == token_sha256(token))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    client.set_cookie(COOKIE_NAME, token, domain="localhost")
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(("target", "location"), [
    ("//evil.example/", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/"),
    ("evil.example", "/"), ("javascript:alert(1)", "/"), ("/design\r\nX-Evil: 1", "/"),
    ("/results/3?metric=e_nuc_V", "/results/3?metric=e_nuc_V"),
])
def test_next_never_leaves_the_site(dash_app, url, target, location):
    ensure_user(url, "nina", "viewer")
    response = _log_in(dash_app.server.test_client(), "nina", TEST_PASSWORD, next_path=target)
    assert response.status_code == 303 and response.headers["Location"] == location


def test_security_headers_and_body_size_limit(dash_app, url):
    operator = logged_in_client(dash_app.server, url, name="olga", role="operator")
    page = operator.get("/login")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    limit = dash_app.server.config["MAX_CONTENT_LENGTH"]
    assert limit == 64_000_000  # MENISCUS_MAX_UPLOAD_MB's default
    dash_app.server.config["MAX_CONTENT_LENGTH"] = 1_000_000
    try:
        big = operator.post("/_dash-update-component", data="x" * 1_500_000,
                            content_type="application/json")
    finally:
        dash_app.server.config["MAX_CONTENT_LENGTH"] = limit
    assert big.status_code == 413
    assert big.json["error"] == ("request body of 1.5 MB is over the 1 MB limit "
                                 "(MENISCUS_MAX_UPLOAD_MB)")


def _log_in(client, name: str, password: str, *, next_path: str = "/"):
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/login", data={"csrf_token": csrf, "name": name, "password": password,
                                       "next": next_path})


def _session_cookie(response) -> dict:
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie(header)
        if COOKIE_NAME in cookie:
            morsel = cookie[COOKIE_NAME]
            return {"httponly": bool(morsel["httponly"]), "secure": bool(morsel["secure"]),
                    "samesite": morsel["samesite"], "path": morsel["path"]}
    raise AssertionError(f"no {COOKIE_NAME} cookie in {response.headers.getlist('Set-Cookie')}")


def test_a_pattern_matching_callback_gets_the_ids_the_renderer_sends(dash_app, url):
    from components.review_flags import FLAG_ADD, FLAG_NOTE_ID
    from core.review.flags import spot_flags
    from pages._spot_review import SPOT_STORE, VERSION_STORE
    from tests.core.review.review_run import build_review_run

    spot_id = build_review_run(url).spot_ids[0]
    other = {"type": FLAG_ADD, "kind": "other"}
    off_centre = {"type": FLAG_ADD, "kind": "off_centre"}
    body = callback_body(
        dash_app, callback_output(dash_app, "pages._spot_review", "add_flag"),
        [(off_centre, "n_clicks", None), (other, "n_clicks", 1),
         (FLAG_NOTE_ID, "value", "halo around the spot"),
         (SPOT_STORE, "data", {"spot_id": spot_id}), (VERSION_STORE, "data", 3)],
        triggered=(other, "n_clicks"))
    assert body["inputs"] == [[{"id": off_centre, "property": "n_clicks", "value": None},
                               {"id": other, "property": "n_clicks", "value": 1}]]
    assert body["changedPropIds"] == ['{"kind":"other","type":"review-flag-add"}.n_clicks']
    operator = logged_in_client(dash_app.server, url, name="olga", role="operator")
    response = operator.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data
    assert response.json["response"][VERSION_STORE] == {"data": 4}
    assert [(flag.kind, flag.note, flag.author) for flag in spot_flags(url, spot_id)] == [
        ("other", "halo around the spot", "olga")]


def test_callback_refusals_carry_what_the_session_expiry_script_reads(dash_app, url):
    script = (Path(__file__).resolve().parents[1] / "assets" / "session_expiry.js").read_text()
    assert f'"{CALLBACK_PATH}"' in script and "body.error" in script
    assert 'LOGIN_PATH + "?next="' in script and '"/login"' in script
    anonymous = dash_app.server.test_client()
    body = callback_body(dash_app, callback_output(dash_app, "pages.experiments", "update_runs"))
    expired = anonymous.post(CALLBACK_PATH, json=body, headers={"Origin": "http://localhost"})
    assert expired.status_code == 401 and expired.mimetype == "application/json"
    assert expired.json == {"error": "log in first"}
    viewer = logged_in_client(dash_app.server, url, name="vera", role="viewer")
    refused = viewer.post(CALLBACK_PATH, json=callback_body(
        dash_app, callback_output(dash_app, "pages.design", "launch")))
    assert refused.status_code == 403 and refused.mimetype == "application/json"
    assert refused.json == {"error": "callback: vera is viewer; this needs operator or above"}
    page = viewer.get("/design", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "/assets/session_expiry.js" in page  # Dash serves every asset with each page


def test_match_patterns_take_the_triggering_components_values(dash_app):
    from components import analysis_panel as panel

    def ids(type_, **keys):
        return [{"type": type_, "kind": kind, **keys} for kind in ("galvanostatic", "irm")]

    button = {"type": panel.RUN_BUTTON, "kind": "irm"}
    body = callback_body(
        dash_app, callback_output(dash_app, "pages.spot", "rerun_analysis"),
        [*[(i, "n_clicks", None) for i in ids(panel.RUN_BUTTON)],
         *[(i, "value", 0.5) for i in ids(panel.PARAM, name="threshold")],
         *[(i, "value", "spot") for i in ids(panel.SCOPE)],
         *[(i, "children", None) for i in ids(panel.FEEDBACK)],
         *[(i, "data", None) for i in ids(panel.PENDING)]],
        triggered=(button, "n_clicks"))
    assert body["outputs"] == [{"id": {"type": panel.FEEDBACK, "kind": "irm"},
                                "property": "children"},
                               {"id": {"type": panel.PENDING, "kind": "irm"},
                                "property": "data"}]
    assert body["inputs"] == [{"id": button, "property": "n_clicks", "value": None}]
    parameter = {"type": panel.PARAM, "kind": "irm", "name": "threshold"}
    assert body["state"][:3] == [[{"id": parameter, "property": "value", "value": 0.5}],
                                 [{"id": parameter, "property": "id", "value": None}],
                                 {"id": {"type": panel.SCOPE, "kind": "irm"},
                                  "property": "value", "value": "spot"}]
