"""The app factory (the whole app in a browser: tests/e2e)."""

import importlib

import app as app_module
from core.settings import Settings
from core.storage.db import session_scope
from core.storage.models import Instrument
from tests.auth_helpers import logged_in_client


def test_create_app_migrates_the_database_and_serves_pages_and_routes(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    dash_app = app_module.create_app(Settings(data_dir=data_dir))
    config = dash_app.server.config
    assert config["MENISCUS_DATABASE_URL"] == f"sqlite:///{(data_dir / 'meniscus.db').resolve()}"
    with session_scope(config["MENISCUS_DATABASE_URL"]) as session:
        assert session.query(Instrument).count() == 0  # schema there, nothing seeded
    rules = {rule.rule for rule in dash_app.server.url_map.iter_rules()}
    assert {"/frames/<int:spot_id>/<int:index>.png", "/runs/<int:run_id>/spots.csv"} <= rules
    anonymous = dash_app.server.test_client()
    assert anonymous.get("/", headers={"Accept": "text/html"}).headers["Location"] == (
        "/login?next=%2F")
    assert anonymous.get("/assets/bootstrap-5.3.6.min.css").status_code == 200
    assert (data_dir / "first-run-admin.txt").exists()  # no accounts yet: one admin made
    client = logged_in_client(dash_app.server, config["MENISCUS_DATABASE_URL"], name="ana")
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").json
    assert '"Meniscus"' in str(layout).replace("'", '"')
    assert "/design" in str(layout) and "/run" in str(layout)
    assert "ana" in str(layout) and "Log out" in str(layout) and "/admin" not in str(layout)
    admin = logged_in_client(dash_app.server, config["MENISCUS_DATABASE_URL"], name="root",
                             role="admin")
    assert "/admin" in str(admin.get("/_dash-layout").json)


def test_server_is_built_on_first_use_not_on_import(tmp_path, monkeypatch):
    monkeypatch.setenv("MENISCUS_DATA_DIR", str(tmp_path / "lazy"))
    module = importlib.reload(app_module)
    assert "app" not in module._built and not (tmp_path / "lazy").exists()
    server = module.server
    assert server is module.app.server
    assert (tmp_path / "lazy" / "meniscus.db").exists()
