"""The frame and CSV routes through Flask's test client (no Dash app needed), behind the
login gate as a viewer."""

import io

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from app_auth import register_auth
from app_routes import register_routes
from core.settings import Settings
from core.storage.db import upgrade_database
from tests.auth_helpers import logged_in_client
from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture
def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    run = build_small_run(url, tmp_path / "data", simulate_spot_data())
    server = Flask(__name__)
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(run.data_dir))
    register_routes(server)
    register_auth(server, Settings(data_dir=tmp_path, database_url=url))
    return logged_in_client(server, url, name="vera", role="viewer"), run


def test_the_routes_need_a_login(client):
    test_client, run = client
    anonymous = test_client.application.test_client()
    assert anonymous.get(f"/frames/{run.spot_ids[(0, 0)]}/7.png").status_code == 401
    assert anonymous.get(f"/runs/{run.run_id}/spots.csv").status_code == 401


@pytest.mark.parametrize("view", ["raw", "bg", "processed"])
def test_a_frame_is_a_png_of_the_movie_frame(client, view):
    test_client, run = client
    response = test_client.get(f"/frames/{run.spot_ids[(0, 0)]}/7.png?view={view}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.data)))
    assert image.shape == (100, 100) and image.dtype == np.uint8
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert response.headers["ETag"].endswith(f'-7-{view}"')


def test_a_cached_frame_is_not_sent_again(client):
    test_client, run = client
    url = f"/frames/{run.spot_ids[(0, 0)]}/3.png"
    etag = test_client.get(url).headers["ETag"]
    again = test_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_frames_that_do_not_exist(client):
    test_client, run = client
    spot = run.spot_ids[(0, 0)]
    assert test_client.get(f"/frames/{spot}/500.png").status_code == 404
    assert b"spot 6 has no measurement" in test_client.get("/frames/6/0.png").data
    assert test_client.get(f"/frames/{run.spot_ids[(2, 0)]}/0.png").status_code == 404  # CV
    bad = test_client.get(f"/frames/{spot}/0.png?view=false-colour")
    assert bad.status_code == 400 and b"view &#39;false-colour&#39; is not one of" in bad.data


def test_spot_table_downloads_as_csv(client):
    test_client, run = client
    response = test_client.get(f"/runs/{run.run_id}/spots.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="run_{run.run_id}_spots.csv"')
    assert len(response.data.decode().splitlines()) == 10
    assert test_client.get("/runs/404/spots.csv").status_code == 404
