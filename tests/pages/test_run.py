import re

import dash
import pytest
from flask import g
from sqlalchemy import select

from components.run_live import CONTROLS, controls_disabled, format_duration, progress_numbers
from core.auth.roles import Actor, Role
from core.storage.db import session_scope
from core.storage.models import Run
from tests.components.tree import find, find_one, text


@pytest.fixture
def run_page(dash_app, page):
    return page("run")


def _poll(run_page, run_id, seen=None):
    out = run_page.poll(0, run_id, seen)
    names = ["value", "label", "animated", "striped", "colour", "timing", *CONTROLS,
             "poll_disabled", "seen", "header", "status", "latest", "frame", "faults"]
    return dict(zip(names, out, strict=True))


def test_poll_shows_progress_status_map_latest_spot_and_faults(run_page, small_run):
    view = _poll(run_page, small_run.run_id)
    assert view["value"] == pytest.approx(800 / 9) and view["label"] == "8 / 9 spots"
    assert view["timing"].startswith("elapsed ") and view["poll_disabled"] is False
    assert [view[key] for key in CONTROLS] == [False, True, False, False]  # active
    assert view["status"]["data"][0]["type"] == "heatmap" and view["colour"] == "primary"
    assert len(view["status"]["data"][0]["z"]) == 3
    # the last spot measured in visiting order is (2, 1), a CV: its voltammogram
    assert "visit 8" in text(view["latest"]) and "CV -0.27 to 1.47 V × 3" in text(view["latest"])
    assert "No frame yet" in text(view["frame"])  # the CV spot was not filmed
    assert "no contact within 12 µm" in text(view["faults"])
    assert "Small screen" in text(view["header"])
    again = _poll(run_page, small_run.run_id, view["seen"])
    assert again["label"] == "8 / 9 spots"
    assert all(again[key] is dash.no_update for key in ("header", "status", "latest", "faults"))


def test_latest_frame_of_a_filmed_spot_comes_from_the_frame_route(run_page, small_run):
    from components.run_live import create_latest_frame, latest_frame_src
    from core.results.spot_detail import spot_detail

    detail = spot_detail(small_run.url, small_run.data_dir, small_run.spot_ids[(0, 0)])
    src = latest_frame_src(detail)
    assert src == f"/frames/{detail.spot_id}/{detail.movie.n_frames - 1}.png?view=raw"
    assert find_one(create_latest_frame(detail)[0], id="run-latest-frame").src == src


def test_layout_and_the_active_run_page(run_page, page, small_run):
    view = run_page.layout(run_id=str(small_run.run_id))
    assert find_one(view, id="run-id").data == small_run.run_id
    assert "'x' is not a run id" in text(run_page.layout(run_id="x"))
    assert "run 999 does not exist" in text(run_page.layout(run_id="999"))
    assert find_one(run_page.active_layout(), id="run-id").data == small_run.run_id


def test_no_active_run_is_an_empty_state(run_page, empty_database):
    assert "No run is in progress" in text(run_page.active_layout())


def test_abort_asks_first_then_requests_it(run_page, small_run):
    opened = run_page.control_response("run-abort-now", None, small_run.run_id)
    assert opened[0] is True and opened[2] == "abort_now" and "interrupted" in text(opened[1])
    closed = run_page.control_response("run-confirm-no", "abort_now", small_run.run_id)
    assert closed[0] is False and closed[2] is None
    done = run_page.control_response("run-confirm-yes", "abort_now", small_run.run_id)
    assert done[0] is False and "Abort requested: the run stops now." in text(done[3])
    with session_scope(small_run.url) as session:
        assert session.scalar(select(Run.abort_request).where(Run.id == small_run.run_id)) == "now"


def test_pause_acts_at_once_and_resume_of_an_active_run_is_refused(run_page, small_run):
    paused = run_page.control_response("run-pause", None, small_run.run_id)
    assert paused[0] is False and "Pausing after the current spot" in text(paused[3])
    with session_scope(small_run.url) as session:
        assert session.scalar(select(Run.pause_request).where(Run.id == small_run.run_id))
    refused = run_page.control_response("run-abort-after", None, small_run.run_id)
    assert refused[2] == "abort_after"
    message = run_page.perform("resume", small_run.other_run_id)
    assert "Not done" in text(message) and "aborted" in text(message)


def test_pure_helpers():
    assert [format_duration(s) for s in (None, 4.6, 200, 7500)] == [
        "–", "5 s", "3 min 20 s", "2 h 05 min"]
    assert controls_disabled("completed", allowed=True) == [True] * 4
    assert controls_disabled("paused", allowed=True) == [True, False, False, False]
    assert controls_disabled("paused", allowed=False) == [True] * 4
    percent, label, timing = progress_numbers({"total": 4, "finished": 1, "current_order": 1,
                                               "elapsed_s": 30.0, "eta_s": 90.0})
    assert (percent, label) == (25.0, "1 / 4 spots")
    assert timing == "elapsed 30 s · about 1 min 30 s left · measuring visit 2"


def test_a_viewer_sees_the_controls_disabled_with_a_note(run_page, small_run):
    from components.run_live import CONTROL_REFUSED_NOTE

    assert find(run_page.run_view(small_run.run_id), id="run-controls-note") == []
    g.meniscus_actor = Actor("vera", Role.VIEWER, user_id=None, ip="127.0.0.1")
    view = run_page.run_view(small_run.run_id)
    assert find_one(view, id="run-controls-note").children == CONTROL_REFUSED_NOTE
    assert all(find_one(view, id=key).disabled for key in CONTROLS)
    polled = _poll(run_page, small_run.run_id)  # the run is active: operators may pause
    assert [polled[key] for key in CONTROLS] == [True] * 4


def test_the_figures_download_under_the_runs_name(run_page, small_run):
    from components.graph_config import PNG_SCALE

    status = find_one(run_page.run_view(small_run.run_id), id="run-status")
    assert status.config["toImageButtonOptions"] == {
        "format": "png", "scale": PNG_SCALE, "filename": f"run_{small_run.run_id}_status"}
    latest = _poll(run_page, small_run.run_id)["latest"]
    options = find_one(latest, id="run-latest-graph").config["toImageButtonOptions"]
    assert re.fullmatch(r"spot_\d+_latest_curve", options["filename"])
