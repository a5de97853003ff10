"""The JSON API through the real app and Flask's test client, authenticated by API tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api_openapi import OPENAPI
from core.auth.audit import DENIED, list_events
from core.auth.tokens import create_token, list_tokens, revoke_token
from core.settings import Settings
from core.storage.db import session_scope, upgrade_database
from core.storage.ledger import Ledger
from core.storage.models import Run
from tests.auth_helpers import ensure_user
from tests.core.results.small_run import build_small_run, simulate_spot_data

#: a 1 × 2 grid of long spots: it cannot end before the test aborts it
TINY_GRID = {
    "name": "api tiny", "origin": {"x_um": 10.0, "y_um": 10.0}, "rows": 1, "cols": 2,
    "pitch_um": 20.0, "pipette_diameter_um": 10.0, "retract_um": 8.0,
    "approach_speed_um_s": 2.0, "move_speed_um_s": 2.0, "retract_speed_um_s": 2.0,
    "conditions": [{"technique": "galvanostatic", "current_density_mA_cm2": 0.78,
                    "duration_s": 60.0, "repeats": 2}],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from app import create_app

    return create_app(Settings(data_dir=tmp_path_factory.mktemp("api-app"))).server


@pytest.fixture(scope="module")
def spot_data():
    return simulate_spot_data()


@pytest.fixture
def small_run(server, tmp_path, spot_data):
    """The small run (tests/core/results/small_run.py) in the app's database."""
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    run = build_small_run(url, tmp_path / "data", spot_data)
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(run.data_dir))
    return run


@pytest.fixture
def empty_app(server, tmp_path):
    """An empty database and data folder for the app (nothing holds the instrument)."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_database(url)
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(tmp_path / "data"))
    return url


def _bearer(url: str, name: str, role: str) -> dict:
    ensure_user(url, name, role)
    return {"Authorization": f"Bearer {create_token(url, name, label='test')}"}


def test_a_viewer_lists_runs_and_reads_a_run_and_its_spots(server, small_run):
    client, url = server.test_client(), small_run.url
    headers = _bearer(url, "vera", "viewer")
    listed = client.get("/api/v1/runs", headers=headers)
    assert listed.status_code == 200
    runs = listed.json["runs"]
    assert [run["name"] for run in runs] == ["Small screen", "CE screen"]
    assert runs[0]["by_state"] == {"done": 7, "no_contact": 1, "pending": 1}
    assert runs[0]["url"] == f"/api/v1/runs/{small_run.run_id}"
    only = client.get("/api/v1/runs?state=aborted&limit=5", headers=headers).json
    assert [run["id"] for run in only["runs"]] == [small_run.other_run_id]
    assert (only["limit"], only["offset"]) == (5, 0)
    second = client.get("/api/v1/runs?limit=1&offset=1", headers=headers).json["runs"]
    assert [run["name"] for run in second] == ["CE screen"]

    detail = client.get(f"/api/v1/runs/{small_run.run_id}", headers=headers).json
    assert (detail["state"], detail["operator"], detail["grid"]["name"]) == (
        "active", "ana", "small")
    assert (detail["progress"]["total"], detail["progress"]["finished"]) == (9, 8)

    table = client.get(f"/api/v1/runs/{small_run.run_id}/spots", headers=headers).json
    assert len(table["spots"]) == 9 and table["columns"][0] == "spot_id"
    assert set(table["columns"]) == set(table["spots"][0])
    schema = OPENAPI["components"]["schemas"]["SpotRow"]["properties"]
    assert set(schema) == set(table["columns"])  # the document names every column
    first = table["spots"][0]
    assert (first["row"], first["col"], first["e_nuc_V"]) == (0, 0, -0.130)
    excluded = [(s["row"], s["col"]) for s in table["spots"] if s["excluded"]]
    assert excluded == [(1, 2)]


@pytest.mark.parametrize("query", ["state=lost", "limit=0", "limit=501", "offset=-1",
                                   "limit=ten"])
def test_bad_list_filters_are_refused_with_the_value(server, small_run, query):
    response = server.test_client().get(f"/api/v1/runs?{query}",
                                        headers=_bearer(small_run.url, "vera", "viewer"))
    assert response.status_code == 400 and response.json["error"] == "bad request"
    assert query.split("=")[1] in response.json["detail"]


def test_unknown_runs_are_404_in_json(server, small_run):
    client = server.test_client()
    headers = _bearer(small_run.url, "olga", "operator")
    for method, path in (("get", "/api/v1/runs/404"), ("get", "/api/v1/runs/404/spots"),
                         ("post", "/api/v1/runs/404/abort")):
        response = getattr(client, method)(path, headers=headers, json={})
        assert response.status_code == 404, path
        assert response.json == {"error": "not found", "detail": "run 404 does not exist"}


def test_requests_without_a_valid_token_are_401_and_audited(server, small_run):
    client, url = server.test_client(), small_run.url
    headers = _bearer(url, "vera", "viewer")
    revoked = _bearer(url, "vera", "viewer")
    revoke_token(url, list_tokens(url, "vera")[-1].id)
    for sent in ({}, {"Authorization": "Basic dmVyYTpw"}, {"Authorization": "Bearer "},
                 {"Authorization": "Bearer mnc_forged"}, revoked):
        response = client.get("/api/v1/runs", headers=sent)
        assert response.status_code == 401, sent
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(response.json) == {"error", "detail"}
    assert client.get("/api/v1/openapi.json").status_code == 401
    denied = list_events(url, outcome=DENIED)
    assert len(denied) == 6
    assert {event.action for event in denied} == {"api GET /api/v1/runs",
                                                  "api GET /api/v1/openapi.json"}
    assert client.get("/api/v1/runs", headers=headers).status_code == 200


def test_a_session_cookie_is_not_accepted_by_the_api(server, small_run):
    from tests.auth_helpers import logged_in_client

    client = logged_in_client(server, small_run.url, name="olga", role="operator")
    assert client.get("/api/v1/runs").status_code == 401
    assert client.post("/api/v1/runs", json={"grid": TINY_GRID}).status_code == 401


def test_a_viewer_cannot_launch_or_abort_and_the_refusal_is_audited(server, small_run):
    client, url = server.test_client(), small_run.url
    headers = _bearer(url, "vera", "viewer")
    launched = client.post("/api/v1/runs", headers=headers, json={"grid": TINY_GRID})
    assert launched.status_code == 403 and launched.json["error"] == "forbidden"
    assert "vera is viewer; this needs operator" in launched.json["detail"]
    aborted = client.post(f"/api/v1/runs/{small_run.run_id}/abort", headers=headers,
                          json={"now": True})
    assert aborted.status_code == 403
    refusals = [(e.actor, e.action) for e in list_events(url, outcome=DENIED)]
    assert refusals == [("vera", "abort_now"), ("vera", "launch")]
    assert Ledger(url).run_summary(small_run.run_id)["state"] == "active"
    with session_scope(url) as session:
        assert session.scalar(select(Run.abort_request).where(
            Run.id == small_run.run_id)) is None


def test_an_operator_launches_a_grid_on_the_sim_and_aborts_it(server, empty_app, monkeypatch):
    import workers.submit

    started = []
    # the worker process is not started: the wake-up message waits in the file broker
    monkeypatch.setattr(workers.submit, "_ensure_embedded",
                        lambda settings, instruments: started.append(instruments))
    client = server.test_client()
    headers = _bearer(empty_app, "olga", "operator")
    response = client.post("/api/v1/runs", headers=headers,
                           json={"grid": TINY_GRID, "instrument": "sim", "speed": 5.0,
                                 "name": "from a script"})
    assert response.status_code == 201, response.json
    run_id = response.json["run_id"]
    assert response.json["spot_count"] == 2 and response.headers["Location"].endswith(
        f"/api/v1/runs/{run_id}")
    assert started == [("sim",)]
    summary = Ledger(empty_app).run_summary(run_id)
    assert (summary["name"], summary["operator"], summary["state"], summary["speed"]) == (
        "from a script", "olga", "queued", 5.0)
    assert summary["grid"]["name"] == "api tiny"

    busy = client.post("/api/v1/runs", headers=headers, json={"grid": TINY_GRID})
    assert busy.status_code == 409 and busy.json["error"] == "instrument busy"

    aborted = client.post(f"/api/v1/runs/{run_id}/abort", headers=headers, json={"now": True})
    assert aborted.status_code == 200 and aborted.json == {"run_id": run_id, "state": "aborted"}
    again = client.post(f"/api/v1/runs/{run_id}/abort", headers=headers)
    assert again.status_code == 409 and "already ended" in again.json["detail"]
    activity = [(e.actor, e.action) for e in list_events(empty_app, run_id=run_id)]
    assert activity == [("olga", "abort_now"), ("olga", "launch")]


def test_launch_requests_that_cannot_be_run(server, empty_app):
    client = server.test_client()
    headers = _bearer(empty_app, "olga", "operator")
    not_json = client.post("/api/v1/runs", headers=headers, data="grid: {}",
                           content_type="application/x-yaml")
    assert not_json.status_code == 415
    assert "application/x-yaml" in not_json.json["detail"]
    form = client.post("/api/v1/runs", headers=headers, data={"grid": "x"})
    assert form.status_code == 415
    bad_grid = client.post("/api/v1/runs", headers=headers,
                           json={"grid": {**TINY_GRID, "rows": 0, "pitch_um": 1.0}})
    assert bad_grid.status_code == 422 and bad_grid.json["error"] == "invalid grid"
    assert "rows is 0; it must be greater than 0" in bad_grid.json["problems"]
    for body, expected in (([1, 2], "not a JSON object"), ({"grid": TINY_GRID, "x": 1},
                                                            "unknown key(s) x"),
                           ({}, "needs a 'grid'"), ({"grid": TINY_GRID, "speed": 0},
                                                    "speed 0 is not a number above 0")):
        refused = client.post("/api/v1/runs", headers=headers, json=body)
        assert refused.status_code == 400 and expected in refused.json["detail"], body
    unknown = client.post("/api/v1/runs", headers=headers,
                          json={"grid": TINY_GRID, "instrument": "rig-9"})
    assert unknown.status_code == 422 and "'rig-9' is not registered" in unknown.json["detail"]
    with session_scope(empty_app) as session:
        assert session.scalar(select(Run.id)) is None


def _documented(server) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every API route in the app's URL map."""
    found = set()
    for rule in server.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            found |= {(method.lower(), path) for method in rule.methods
                      if method not in ("HEAD", "OPTIONS")}
    return found


def test_the_openapi_document_describes_exactly_the_api_routes(server, small_run):
    served = server.test_client().get("/api/v1/openapi.json",
                                      headers=_bearer(small_run.url, "vera", "viewer")).json
    assert served == OPENAPI and served["openapi"].startswith("3.1")
    documented = {(method, path) for path, item in OPENAPI["paths"].items()
                  for method in item}
    assert documented == _documented(server)
    assert OPENAPI["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    schemas = OPENAPI["components"]["schemas"]
    references = re.findall(r"#/components/schemas/(\w+)", str(OPENAPI))
    assert set(references) <= set(schemas)
