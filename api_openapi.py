"""The OpenAPI 3.1 description of the JSON API (``app_api``), served at /api/v1/openapi.json.

Kept beside the code it describes; tests/test_app_api.py checks that every route of the API
blueprint is documented here and that nothing documented is missing from it.
"""

from __future__ import annotations

import core
from core.results.metrics import METRICS
from core.results.spot_table import SPOT_COLUMNS
from core.storage.states import RunState

#: most runs one page of ``GET /runs`` returns
MAX_PAGE = 500
#: runs per page when ``limit`` is not given
DEFAULT_PAGE = 100


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


_NULLABLE_NUMBER = {"type": ["number", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_RUN_ID = {"name": "run_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1}, "description": "the run's id"}
_UNAUTHORISED = _error("no, unknown or revoked token (sent with WWW-Authenticate: Bearer)")
_FORBIDDEN = _error("the token's user lacks the role (operator or above)")
_UNKNOWN_RUN = _error("no run with that id")
_NOT_JSON = _error("the request body is not ``application/json``")

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "description": "short kind, e.g. 'forbidden'"},
            "detail": {"type": "string", "description": "what was wrong, naming the value"},
            "problems": {"type": "array", "items": {"type": "string"},
                         "description": "every grid problem found (422 on POST /runs)"},
        },
    },
    "Run": {
        "type": "object",
        "required": ["id", "name", "instrument", "operator", "state", "total", "finished",
                     "by_state", "created_at"],
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "instrument": {"type": "string"}, "operator": {"type": "string"},
            "state": {"type": "string", "enum": [state.value for state in RunState]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "string"}, "error": {"type": ["string", "null"]},
            "total": {"type": "integer", "description": "spots in the run"},
            "finished": {"type": "integer",
                         "description": "spots accounted for (done, no contact, failed...)"},
            "by_state": {"type": "object", "additionalProperties": {"type": "integer"},
                         "description": "spot count per spot state"},
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _TIME, "finished_at": _TIME,
            "url": {"type": "string", "description": "this run in the API"},
        },
    },
    "RunList": {
        "type": "object", "required": ["runs", "limit", "offset"],
        "properties": {"runs": {"type": "array", "items": _ref("Run")},
                       "limit": {"type": "integer"}, "offset": {"type": "integer"}},
    },
    "Progress": {
        "type": ["object", "null"],
        "description": "null once the run has ended",
        "properties": {
            "state": {"type": "string"}, "total": {"type": "integer"},
            "finished": {"type": "integer"},
            "current_order": {"type": ["integer", "null"],
                              "description": "visiting order of the spot being measured"},
            "elapsed_s": _NULLABLE_NUMBER, "eta_s": _NULLABLE_NUMBER,
        },
    },
    "RunDetail": {
        "allOf": [_ref("Run"), {"type": "object", "properties": {
            "progress": _ref("Progress"),
            "grid": {"type": "object", "description": "the grid as submitted"},
            "speed": {"type": "number", "description": "simulation speed-up (1 = real time)"},
        }}],
    },
    "SpotRow": {
        "type": "object",
        "description": "one spot: ledger columns, the latest value of every metric (null "
                       "where missing) and its review (exclusion, flags)",
        "properties": {
            **{column: {} for column in SPOT_COLUMNS},
            **{key: {**_NULLABLE_NUMBER, "description": metric.axis_title}
               for key, metric in METRICS.items()},
            "excluded": {"type": "boolean"},
            "exclusion_reason": {"type": "string", "description": "why ('' when kept)"},
            "flags": {"type": "string",
                      "description": "the spot's active flag kinds, sorted, joined by ';'"},
        },
    },
    "SpotTable": {
        "type": "object", "required": ["run_id", "columns", "spots"],
        "properties": {"run_id": {"type": "integer"},
                       "columns": {"type": "array", "items": {"type": "string"}},
                       "spots": {"type": "array", "items": _ref("SpotRow")}},
    },
    "Launch": {
        "type": "object", "required": ["grid"], "additionalProperties": False,
        "properties": {
            "grid": {"type": "object",
                     "description": "a grid as in examples/*.yaml (name, rows, cols, pitch_um, "
                                    "conditions, ...)"},
            "instrument": {"type": "string", "default": "sim"},
            "speed": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                      "description": "speed-up of the simulated instrument (1 on hardware)"},
            "name": {"type": ["string", "null"],
                     "description": "run name (default: the grid's name)"},
        },
    },
    "Submitted": {
        "type": "object", "required": ["run_id", "spot_count", "estimate_s", "url"],
        "properties": {"run_id": {"type": "integer"}, "spot_count": {"type": "integer"},
                       "estimate_s": {"type": "number",
                                      "description": "planned duration at speed 1, s"},
                       "url": {"type": "string"}},
    },
    "Abort": {
        "type": "object", "additionalProperties": False,
        "properties": {"now": {"type": "boolean", "default": False,
                               "description": "stop within 0.1 s instead of after the "
                                              "current spot"}},
    },
    "Aborted": {
        "type": "object", "required": ["run_id", "state"],
        "properties": {"run_id": {"type": "integer"},
                       "state": {"type": "string",
                                 "description": "the run's state right after the request "
                                                "(an active run stops when its engine looks)"}},
    },
}

PATHS = {
    "/api/v1/runs": {
        "get": {
            "operationId": "listRuns", "summary": "Runs, newest first",
            "parameters": [
                {"name": "state", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": [state.value for state in RunState]}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                            "default": DEFAULT_PAGE}},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": _json(_ref("RunList"), "a page of runs"),
                          "400": _error("a bad state, limit or offset"),
                          "401": _UNAUTHORISED},
        },
        "post": {
            "operationId": "launchRun", "summary": "Submit a grid (operator or above)",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("Launch")}}},
            "responses": {"201": _json(_ref("Submitted"), "the run is queued"),
                          "400": _error("the body is not a JSON object of the Launch keys"),
                          "401": _UNAUTHORISED, "403": _FORBIDDEN,
                          "409": _error("the instrument is running another run"),
                          "415": _NOT_JSON,
                          "422": _error("the grid, instrument or speed cannot be run"),
                          "503": _error("no worker could be told; the run was withdrawn")},
        },
    },
    "/api/v1/runs/{run_id}": {
        "get": {
            "operationId": "getRun", "summary": "One run with its progress",
            "parameters": [_RUN_ID],
            "responses": {"200": _json(_ref("RunDetail"), "the run"),
                          "401": _UNAUTHORISED, "404": _UNKNOWN_RUN},
        },
    },
    "/api/v1/runs/{run_id}/spots": {
        "get": {
            "operationId": "getRunSpots",
            "summary": "Every spot of a run with its metrics (the spot table)",
            "parameters": [_RUN_ID],
            "responses": {"200": _json(_ref("SpotTable"), "one row per spot, visiting order"),
                          "401": _UNAUTHORISED, "404": _UNKNOWN_RUN},
        },
    },
    "/api/v1/runs/{run_id}/abort": {
        "post": {
            "operationId": "abortRun", "summary": "Abort a run (operator or above)",
            "parameters": [_RUN_ID],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": _ref("Abort")}}},
            "responses": {"200": _json(_ref("Aborted"), "the abort is recorded"),
                          "400": _error("the body is not a JSON object of the Abort keys"),
                          "401": _UNAUTHORISED, "403": _FORBIDDEN, "404": _UNKNOWN_RUN,
                          "409": _error("the run has already ended"), "415": _NOT_JSON},
        },
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi", "summary": "This document",
            "responses": {"200": {"description": "the OpenAPI 3.1 document",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}},
                          "401": _UNAUTHORISED},
        },
    },
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Meniscus API", "version": core.__version__,
        "description": "Runs, their spot tables, launching grids and aborting runs, for "
                       "scripts. Authenticate with a per-user token "
                       "(`python -m core users token NAME`) sent as "
                       "`Authorization: Bearer mnc_...`; the token acts with its user's role.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerToken": []}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearerToken": {
            "type": "http", "scheme": "bearer", "bearerFormat": "mnc_ token",
            "description": "a per-user API token"}},
    },
}
