"""The login gate on a bare Flask app (the Dash side: tests/test_security.py)."""

from __future__ import annotations

import re
import stat

import pytest
from flask import Flask, g, request

from app_auth import FIRST_ADMIN_FILE, SECRET_KEY_FILE, register_auth, safe_next
from core.auth.audit import ALLOWED, DENIED, list_events
from core.auth.sessions import COOKIE_NAME, resolve_session
from core.auth.users import authenticate, list_users
from core.settings import Settings
from core.storage.db import upgrade_database
from tests.auth_helpers import TEST_PASSWORD, ensure_user, logged_in_client


@pytest.fixture
def server(tmp_path):
    return _server(tmp_path)


def _server(tmp_path, trusted_proxies: int = 0) -> Flask:
    """A Flask app with private routes ``/whoami`` and ``/whence`` (the client's address,
    scheme and host as the app sees them), behind the gate."""
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    server = Flask(__name__)
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(tmp_path))
    server.add_url_rule("/whoami", "whoami", lambda: g.meniscus_actor.name,
                        methods=["GET", "POST"])
    server.add_url_rule("/whence", "whence", lambda: {
        "ip": request.remote_addr, "scheme": request.scheme, "host": request.host})
    register_auth(server, Settings(data_dir=tmp_path, database_url=url,
                                   trusted_proxies=trusted_proxies))
    return server


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_first_start_creates_one_admin_and_prints_the_password_once(tmp_path, capsys):
    url = _server(tmp_path).config["MENISCUS_DATABASE_URL"]
    path = tmp_path / FIRST_ADMIN_FILE
    password = path.read_text().split("password: ")[1].strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"created user 'admin' with password {password}" in capsys.readouterr().out
    assert authenticate(url, "admin", password, "127.0.0.1").role == "admin"
    register_auth(Flask("again"), Settings(data_dir=tmp_path, database_url=url))
    assert capsys.readouterr().out == "" and [a.name for a in list_users(url)] == ["admin"]


def test_the_secret_key_is_generated_once_and_kept_private(server, tmp_path):
    key_file = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert server.secret_key == key_file.read_text().strip() and len(server.secret_key) == 64
    again = Flask("again")
    register_auth(again, Settings(data_dir=tmp_path, database_url="sqlite:///" +
                                  str(tmp_path / "meniscus.db")))
    assert again.secret_key == server.secret_key
    given = Flask("given")
    register_auth(given, Settings(data_dir=tmp_path, secret_key="from-the-environment",
                                  database_url="sqlite:///" + str(tmp_path / "meniscus.db")))
    assert given.secret_key == "from-the-environment"


def test_log_in_open_the_page_and_log_out(server):
    url = server.config["MENISCUS_DATABASE_URL"]
    ensure_user(url, "ana", "operator")
    client = server.test_client()
    refused = client.get("/whoami", headers={"Accept": "text/html"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/login?next=%2Fwhoami"
    form = client.get("/login?next=/whoami")
    assert form.headers["Cache-Control"] == "no-store"
    assert 'name="next" value="/whoami"' in form.get_data(as_text=True)
    logged_in = client.post("/login", data={"csrf_token": _csrf(form.get_data(as_text=True)),
                                            "name": "ana", "password": TEST_PASSWORD,
                                            "next": "/whoami"})
    assert logged_in.status_code == 303 and logged_in.headers["Location"] == "/whoami"
    assert client.get("/whoami").get_data(as_text=True) == "ana"
    assert client.get("/login").headers["Location"] == "/"  # logged in already
    token = client.get_cookie(COOKIE_NAME).value
    confirm = client.get("/logout").get_data(as_text=True)
    assert "Log out?" in confirm
    logged_out = client.post("/logout", data={"csrf_token": _csrf(confirm)})
    assert logged_out.status_code == 303 and logged_out.headers["Location"] == "/login"
    assert client.get_cookie(COOKIE_NAME) is None
    assert resolve_session(url, token) is None
    assert client.get("/whoami").status_code == 401
    assert [(e.action, e.outcome) for e in list_events(url, limit=3)][1:] == [
        ("logout", ALLOWED), ("login", ALLOWED)]


def test_a_login_without_the_form_token_is_refused(server):
    ensure_user(server.config["MENISCUS_DATABASE_URL"], "ana", "operator")
    client = server.test_client()
    response = client.post("/login", data={"name": "ana", "password": TEST_PASSWORD})
    assert response.status_code == 400 and b"The form expired" in response.data
    assert client.get_cookie(COOKIE_NAME) is None


def test_a_logout_without_the_form_token_only_asks(server):
    url = server.config["MENISCUS_DATABASE_URL"]
    client = logged_in_client(server, url, name="bo", role="viewer")
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 200 and b"Log out?" in response.data
    assert client.get("/whoami").get_data(as_text=True) == "bo"


def test_a_wrong_password_shows_the_form_again_with_the_message(server):
    ensure_user(server.config["MENISCUS_DATABASE_URL"], "cy", "viewer")
    client = server.test_client()
    form = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": _csrf(form), "name": "cy",
                                           "password": "not-it-at-all"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "wrong user name or password" in page
    assert 'value="cy"' in page  # the name is kept, never the password


def test_refusals_are_pages_for_browsers_and_json_otherwise(server):
    client = logged_in_client(server, server.config["MENISCUS_DATABASE_URL"])
    script = client.post("/whoami", json={}, headers={"Origin": "http://elsewhere"})
    assert script.status_code == 403 and script.mimetype == "application/json"
    anonymous = server.test_client()
    assert anonymous.get("/whoami").json == {"error": "log in first"}
    assert anonymous.get("/_dash-layout", headers={"Accept": "text/html"}).status_code == 401


@pytest.mark.parametrize(("value", "expected"), [
    (None, "/"), ("", "/"), ("/", "/"), ("/design", "/design"), ("/run/3?x=1", "/run/3?x=1"),
    ("/?", "/"), ("//evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example", "/"),
    ("design", "/"), ("/a\\b", "/"), ("/a\nb", "/"),
])
def test_safe_next_keeps_only_paths_of_this_site(value, expected):
    assert safe_next(value) == expected


#: what a reverse proxy in front of the app adds to each request it forwards
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "meniscus.example"}
#: the proxy's own address: the connection's peer as the app sees it
PROXY_ADDRESS = {"REMOTE_ADDR": "10.0.0.2"}


def test_forwarded_headers_are_ignored_without_trusted_proxies(server):
    url = server.config["MENISCUS_DATABASE_URL"]
    anonymous = server.test_client().get("/whence", headers=FORWARDED,
                                         environ_base=PROXY_ADDRESS)
    assert anonymous.status_code == 401
    assert list_events(url, outcome=DENIED, limit=1)[0].ip == "10.0.0.2"
    client = logged_in_client(server, url)
    assert client.get("/whence", headers=FORWARDED, environ_base=PROXY_ADDRESS).json == {
        "ip": "10.0.0.2", "scheme": "http", "host": "localhost"}


def test_forwarded_headers_are_honoured_behind_trusted_proxies(tmp_path):
    server = _server(tmp_path, trusted_proxies=1)
    url = server.config["MENISCUS_DATABASE_URL"]
    anonymous = server.test_client().get("/whence", headers=FORWARDED,
                                         environ_base=PROXY_ADDRESS)
    assert anonymous.status_code == 401
    assert list_events(url, outcome=DENIED, limit=1)[0].ip == "203.0.113.7"
    client = logged_in_client(server, url)
    assert client.get("/whence", headers=FORWARDED, environ_base=PROXY_ADDRESS).json == {
        "ip": "203.0.113.7", "scheme": "https", "host": "meniscus.example"}
    # the browser's origin is the proxy's public one: same-origin posts pass, others do not
    public = client.post("/whoami", json={}, environ_base=PROXY_ADDRESS,
                         headers={**FORWARDED, "Origin": "https://meniscus.example"})
    assert public.status_code == 200
    internal = client.post("/whoami", json={}, environ_base=PROXY_ADDRESS,
                           headers={**FORWARDED, "Origin": "http://localhost"})
    assert internal.status_code == 403


def test_only_the_last_trusted_hops_of_x_forwarded_for_count(tmp_path):
    server = _server(tmp_path, trusted_proxies=1)
    client = logged_in_client(server, server.config["MENISCUS_DATABASE_URL"])
    spoofed = {**FORWARDED, "X-Forwarded-For": "198.51.100.66, 203.0.113.7"}
    assert client.get("/whence", headers=spoofed).json["ip"] == "203.0.113.7"
