from datetime import UTC, datetime

import numpy as np

from components.analysis_panel import create_analysis_panel, create_key_numbers
from components.feedback import create_empty_state, create_error
from components.navbar import NAV_ITEMS, create_navbar
from components.run_table import create_runs_table
from components.tnuc_map import create_tnuc_map_figure
from core.results.runs import RunRow
from core.results.spot_detail import AnalysisInfo
from tests.components.tree import find, text


def _run(**changes):
    fields = dict(id=4, name="Screen A", instrument="sim", operator="ana", state="completed",
                  tags=("demo",), notes="", error=None,
                  created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC), started_at=None,
                  finished_at=None, total=10, finished=10,
                  by_state={"done": 8, "no_contact": 2})
    return RunRow(**{**fields, **changes})


def test_runs_table_links_to_results_and_shows_progress_of_live_runs():
    table = create_runs_table(
        [_run(), _run(id=5, name="Live", state="active", finished=3, by_state={"done": 3,
                                                                           "pending": 7})],
        {5: {"total": 10, "finished": 3, "eta_s": 754.0}})
    links = [link.href for link in find(table) if getattr(link, "href", None)]
    assert "/results/4" in links and "/trends/4" in links and "/results/5" in links
    words = text(table)
    assert "8/10 measured · 2 no contact" in words and "2026-03-01 09:30" in words
    assert "3/10 · ETA 12 min 34 s" in words


def test_navbar_leaves_room_for_design_and_run():
    assert [path for _, path in NAV_ITEMS] == ["/", "/design", "/run"]
    assert {link.href for link in find(create_navbar()) if getattr(link, "href", None)} >= {
        "/", "/design", "/run"}


def test_feedback_pieces_say_what_happened():
    assert "No runs yet" in text(create_empty_state("No runs yet", "submit one"))
    assert text(create_error("disk full", title="Cannot save")) == "Cannot save:  disk full"


def test_key_numbers_and_analysis_parameters():
    numbers = create_key_numbers({"e_nuc_V": -0.12345, "density_per_cm2": 1.234e9,
                                  "t_nuc_s": None})
    assert "E_nuc (V) -0.1235" in text(numbers) and "1.23e+09" in text(numbers)
    assert "t_nuc (s) —" in text(numbers)
    panel = create_analysis_panel({"galvanostatic": AnalysisInfo(
        "galvanostatic", 2, {"smoothing_s": 0.05, "nested": {"a": 1}},
        {"e_nuc_V": -0.1, "cycles": [1, 2], "error": "too short"}, "0.1.0",
        datetime(2026, 3, 1, tzinfo=UTC))})
    words = text(panel)
    assert "version 2 · software 0.1.0" in words and "smoothing_s 0.05" in words
    assert "nested.a 1" in words and "This analysis failed: too short" in words
    assert "cycles" not in words


def test_tnuc_map_axes_are_block_centres_in_micrometres():
    figure = create_tnuc_map_figure({"block_px": 14, "row0_px": 28, "col0_px": 14,
                                     "values_s": [[1.0, None], [2.0, 3.0]]}, 40.0)
    heatmap = figure.data[0]
    assert np.allclose(heatmap.x, [(14 + 7) * 0.04, (14 + 21) * 0.04])
    assert np.allclose(heatmap.y, [(28 + 7) * 0.04, (28 + 21) * 0.04])
    assert [list(row) for row in heatmap.z] == [[1.0, None], [2.0, 3.0]]
    assert figure.layout.xaxis.title.text == "x (µm)"
    assert heatmap.colorbar.title.text == "t_nuc(IRM) (s)"
