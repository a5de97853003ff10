"""The JSON API for scripts, under /api/v1, authenticated by per-user tokens only.

    GET  /api/v1/runs?state=&limit=&offset=    runs, newest first
    GET  /api/v1/runs/<run_id>                  one run with its progress
    GET  /api/v1/runs/<run_id>/spots            its spot table (one row per spot)
    POST /api/v1/runs                           submit a grid         (operator or above)
    POST /api/v1/runs/<run_id>/abort            abort a run           (operator or above)
    GET  /api/v1/openapi.json                   the OpenAPI 3.1 document (api_openapi.py)

Every request carries ``Authorization: Bearer mnc_...`` (:mod:`core.auth.tokens`); cookies
are never looked at, so the browser's session cannot be ridden by another site and no CSRF
check is needed. A missing or bad token is answered 401 with ``WWW-Authenticate`` and audited.
Role checks are those of the web pages: the services (:mod:`workers.guarded`) authorize the
token's actor and audit the outcome. Errors are JSON ``{"error": ..., "detail": ...}``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from api_openapi import DEFAULT_PAGE, MAX_PAGE, OPENAPI
from core.auth.audit import DENIED, record_event
from core.auth.guard import NotAuthenticated, PermissionDenied, authorize
from core.auth.roles import Actor, Permission
from core.auth.tokens import resolve_token
from core.grid import GridError, grid_from_mapping
from core.results.metrics import METRICS
from core.results.runs import RunFilter, RunRow, list_runs, live_progress, run_header
from core.results.spot_table import REVIEW_COLUMNS, SPOT_COLUMNS, spot_table
from core.storage.ledger import InstrumentBusy, Ledger, UnknownRun
from core.storage.states import RunState
from pages._context import database_url, submit_settings
from workers import guarded
from workers.instrument_config import DEFAULT_INSTRUMENT, InstrumentConfigError
from workers.submit import DispatchError, RunStateError

PREFIX = "/api/v1"
#: keys a launch request may carry
LAUNCH_KEYS = frozenset({"grid", "instrument", "speed", "name"})

#: service errors → (HTTP status, short error kind)
ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    NotAuthenticated: (401, "unauthorized"),
    PermissionDenied: (403, "forbidden"),
    UnknownRun: (404, "not found"),
    InstrumentBusy: (409, "instrument busy"),
    RunStateError: (409, "conflict"),
    GridError: (422, "invalid grid"),
    InstrumentConfigError: (422, "invalid instrument or speed"),
    DispatchError: (503, "no worker"),
}


class BadRequest(Exception):
    """A request the API refuses before any service sees it: (status, error kind, detail)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def create_api_blueprint() -> Blueprint:
    """The API's routes, token check and JSON error handlers, as a fresh blueprint."""
    api = Blueprint("api", __name__, url_prefix=PREFIX)
    api.before_request(_authenticate)
    api.add_url_rule("/runs", "list_runs", _list_runs, methods=["GET"])
    api.add_url_rule("/runs", "launch", _launch, methods=["POST"])
    api.add_url_rule("/runs/<int:run_id>", "run", _run, methods=["GET"])
    api.add_url_rule("/runs/<int:run_id>/spots", "spots", _spots, methods=["GET"])
    api.add_url_rule("/runs/<int:run_id>/abort", "abort", _abort, methods=["POST"])
    api.add_url_rule("/openapi.json", "openapi", _openapi, methods=["GET"])
    api.register_error_handler(BadRequest, lambda e: _error(e.status, e.error, e.detail))
    for kind in ERROR_STATUS:
        api.register_error_handler(kind, _service_error)
    api.register_error_handler(HTTPException, _http_error)
    return api


def register_api(server: Flask) -> None:
    """Add the JSON API to ``server`` (its database and data folder come from its config)."""
    server.register_blueprint(create_api_blueprint())


# --- authentication ---------------------------------------------------------------------------
def _authenticate() -> None:
    """Turn the bearer token into ``g.meniscus_actor``; refuse (401, audited) without one."""
    url = database_url()
    ip = request.remote_addr or ""
    action = f"api {request.method} {request.path}"[:64]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        reason = "no bearer token"
        actor = None
    else:
        actor = resolve_token(url, token.strip(), ip=ip)
        reason = "unknown, revoked or malformed token"
    if actor is None:
        record_event(url, None, action, DENIED, target=request.path, ip=ip,
                     detail={"reason": reason})
        raise BadRequest(401, "unauthorized", f"{reason}: send Authorization: Bearer <token>")
    authorize(url, actor, Permission.VIEW, action=action, target=request.path, ip=ip)
    g.meniscus_actor = actor


def _actor() -> Actor:
    return g.meniscus_actor


# --- reading ----------------------------------------------------------------------------------
def _list_runs() -> Response:
    state = request.args.get("state") or None
    states = {item.value for item in RunState}
    if state is not None and state not in states:
        raise BadRequest(400, "bad request",
                         f"state {state!r} is not one of {', '.join(sorted(states))}")
    limit = _int_argument("limit", DEFAULT_PAGE, 1, MAX_PAGE)
    offset = _int_argument("offset", 0, 0, None)
    runs = list_runs(database_url(),
                     RunFilter(states=(state,) if state else (), limit=offset + limit))
    return jsonify({"runs": [_run_json(run) for run in runs[offset:]], "limit": limit,
                    "offset": offset})


def _run(run_id: int) -> Response:
    url = database_url()
    run = run_header(url, run_id)
    summary = Ledger(url).run_summary(run_id)
    progress = live_progress(url, [run_id]).get(run_id) if run.is_live else None
    return jsonify({**_run_json(run), "progress": progress, "grid": summary["grid"],
                    "speed": summary["speed"]})


def _spots(run_id: int) -> Response:
    rows = spot_table(database_url(), run_id)
    return jsonify({"run_id": run_id, "columns": [*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS],
                    "spots": rows})


def _openapi() -> Response:
    return jsonify(OPENAPI)


# --- changing ---------------------------------------------------------------------------------
def _launch() -> tuple[Response, int, dict]:
    # role first: a viewer is refused (and audited) whatever the body holds
    authorize(database_url(), _actor(), Permission.LAUNCH, action="launch", target=request.path)
    body = _json_body(LAUNCH_KEYS)
    if "grid" not in body:
        raise BadRequest(400, "bad request", "the body needs a 'grid' mapping")
    grid = grid_from_mapping(body["grid"], source="grid")
    instrument = body.get("instrument", DEFAULT_INSTRUMENT)
    speed = body.get("speed", 1.0)
    name = body.get("name")
    if not isinstance(instrument, str):
        raise BadRequest(400, "bad request", f"instrument {instrument!r} is not a name")
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0:
        raise BadRequest(400, "bad request", f"speed {speed!r} is not a number above 0")
    if name is not None and not isinstance(name, str):
        raise BadRequest(400, "bad request", f"name {name!r} is not text")
    submission = guarded.launch(_actor(), grid, settings=submit_settings(), instrument=instrument,
                                speed=float(speed), name=name)
    location = f"{PREFIX}/runs/{submission.run_id}"
    return (jsonify({"run_id": submission.run_id, "spot_count": submission.spot_count,
                     "estimate_s": submission.estimate_s, "url": location}),
            201, {"Location": location})


def _abort(run_id: int) -> Response:
    body = _json_body(frozenset({"now"}), optional=True)
    now = body.get("now", False)
    if not isinstance(now, bool):
        raise BadRequest(400, "bad request", f"now {now!r} is not true or false")
    state = guarded.control(_actor(), run_id, "abort_now" if now else "abort_after",
                            settings=submit_settings())
    return jsonify({"run_id": run_id, "state": state})


# --- helpers ----------------------------------------------------------------------------------
def _json_body(allowed: frozenset[str], *, optional: bool = False) -> dict:
    """The request's JSON object; 415 when it is not JSON, 400 for other keys or shapes."""
    if optional and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise BadRequest(415, "unsupported media type",
                         f"send Content-Type: application/json, not "
                         f"{request.content_type or 'nothing'}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(400, "bad request", "the body is not a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(400, "bad request", f"unknown key(s) {', '.join(unknown)}; allowed: "
                                             f"{', '.join(sorted(allowed))}")
    return body


def _int_argument(name: str, default: int, low: int, high: int | None) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadRequest(400, "bad request", f"{name}={text!r}: expected a whole number {bound}")
    return value


def _run_json(run: RunRow) -> dict:
    return {
        "id": run.id, "name": run.name, "instrument": run.instrument, "operator": run.operator,
        "state": run.state, "tags": list(run.tags), "notes": run.notes, "error": run.error,
        "total": run.total, "finished": run.finished, "by_state": run.by_state,
        "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at), "url": f"{PREFIX}/runs/{run.id}",
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _error(status: int, error: str, detail: str, **extra) -> tuple[Response, int, dict]:
    headers = {"WWW-Authenticate": 'Bearer realm="meniscus"'} if status == 401 else {}
    return jsonify({"error": error, "detail": detail, **extra}), status, headers


def _service_error(error: Exception) -> tuple[Response, int, dict]:
    status, kind = next(found for cls, found in ERROR_STATUS.items() if isinstance(error, cls))
    extra = {"problems": error.problems} if isinstance(error, GridError) else {}
    return _error(status, kind, str(error), **extra)


def _http_error(error: HTTPException) -> tuple[Response, int, dict]:
    return _error(error.code or 500, (error.name or "error").lower(),
                  error.description or "")
