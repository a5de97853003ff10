"""The login gate of the web app: sessions, the login page, origin checks and callback roles.

    register_auth(server, settings, dash_app=app)     # in app.create_app, after the pages

Every request passes :func:`gate` first. Public: ``/login``, ``/logout``, ``/assets/...``,
``/_favicon.ico`` and ``/api/...`` (the JSON API checks its bearer tokens itself). Everything
else needs the ``meniscus_session`` cookie of a live session: a browser asking for a page is
sent to ``/login?next=...`` (302), anything else gets 401 JSON; both are audited. The gate puts
the user on ``flask.g.meniscus_actor`` (:func:`pages._access.current_actor`).

Behind a reverse proxy, ``MENISCUS_TRUSTED_PROXIES`` (the number of proxies) makes the client
address, scheme and host those the proxies forward (:func:`trust_proxies`); per-address login
throttling would otherwise count every user as the proxy.

Dash has no CSRF token of its own, so a state-changing request carrying the session cookie
must come from the app's own origin (``Origin``, else ``Referer``), and a callback request must
be JSON (a cross-site HTML form can send neither). Callbacks are deny-by-default: the gate
looks up the permission each callback declared with ``@requires`` (by its output, as Dash
does) and refuses a callback that declared none, before Dash runs it.

The login and logout forms are plain Flask pages, not Dash pages: Dash pages need
``/_dash-layout`` and ``/_dash-update-component``, which are behind the gate. Those forms
carry a CSRF token kept in Flask's signed session cookie.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from dash._callback import GLOBAL_CALLBACK_MAP
from flask import (
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template_string,
    request,
    session,
)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from core.auth.audit import ALLOWED, DENIED, record_event
from core.auth.guard import NotAuthenticated, PermissionDenied, authorize
from core.auth.roles import Actor, Permission
from core.auth.sessions import COOKIE_NAME, create_session, resolve_session, revoke_session
from core.auth.users import LoginFailed, LoginThrottled, authenticate, create_first_admin
from core.settings import Settings
from pages._access import PERMISSION_ATTRIBUTE
from pages._context import database_url

#: paths anyone may open (exact), and path prefixes that are public or authenticate themselves
PUBLIC_PATHS = frozenset({"/login", "/logout", "/_favicon.ico"})
PUBLIC_PREFIXES = ("/assets/", "/api/")
#: methods that may change something: they need a same-origin request
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Dash's endpoint that runs server-side callbacks
CALLBACK_PATH = "/_dash-update-component"
#: the output of Dash's own page router (renders page layouts: read-only)
DASH_ROUTER_OUTPUT = "_pages_content.children"
#: file in the data folder holding the generated Flask secret key
SECRET_KEY_FILE = "secret_key"
#: file in the data folder holding the first-run admin's password
FIRST_ADMIN_FILE = "first-run-admin.txt"
#: the Flask (signed) session cookie: only the CSRF token of the login and logout forms
FORM_COOKIE_NAME = "meniscus_form"

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def register_auth(server: Flask, settings: Settings, *, dash_app=None) -> None:
    """Put ``server`` behind the login gate, add ``/login`` and ``/logout``, and create the
    first admin when there are no accounts yet. ``dash_app`` gives the callbacks' permissions
    (without it every callback request is refused)."""
    data_dir = Path(settings.data_dir).resolve()
    server.secret_key = settings.secret_key or _stored_secret_key(data_dir / SECRET_KEY_FILE)
    server.config.update(
        MAX_CONTENT_LENGTH=int(settings.max_upload_mb * 1_000_000),
        MENISCUS_SESSION_HOURS=settings.session_hours,
        MENISCUS_SECURE_COOKIES=settings.secure_cookies,
        SESSION_COOKIE_NAME=FORM_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    server.extensions["meniscus_dash_app"] = dash_app
    trust_proxies(server, settings.trusted_proxies)
    server.before_request(gate)
    server.after_request(_add_security_headers)
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout, methods=["GET", "POST"])
    server.register_error_handler(NotAuthenticated, _refused_401)
    server.register_error_handler(PermissionDenied, _refused_403)
    server.register_error_handler(RequestEntityTooLarge, _too_large)
    _announce_first_admin(settings.resolved_database_url, data_dir)


def trust_proxies(server: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (``MENISCUS_TRUSTED_PROXIES``), take the client's
    address, scheme and host from the last ``hops`` entries of ``X-Forwarded-For``,
    ``-Proto`` and ``-Host``: login throttling, the audit log and the same-origin check then
    see the browser, not the proxy. With 0 those headers are ignored (anyone can send them)."""
    if hops > 0:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


# --- the gate ------------------------------------------------------------------------------


def gate() -> Response | None:
    """Run before every request: let it through (None) or answer it with a refusal."""
    if _is_public():
        return None
    path = request.path
    url = database_url()
    actor = resolve_session(url, request.cookies.get(COOKIE_NAME), ip=_client_ip(),
                            lifetime_h=current_app.config["MENISCUS_SESSION_HOURS"])
    g.meniscus_actor = actor
    if actor is None:
        if _wants_page():
            _audit_refusal(url, None, reason="not logged in")
            return redirect("/login?" + urlencode({"next": safe_next(request.full_path)}))
        return _audited_refusal(url, None, 401, "log in first", reason="not logged in")
    if request.method in STATE_CHANGING and not _same_origin():
        return _audited_refusal(
            url, actor, 403, f"cross-origin request refused: the Origin header must be "
                             f"{_own_origin()}",
            reason="cross-origin", origin=_request_origin() or "")
    if path == CALLBACK_PATH:
        return _check_callback(url, actor)
    return None


def _is_public() -> bool:
    """A public path, whose route is a public one too (``/api/x`` served by Dash's catch-all
    page route is not public)."""
    if request.path in PUBLIC_PATHS:
        return True
    rule = request.url_rule.rule if request.url_rule is not None else ""
    return request.path.startswith(PUBLIC_PREFIXES) and rule.startswith(PUBLIC_PREFIXES)


def _check_callback(url: str, actor: Actor) -> Response | None:
    """Refuse a callback request that is not JSON, or whose callback the actor may not run."""
    if request.mimetype != "application/json":
        return _audited_refusal(
            url, actor, 415, f"callback requests must be application/json, "
                             f"not {request.mimetype or 'no content type'!r}",
            reason="not JSON", content_type=request.mimetype or "")
    body = request.get_json(silent=True)
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, str):
        return _audited_refusal(url, actor, 400, "callback request without an 'output' in its "
                                                 "JSON body", reason="malformed callback body")
    permission = callback_permission(current_app.extensions["meniscus_dash_app"], output)
    if permission is None:
        record_event(url, actor, "callback", DENIED, target=output,
                     detail={"reason": "the callback declares no permission"})
        raise PermissionDenied(f"callback {output}: declares no permission, so nobody may "
                               "run it")
    authorize(url, actor, permission, action="callback", target=output)
    return None


def callback_permission(dash_app, output: str) -> Permission | None:
    """The permission the server-side callback of ``output`` (the key in Dash's callback map
    and a callback request's ``output``) declared with ``@requires``; None for an unknown
    output, a clientside callback, or one that declared none. Dash's own page router is VIEW.
    """
    if dash_app is None:
        return None
    # Dash moves callbacks registered by modules into the app's map at its first request
    spec = dash_app.callback_map.get(output) or GLOBAL_CALLBACK_MAP.get(output) or {}
    function = spec.get("callback")
    if function is None:
        return None
    permission = declared_permission(function)
    if permission is None and _is_dash_router(output, function):
        return Permission.VIEW
    return permission


def callback_permissions(dash_app) -> dict[str, Permission]:
    """Output key → declared permission of every server-side callback that declared one."""
    if dash_app is None:
        return {}
    table = {output: callback_permission(dash_app, output)
             for output in server_callbacks(dash_app)}
    return {output: permission for output, permission in table.items() if permission}


def server_callbacks(dash_app) -> dict[str, object]:
    """Output key → function of every server-side callback of ``dash_app`` (including those
    registered but not yet taken in by the app, which Dash does at its first request)."""
    return {output: spec["callback"]
            for output, spec in {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}.items()
            if spec.get("callback") is not None}


def declared_permission(function) -> Permission | None:
    """The permission ``@requires`` put on ``function`` or on a function it wraps (Dash's
    ``functools.wraps`` copies the attribute; ``__wrapped__`` is followed for other wrappers)."""
    while function is not None:
        permission = getattr(function, PERMISSION_ATTRIBUTE, None)
        if permission is not None:
            return Permission(permission)
        function = getattr(function, "__wrapped__", None)
    return None


def _is_dash_router(output: str, function) -> bool:
    return DASH_ROUTER_OUTPUT in output and function.__module__ == "dash.dash"


# --- login and logout ----------------------------------------------------------------------


def login() -> Response | str:
    """GET: the login form. POST: check it, start a session and go to ``next``."""
    next_path = safe_next(request.values.get("next"))
    url = database_url()
    if request.method == "GET":
        if _current_session_actor(url) is not None:
            return redirect(next_path)
        return _login_page(next_path)
    if not _csrf_ok():
        return _login_page(next_path, "The form expired; please log in again.", 400)
    try:
        actor = authenticate(url, request.form.get("name", ""), request.form.get("password", ""),
                             _client_ip())
    except LoginThrottled as error:
        page = _login_page(next_path, str(error), 429)
        page.headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
        return page
    except LoginFailed as error:
        return _login_page(next_path, str(error), 401)
    revoke_session(url, request.cookies.get(COOKIE_NAME))
    token = create_session(url, actor.user_id, _client_ip(),
                           lifetime_h=current_app.config["MENISCUS_SESSION_HOURS"])
    session["csrf"] = secrets.token_urlsafe(32)  # a new form token for the new login
    response = redirect(next_path, 303)
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="Lax", path="/",
                        secure=current_app.config["MENISCUS_SECURE_COOKIES"])
    return response


def logout() -> Response | str:
    """GET: a confirmation form. POST (with the form's CSRF token): end the session."""
    if request.method == "GET" or not _csrf_ok():
        return _page(_LOGOUT_BODY, "Log out", csrf_token=csrf_token())
    url = database_url()
    actor = _current_session_actor(url)
    if revoke_session(url, request.cookies.get(COOKIE_NAME)) and actor is not None:
        record_event(url, actor, "logout", ALLOWED, target=f"user {actor.name}")
    response = redirect("/login", 303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax",
                           secure=current_app.config["MENISCUS_SECURE_COOKIES"])
    return response


def csrf_token() -> str:
    """The CSRF token of this browser's login and logout forms (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (one leading '/'), else '/': no open redirect."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 0x20 or character == "\\" for character in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value.removesuffix("?") or "/"


def _csrf_ok() -> bool:
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(expected) and secrets.compare_digest(sent, expected)


def _current_session_actor(url: str):
    return resolve_session(url, request.cookies.get(COOKIE_NAME), ip=_client_ip(),
                           lifetime_h=current_app.config["MENISCUS_SESSION_HOURS"])


def _login_page(next_path: str, error: str = "", status: int = 200) -> Response:
    response = Response(_page(_LOGIN_BODY, "Log in", next_path=next_path, error=error,
                              csrf_token=csrf_token(), name=request.form.get("name", "")),
                        status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(body: str, title: str, **values) -> str:
    """A small page styled by the vendored Bootstrap (Jinja escapes every value)."""
    return render_template_string(_PAGE.replace("{{BODY}}", body), title=title, **values)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Meniscus</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/bootstrap-5.3.6.min.css">
<link rel="stylesheet" href="/assets/meniscus.css">
</head><body>
<nav class="navbar navbar-dark bg-dark mb-4"><div class="container-fluid">
<span class="navbar-brand"><span class="fw-semibold">Meniscus</span>
<small class="text-white-50 ms-2">SECCM · IRM screening</small></span></div></nav>
<main class="container" style="max-width: 26rem">{{BODY}}</main>
</body></html>"""

_LOGIN_BODY = """<div class="card shadow-sm"><div class="card-body">
<h1 class="h4 mb-3">Log in</h1>
{% if error %}<div class="alert alert-danger py-2" role="alert">{{ error }}</div>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="next" value="{{ next_path }}">
<div class="mb-3"><label class="form-label" for="name">User name</label>
<input class="form-control" id="name" name="name" value="{{ name }}" autocomplete="username"
 required autofocus></div>
<div class="mb-3"><label class="form-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password"
 autocomplete="current-password" required></div>
<button class="btn btn-primary w-100" id="login-submit" type="submit">Log in</button>
</form></div></div>"""

_LOGOUT_BODY = """<div class="card shadow-sm"><div class="card-body">
<h1 class="h4 mb-3">Log out?</h1>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button class="btn btn-primary" type="submit">Log out</button>
<a class="btn btn-link" href="/">Cancel</a>
</form></div></div>"""


# --- refusals and headers ------------------------------------------------------------------


def _refusal(status: int, message: str) -> Response:
    """JSON for callbacks and scripts, a small HTML page for a browser's page request."""
    if _wants_page():
        return Response(_page('<div class="alert alert-danger">{{ message }}</div>'
                              '<a href="/">Back to Meniscus</a>', "Refused", message=message),
                        status=status, mimetype="text/html")
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def _audit_refusal(url: str, actor: Actor | None, **detail: str) -> None:
    """Record this request as refused (outcome DENIED) with ``detail`` (``reason``...)."""
    record_event(url, actor, "request", DENIED, target=f"{request.method} {request.path}",
                 ip=_client_ip(), detail=detail)


def _audited_refusal(url: str, actor: Actor | None, status: int, message: str,
                     **detail: str) -> Response:
    """Audit the refusal of this request (see :func:`_audit_refusal`), then answer it."""
    _audit_refusal(url, actor, **detail)
    return _refusal(status, message)


def _refused_401(error: NotAuthenticated) -> Response:
    return _refusal(401, str(error))


def _refused_403(error: PermissionDenied) -> Response:
    return _refusal(403, str(error))


def _too_large(_error: RequestEntityTooLarge) -> Response:
    limit_mb = current_app.config["MAX_CONTENT_LENGTH"] / 1_000_000
    length_mb = (request.content_length or 0) / 1_000_000
    return _refusal(413, f"request body of {length_mb:.3g} MB is over the {limit_mb:g} MB "
                         "limit (MENISCUS_MAX_UPLOAD_MB)")


def _add_security_headers(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _wants_page() -> bool:
    """A browser navigating to a page (not a script, a callback or an image)."""
    accepted = [mimetype for mimetype, _quality in request.accept_mimetypes]
    return (request.method == "GET" and not request.path.startswith("/_")
            and "text/html" in accepted)


def _own_origin() -> str:
    return f"{request.scheme}://{request.host}"


def _request_origin() -> str | None:
    """The request's ``Origin``, else the scheme and host of its ``Referer``."""
    origin = request.headers.get("Origin")
    if origin:
        return origin
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _same_origin() -> bool:
    origin = _request_origin()
    return origin is not None and origin.lower() == _own_origin().lower()


def _client_ip() -> str:
    return request.remote_addr or ""


# --- secrets on disk -----------------------------------------------------------------------


def _stored_secret_key(path: Path) -> str:
    """The secret key kept in ``path`` (mode 0600), generated on first use."""
    if not path.exists():
        _write_private_once(path, secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def _announce_first_admin(url: str, data_dir: Path) -> None:
    """Create the first admin when there are no accounts; print and keep its password."""
    password = create_first_admin(url)
    if password is None:
        return
    path = data_dir / FIRST_ADMIN_FILE
    _write_private_once(path, f"user: admin\npassword: {password}\n", replace=True)
    print(f"Meniscus: created user 'admin' with password {password} (also in {path}); "
          "log in and add accounts on the Admin page, then delete that file.", flush=True)


def _write_private_once(path: Path, text: str, *, replace: bool = False) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600), atomically: a temporary
    file is linked into place, so a reader never sees half a file. Without ``replace``, an
    existing file (another process won the race) is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
    finally:
        temporary.unlink(missing_ok=True)
