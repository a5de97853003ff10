"""The SEM image route: a display-sized 8-bit PNG of an imported image, cached by checksum."""

from __future__ import annotations

import io

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from app_routes import register_routes
from core.results.sem_import import import_sem_file
from core.storage.db import upgrade_database
from tests.core.results.sem_files import simulated_footprint, tiff_bytes
from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture
def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    run = build_small_run(url, tmp_path / "data", simulate_spot_data())
    image_id = import_sem_file(url, run.data_dir, run_id=run.run_id,
                               spot_id=run.spot_ids[(0, 0)], name="r0c0.tif",
                               data=tiff_bytes(tmp_path), max_bytes=10**7).image_id
    server = Flask(__name__)
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(run.data_dir))
    register_routes(server)
    return server.test_client(), run, image_id


def test_an_imported_image_is_served_as_a_display_png(client):
    test_client, _run, image_id = client
    response = test_client.get(f"/sem/{image_id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    shown = np.asarray(Image.open(io.BytesIO(response.data)))
    assert shown.shape == simulated_footprint().image.shape and shown.dtype == np.uint8
    assert shown.min() == 0 and shown.max() == 255
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    again = test_client.get(f"/sem/{image_id}.png",
                            headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_unknown_or_unreadable_images_are_not_found(client):
    test_client, run, image_id = client
    missing = test_client.get("/sem/999.png")
    assert missing.status_code == 404 and b"SEM image 999 does not exist" in missing.data
    path = next((run.data_dir / "uploads" / "sem").glob("*.tif"))
    path.write_bytes(b"II*\x00" + bytes(16))
    broken = test_client.get(f"/sem/{image_id}.png")
    assert broken.status_code == 404 and b"cannot be shown" in broken.data
