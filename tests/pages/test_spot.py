import dash
import dash_bootstrap_components as dbc
import pytest
from dash import dcc

from components import movie_player as player
from components.graph_config import PNG_SCALE
from components.review_exclusion import BANNER_ID
from tests.components.tree import find, find_one, text


def test_a_galvanostatic_spot_with_its_movie_at_the_frame_of_the_url(page, small_run):
    spot_id = small_run.spot_ids[(0, 0)]
    layout = page("spot").layout(spot_id=str(spot_id), frame="9", view="processed")
    assert find_one(layout, id=player.IMAGE_ID).src == f"/frames/{spot_id}/9.png?view=processed"
    et = find_one(layout, id="spot-et").figure
    names = [trace.name for trace in et.data]
    assert names[:3] == ["E", "E_nuc", "E_growth"] and "t_nuc(IRM)" in names
    cursor = [shape for shape in et.layout.shapes if shape.name == "frame-cursor"]
    meta = find_one(layout, id=player.META_ID).data
    assert cursor[0].x0 == pytest.approx(meta["times_s"][9], abs=5e-4)
    words = text(layout)
    assert "0.78 mA/cm² × 5 s" in words and "E_nuc (V) -0.1300" in words
    assert "Potential vs charge (Q = j·t)" in words
    titles = [item.title for item in find(layout) if isinstance(item, dbc.AccordionItem)]
    assert titles == ["galvanostatic (v2)", "irm (v1)", "sem (v1)"]


def test_every_plot_of_the_spot_downloads_under_its_own_name(page, small_run):
    for place, expected in (((0, 0), ["potential_time", "potential_charge"]),
                            ((2, 0), ["voltammogram", "ce"])):
        spot_id = small_run.spot_ids[place]
        layout = page("spot").layout(spot_id=str(spot_id))
        downloads = [graph.config["toImageButtonOptions"] for graph in find(layout)
                     if isinstance(graph, dcc.Graph)]
        assert [d["filename"] for d in downloads] == [
            f"run_{small_run.run_id}_spot_{spot_id}_{name}" for name in expected]
        assert all(d["scale"] == PNG_SCALE for d in downloads)

def test_cv_excluded_and_unmeasured_spots(page, small_run):
    cv = page("spot").layout(spot_id=str(small_run.spot_ids[(2, 0)]))
    assert "Cyclic voltammogram" in text(cv) and "No movie" in text(cv)
    assert "CE (last cycle) 0.610" in text(cv)
    excluded = page("spot").layout(spot_id=str(small_run.spot_ids[(1, 2)]))
    banner = find_one(excluded, id=BANNER_ID)  # the review panel's refresh updates it
    assert "Excluded in review: bubble in the meniscus (ana," in " ".join(text(banner).split())
    kept = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 1)]))
    assert text(find_one(kept, id=BANNER_ID)) == ""
    missed = page("spot").layout(spot_id=str(small_run.spot_ids[(1, 1)]))
    assert "No data for this spot" in text(missed) and not find(missed, id=player.IMAGE_ID)
    assert "Spot error: no contact within 12 µm" in text(missed)


def test_unknown_spot_and_bad_frame(page, small_run):
    assert "spot 777 does not exist" in text(page("spot").layout(spot_id="777"))
    assert "'x' is not a spot id" in text(page("spot").layout(spot_id="x"))
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 1)]), frame="late")
    assert find_one(layout, id=player.SLIDER_ID).value == 0


def test_a_spot_opens_on_the_frame_nearest_t_nuc(page, small_run):
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 1)]))
    meta = find_one(layout, id=player.META_ID).data
    frame = find_one(layout, id=player.SLIDER_ID).value
    times = meta["times_s"]
    assert abs(times[frame] - 3.80) <= min(abs(t - 3.80) for t in times) + 1e-9
    assert times[frame] > 3.5


def _form_values(layout, kind):
    from components import analysis_panel as panel

    return {item.id["name"]: item.value for item in find(layout)
            if isinstance(getattr(item, "id", None), dict)
            and item.id.get("type") == panel.PARAM and item.id["kind"] == kind}


def test_parameters_are_editable_with_the_latest_values_and_versions_listed(page, small_run):
    from components import analysis_panel as panel

    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 0)]))
    values = _form_values(layout, "galvanostatic")
    assert values["smoothing_s"] == 0.05 and values["settle_s"] == 0.05  # stored, default
    button = find_one(layout, id={"type": panel.RUN_BUTTON, "kind": "galvanostatic"})
    assert button.disabled is False
    versions = text(find_one(layout, id={"type": panel.VERSIONS, "kind": "galvanostatic"}))
    assert versions.index("v2") < versions.index("v1") and "smoothing_s = 0.2" in versions
    assert "0 ≤ smoothing_s ≤ 10 s" in text(layout)
    cv = page("spot").layout(spot_id=str(small_run.spot_ids[(2, 0)]))
    assert _form_values(cv, "cv") == {"cathodic_current_negative": True,
                                      "min_amplitude_V": 0.1}


def test_a_viewer_sees_the_parameters_but_cannot_rerun(page, small_run):
    from flask import g

    from components import analysis_panel as panel
    from core.auth.roles import Actor, Role

    g.meniscus_actor = Actor("vi", Role.VIEWER)
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(0, 0)]))
    assert find_one(layout, id={"type": panel.RUN_BUTTON, "kind": "galvanostatic"}).disabled
    assert "Re-running needs the operator role." in text(layout)


def test_rerun_refuses_values_beyond_their_limits_naming_them(page, small_run, monkeypatch):
    from workers import guarded

    monkeypatch.setattr(guarded, "reanalyse", lambda *a, **k: pytest.fail("queued"))
    spot = {"spot_id": small_run.spot_ids[(0, 0)], "run_id": small_run.run_id}
    feedback, pending = page("spot").request_reanalysis(
        spot, "galvanostatic", {"smoothing_s": -1.0, "settle_s": None}, every_spot=False)
    assert "settle_s is empty or not a number" in text(feedback)
    assert "smoothing_s = -1 s is below its limit 0 s" in text(feedback)
    assert pending is dash.no_update
    same, _ = page("spot").request_reanalysis(
        spot, "galvanostatic", {"smoothing_s": 0.05}, every_spot=False)
    assert "Version 2 already ran with these options and this software" in text(same)


def test_rerun_queues_a_new_version_and_follows_it_until_stored(page, small_run, monkeypatch):
    from core.results.record import record_analysis
    from workers import guarded

    calls = []

    def reanalyse(actor, run_id, *, kind, parameters, spot_id=None, settings=None):
        assert settings.resolved_database_url == small_run.url  # the app's, not the env's
        calls.append((actor.name, run_id, kind, parameters, spot_id))
        return [spot_id]

    monkeypatch.setattr(guarded, "reanalyse", reanalyse)
    spot_id = small_run.spot_ids[(0, 0)]
    spot = {"spot_id": spot_id, "run_id": small_run.run_id}
    options = {"smoothing_s": 0.1, "growth_window_fraction": 0.3}
    feedback, pending = page("spot").request_reanalysis(spot, "galvanostatic", options,
                                                        every_spot=False)
    assert calls == [("tester", small_run.run_id, "galvanostatic", options, spot_id)]
    assert "version 3 of this spot appears below" in text(feedback)
    assert pending["after"] == 2 and pending["kind"] == "galvanostatic"

    progress = page("spot").reanalysis_progress
    table, disabled, status = progress(pending, now=pending["since"] + 4)
    assert disabled is False and "Waiting for the analysis workers (4 s)" in text(status)
    record_analysis(small_run.url, spot_id, "galvanostatic", parameters=options,
                    results={"nucleated": True, "e_nuc_V": -0.131})
    table, disabled, status = progress(pending, now=pending["since"] + 6)
    assert disabled is True and "Version 3 is stored" in text(status)
    assert text(table).index("v3") < text(table).index("v2")
    _, disabled, status = progress({**pending, "after": 3}, now=pending["since"] + 301)
    assert disabled is True and "No new version after 5 min" in text(status)
    assert progress(None, now=0.0)[1] is True


def test_rerun_for_every_spot_queues_the_kind_once(page, small_run, monkeypatch):
    from workers import guarded

    calls = []
    monkeypatch.setattr(guarded, "reanalyse", lambda actor, run_id, **kw: calls.append(kw)
                        or [1, 2])
    spot = {"spot_id": small_run.spot_ids[(2, 0)], "run_id": small_run.run_id}
    feedback, _ = page("spot").request_reanalysis(spot, "ce_irm", {"min_snr": 4.0},
                                                  every_spot=True)
    # the worker stores ce_irm_maps with ce_irm: one task, not one per kind
    assert [(c["kind"], c["spot_id"]) for c in calls] == [("ce_irm", None)]
    assert "Queued ce_irm for 2 measured spots of the run" in text(feedback)


def test_a_refusal_from_the_guard_shows_in_the_page(page, small_run, monkeypatch):
    from core.auth.guard import PermissionDenied
    from workers import guarded

    def refuse(*_a, **_k):
        raise PermissionDenied("viewer vi may not reanalyse")

    monkeypatch.setattr(guarded, "reanalyse", refuse)
    spot = {"spot_id": small_run.spot_ids[(0, 0)], "run_id": small_run.run_id}
    feedback, pending = page("spot").request_reanalysis(spot, "galvanostatic",
                                                        {"smoothing_s": 0.3}, every_spot=False)
    assert "Not re-run" in text(feedback) and "viewer vi may not reanalyse" in text(feedback)
    assert pending is dash.no_update


def test_a_filmed_cv_shows_its_ce_maps_per_cycle(page, small_run):
    from core.results.record import record_analysis

    spot_id = small_run.spot_ids[(2, 1)]
    maps = {"cycles": [1, 2], "block_px": 2, "pixel_size_nm": 40.0, "step": 0.001,
            "values": [[[250, None]], [[480, 500]]]}
    record_analysis(small_run.url, spot_id, "ce_irm", parameters={"min_snr": 3.0},
                    results={"calibration": {"slope": 1.1, "intercept": -0.05, "r2": 0.99,
                                             "n_cycles": 2},
                             "cycles": [{"cycle": 1, "ce_irm_median": 0.27},
                                        {"cycle": 2, "ce_irm_median": 0.49}]})
    record_analysis(small_run.url, spot_id, "ce_irm_maps", parameters={"min_snr": 3.0},
                    results={"maps": maps})
    layout = page("spot").layout(spot_id=str(spot_id))
    words = text(layout)
    assert "CE(IRM) per cycle" in words and "R² 0.990, 2 cycles" in words
    graphs = [item.figure for item in find(layout) if isinstance(item, dash.dcc.Graph)]
    ce_maps = [f for f in graphs if f.layout.coloraxis.cmax == 1.0]
    assert len(ce_maps) == 1 and len(ce_maps[0].data) == 2
    ce = [f for f in graphs if any(t.name == "CE(IRM) median" for t in f.data)]
    assert ce and ce[0].data[1].y == (0.27, 0.49)
    assert "min_snr" in _form_values(layout, "ce_irm")
