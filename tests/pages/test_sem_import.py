"""SEM import page: dropped files checked and placed, imported by operators, followed."""

from __future__ import annotations

import base64
import importlib

import dash_bootstrap_components as dbc
import pytest
from dash import dcc
from flask import g
from sqlalchemy import select

from core.auth.audit import ALLOWED, DENIED, FAILED, list_events
from core.auth.guard import PermissionDenied
from core.auth.roles import Actor, Role
from core.results.record import record_analysis
from core.storage.db import session_scope
from core.storage.models import SemImage
from tests.components.tree import find, find_one, text
from tests.core.results.sem_files import png_bytes, tiff_bytes

VIEWER = Actor("vera", Role.VIEWER)


def _data_url(data: bytes, kind: str = "image/tiff") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


@pytest.fixture
def queued(monkeypatch):
    """Analyses queued by the import, recorded instead of sent to workers."""
    calls = []

    def queue_analysis(run_id, **options):
        calls.append({"run_id": run_id, **options})
        return options["spot_ids"]

    monkeypatch.setattr("workers.guarded.submit.queue_analysis", queue_analysis)
    return calls


def test_the_page_offers_a_drop_zone_to_operators_only(page, small_run, monkeypatch):
    monkeypatch.setenv("MENISCUS_MAX_UPLOAD_MB", "64")
    layout = page("sem_import").layout(run_id=str(small_run.run_id))
    upload = find_one(layout, id="sem-upload")
    assert upload.multiple and not upload.disabled and upload.accept.startswith(".tif,.tiff")
    assert "Small screen" in text(layout) and "SEM import" in text(layout)
    assert "one request of at most 64 MB: about 48 MB of images per drop" in text(layout)
    g.meniscus_actor = VIEWER
    layout = page("sem_import").layout(run_id=str(small_run.run_id))
    assert find_one(layout, id="sem-upload").disabled
    assert "Importing needs the operator role" in text(layout)
    assert "not a run id" in text(page("sem_import").layout(run_id="x"))


def test_dropped_files_are_checked_and_placed_by_their_names(page, small_run, tmp_path):
    files = [("r1c0.tif", _data_url(tiff_bytes(tmp_path))),
             ("footprint.png", _data_url(png_bytes(), "image/png")),
             ("r1c1.tif", _data_url(tiff_bytes(tmp_path))),
             ("run.exe", _data_url(b"MZ\x90\x00"))]
    table, disabled = page("sem_import").show_files(
        [content for _, content in files], [name for name, _ in files], small_run.run_id)

    assert disabled is False
    spots = [d.value for d in find(table) if isinstance(d, dcc.Dropdown)]
    assert spots == [small_run.spot_ids[(1, 0)], None, None, None]
    pixels = [i for i in find(table) if isinstance(i, dbc.Input)]
    assert pixels[0].placeholder == "9.766 (from file)" and not pixels[0].invalid
    assert pixels[1].placeholder == "needed" and pixels[1].invalid
    words = text(table)
    assert "no grid index in the name: pick the spot" in words
    assert "row 1, col 1 was never measured (state no contact)" in words
    assert "extension '.exe' is not accepted" in words
    assert pixels[3].disabled


def test_analyse_imports_queues_and_audits_each_file(page, small_run, tmp_path, queued):
    names = ["r1c0.tif", "footprint.png", "nothing.tif"]
    contents = [_data_url(tiff_bytes(tmp_path)), _data_url(png_bytes(), "image/png"),
                _data_url(b"II*\x00" + bytes(40))]
    spot = small_run.spot_ids[(0, 2)]
    results, outcomes, poll_disabled, button_disabled = page("sem_import").analyse(
        1, contents, names, [None, spot, spot], [None, 9.8, None], small_run.run_id)

    assert poll_disabled is False and button_disabled is True
    assert [(o["name"], o["error"] is None) for o in outcomes] == [
        ("r1c0.tif", True), ("footprint.png", True), ("nothing.tif", False)]
    assert [call["spot_ids"] for call in queued] == [[small_run.spot_ids[(1, 0)]], [spot]]
    assert queued[1]["kind"] == "sem" and queued[1]["parameters"] == {
        "sem_image_id": outcomes[1]["image_id"], "pixel_size_nm": 9.8}
    words = text(results)
    assert words.count("queued") == 2 and "refused" in words and "nothing.tif" in words
    links = {link.href for link in find(results) if isinstance(link, dcc.Link)}
    assert links == {f"/spot/{small_run.spot_ids[(1, 0)]}", f"/spot/{spot}"}
    with session_scope(small_run.url) as session:
        assert len(session.scalars(select(SemImage)).all()) == 2
    allowed = list_events(small_run.url, outcome=ALLOWED)
    assert {(e.action, e.run_id, e.spot_id) for e in allowed if e.action == "import_sem"} == {
        ("import_sem", small_run.run_id, small_run.spot_ids[(1, 0)]),
        ("import_sem", small_run.run_id, spot)}
    [failed] = list_events(small_run.url, outcome=FAILED)
    assert failed.target == "nothing.tif"


def test_the_results_follow_the_analyses_until_all_have_ended(page, small_run, tmp_path,
                                                              queued):
    sem_import = page("sem_import")
    _, outcomes, _, _ = sem_import.analyse(1, [_data_url(tiff_bytes(tmp_path))], ["r1c0.tif"],
                                        [None], [None], small_run.run_id)
    table, finished = sem_import.follow(1, outcomes)
    assert not finished and "queued" in text(table)
    record_analysis(small_run.url, small_run.spot_ids[(1, 0)], "sem",
                    parameters={"sem_image_id": outcomes[0]["image_id"]},
                    results={"count": 87, "density_per_cm2": 1.23e9, "mean_diameter_nm": 61.4})
    table, finished = sem_import.follow(2, outcomes)
    assert finished and "done 87 1.23e+09 61.4" in text(table)


def test_a_viewer_cannot_import_by_calling_the_callbacks(page, small_run, tmp_path, queued):
    g.meniscus_actor = VIEWER
    with pytest.raises(PermissionDenied):
        page("sem_import").analyse(1, [_data_url(tiff_bytes(tmp_path))], ["r1c0.tif"],
                                   [None], [None], small_run.run_id)
    with pytest.raises(PermissionDenied):
        page("sem_import").show_files([_data_url(tiff_bytes(tmp_path))], ["r1c0.tif"],
                                      small_run.run_id)
    assert queued == []
    assert {event.actor for event in list_events(small_run.url, outcome=DENIED)} == {"vera"}
    with session_scope(small_run.url) as session:
        assert session.scalars(select(SemImage)).all() == []


def test_an_oversized_file_is_refused_before_it_is_decoded(page, small_run, tmp_path,
                                                           monkeypatch, queued):
    monkeypatch.setenv("MENISCUS_MAX_UPLOAD_MB", "0.001")
    table, disabled = page("sem_import").show_files(
        [_data_url(tiff_bytes(tmp_path))], ["r1c0.tif"], small_run.run_id)
    assert disabled and "over the upload limit of 0.001 MB per file" in text(table)
    results, outcomes, _, _ = page("sem_import").analyse(
        1, [_data_url(tiff_bytes(tmp_path))], ["r1c0.tif"], [None], [None], small_run.run_id)
    assert "over the upload limit" in outcomes[0]["error"] and queued == []
    assert "refused" in text(results) and "over the upload limit" in text(results)


def test_a_viewers_direct_post_to_the_import_callback_is_refused(dash_app, small_run,
                                                                  tmp_path, queued):
    from tests.auth_helpers import callback_body, callback_output, logged_in_client

    viewer = logged_in_client(dash_app.server, small_run.url, name="vera", role="viewer")
    viewer.get("/login")  # Dash moves its callbacks in on the first request
    page = importlib.import_module("pages.sem_import")
    body = callback_body(dash_app, callback_output(dash_app, "pages.sem_import", "analyse"), [
        (page.ANALYSE_ID, "n_clicks", 1),
        (page.UPLOAD_ID, "contents", [_data_url(tiff_bytes(tmp_path))]),
        (page.UPLOAD_ID, "filename", ["../../r1c0.tif"]),
        ({"type": page.SPOT_PICKER, "index": 0}, "value", None),
        ({"type": page.PIXEL_INPUT, "index": 0}, "value", None),
        (page.RUN_ID, "data", small_run.run_id)])
    response = viewer.post("/_dash-update-component", json=body)

    assert response.status_code == 403
    assert response.json["error"] == "callback: vera is viewer; this needs operator or above"
    assert queued == [] and not (small_run.data_dir / "uploads").exists()
