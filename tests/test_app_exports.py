"""The bundle and report downloads through the real app, behind the login gate."""

from __future__ import annotations

import io

import h5py
import pytest

from core.settings import Settings
from core.storage.db import upgrade_database
from tests.auth_helpers import logged_in_client
from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from app import create_app

    return create_app(Settings(data_dir=tmp_path_factory.mktemp("exports-app"))).server


@pytest.fixture
def small_run(server, tmp_path):
    url = f"sqlite:///{tmp_path / 'meniscus.db'}"
    upgrade_database(url)
    run = build_small_run(url, tmp_path / "data", simulate_spot_data())
    server.config.update(MENISCUS_DATABASE_URL=url, MENISCUS_DATA_DIR=str(run.data_dir))
    return run


@pytest.fixture
def viewer(server, small_run):
    return logged_in_client(server, small_run.url, name="vera", role="viewer")


def test_the_bundle_downloads_as_hdf5_and_leaves_no_file_behind(viewer, small_run):
    response = viewer.get(f"/runs/{small_run.run_id}/bundle.h5")
    assert response.status_code == 200 and response.mimetype == "application/x-hdf5"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="run_{small_run.run_id}_bundle.h5"')
    assert int(response.headers["Content-Length"]) == len(response.data)
    with h5py.File(io.BytesIO(response.data), "r") as bundle:
        assert bundle.attrs["run_name"] == "Small screen"
        assert len(bundle["spots/spot_id"]) == 9
        assert "movie" in bundle["spot_00000"]
    exports = small_run.data_dir / "exports"
    assert exports.is_dir() and list(exports.iterdir()) == []

    without = viewer.get(f"/runs/{small_run.run_id}/bundle.h5?movies=0")
    with h5py.File(io.BytesIO(without.data), "r") as bundle:
        assert "trace" in bundle["spot_00000"] and "movie" not in bundle["spot_00000"]
    assert len(without.data) < len(response.data)
    bad = viewer.get(f"/runs/{small_run.run_id}/bundle.h5?movies=yes")
    assert bad.status_code == 400 and b"movies=&#39;yes&#39;" in bad.data


def test_the_report_is_one_html_page_of_the_run(viewer, small_run):
    response = viewer.get(f"/runs/{small_run.run_id}/report.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="run_{small_run.run_id}_report.html"')
    text = response.data.decode()
    assert text.startswith("<!DOCTYPE html>") and "<h1>Small screen" in text
    assert 'data-figure="heatmap-e_nuc_V"' in text and "1 excluded" in text
    assert "<script src" not in text and "<link" not in text  # nothing fetched when opened


@pytest.mark.parametrize("path", ["bundle.h5", "report.html"])
def test_exports_are_by_run_id_only(viewer, server, small_run, path):
    assert viewer.get(f"/runs/404/{path}").status_code == 404
    for not_an_id in ("..%2F..%2Fetc", "-1", "1.0", "%2Fetc%2Fpasswd"):
        # no export route matches: the Dash page shell answers, with no file in it
        response = viewer.get(f"/runs/{not_an_id}/{path}")
        assert "Content-Disposition" not in response.headers, not_an_id
        assert response.mimetype == "text/html" and b"<h1>" not in response.data
    anonymous = server.test_client().get(f"/runs/{small_run.run_id}/{path}",
                                         headers={"Accept": "application/json"})
    assert anonymous.status_code == 401
