import numpy as np
import pytest
from numpy.testing import assert_array_equal
from plotly.io.json import to_json_plotly

from components.heatmap import create_heatmap
from core.results.grid_values import MetricGrid
from core.results.metrics import STATUS_CATEGORIES


def _grid(metric="e_nuc_V", values=None, layout="grid"):
    values = np.array([[-0.1234, np.nan], [-0.2, -0.3]]) if values is None else values
    ids = np.array([[7, -1], [9, 10]])
    text = np.array([["a", ""], ["b", "c"]], dtype=object)
    if layout == "positions":
        return MetricGrid(metric, "E_nuc (V)", "positions", values.ravel(), ids.ravel(),
                          text.ravel(), np.array([0.0, 5.0, 1.0, 2.0]), np.zeros(4))
    return MetricGrid(metric, "E_nuc (V)", "grid", values, ids, text,
                      np.array([0.0, 11.0]), np.array([0.0, 11.0]),
                      STATUS_CATEGORIES if metric == "status" else ())


def test_cells_carry_spot_ids_and_missing_values_are_empty():
    trace = create_heatmap(_grid())["data"][0]
    assert trace["type"] == "heatmap"
    assert trace["z"] == [[-0.1234, None], [-0.2, -0.3]]
    assert trace["customdata"] == [[7, -1], [9, 10]]
    assert trace["x"] == [0.0, 11.0] and trace["text"] == [["a", ""], ["b", "c"]]
    assert "E_nuc = %{z:.4f} V" in trace["hovertemplate"]
    assert "spot %{customdata}" in trace["hovertemplate"]
    assert trace["colorbar"]["title"]["text"] == "E_nuc (V)"


def test_axes_are_in_micrometres_with_rows_downwards_and_square_cells():
    layout = create_heatmap(_grid())["layout"]
    assert layout["xaxis"]["title"]["text"] == "x from grid origin (µm)"
    assert layout["yaxis"]["title"]["text"] == "y from grid origin (µm)"
    assert layout["yaxis"]["autorange"] == "reversed" and layout["yaxis"]["scaleanchor"] == "x"


def test_status_map_uses_one_colour_band_per_category():
    values = np.array([[0.0, np.nan], [2.0, 1.0]])
    trace = create_heatmap(_grid("status", values))["data"][0]
    n = len(STATUS_CATEGORIES)
    assert (trace["zmin"], trace["zmax"]) == (-0.5, n - 0.5)
    assert trace["colorbar"]["ticktext"][:3] == ["done", "excluded", "no contact"]
    assert len(trace["colorscale"]) == 2 * n
    assert trace["colorscale"][0] == [0.0, "#009E73"]


def test_explicit_positions_become_square_markers():
    trace = create_heatmap(_grid(layout="positions"))["data"][0]
    assert trace["type"] == "scatter" and trace["marker"]["symbol"] == "square"
    assert trace["marker"]["color"] == [-0.1234, None, -0.2, -0.3]
    assert "marker.color" in trace["hovertemplate"]


def test_a_100_by_100_grid_serialises_under_one_megabyte():
    rng = np.random.default_rng(0)
    values = np.round(-0.3 * rng.random((100, 100)), 4)
    values[rng.random((100, 100)) < 0.05] = np.nan
    grid = MetricGrid("e_nuc_V", "E_nuc (V)", "grid", values,
                      np.arange(10_000).reshape(100, 100) + 100_000,
                      np.full((100, 100), "2.92 mA/cm² × 5 s", dtype=object),
                      np.arange(100) * 11.0, np.arange(100) * 11.0)
    figure = create_heatmap(grid)
    assert len(to_json_plotly(figure).encode()) < 1_000_000
    assert figure["data"][0]["xgap"] == 0  # no gaps at this size
    assert_array_equal(np.array(figure["data"][0]["customdata"])[0, :3], [100_000, 100_001,
                                                                         100_002])


def test_a_single_row_grid_gets_cells_one_pitch_tall():
    from components.heatmap import _single_line_cells

    figure = {"data": [{"type": "heatmap", "x": [0.0, 11.0, 22.0], "y": [5.0],
                        "z": [[1, 2, 3]]}]}
    trace = _single_line_cells(figure)["data"][0]
    assert trace["y"] == [-0.5, 10.5]
    assert trace["x"] == [0.0, 11.0, 22.0]


def test_excluded_and_flagged_spots_get_marker_overlays_with_their_reasons():
    base = _grid()
    marked = MetricGrid(**{**base.__dict__, "excluded": {9: "bubble"},
                           "flags": {10: "thick deposit", 7: "off centre"}})
    figure = create_heatmap(marked)
    excluded, flagged = figure["data"][1:]
    assert excluded["name"] == "excluded" and excluded["customdata"] == [9]
    assert (excluded["x"], excluded["y"], excluded["text"]) == ([0.0], [11.0], ["bubble"])
    assert flagged["customdata"] == [7, 10] and flagged["text"] == ["off centre",
                                                                     "thick deposit"]
    assert flagged["x"] == [0.0, 11.0] and flagged["y"] == [0.0, 11.0]
    assert "<b>flagged</b>: %{text}" in flagged["hovertemplate"]
    assert figure["layout"]["showlegend"] is True
    # the axes end at the outer cell edges (markers would pad them)
    assert figure["layout"]["xaxis"]["range"] == [-5.5, 16.5]
    assert figure["layout"]["yaxis"]["range"] == [16.5, -5.5]
    assert len(create_heatmap(base)["data"]) == 1  # nothing marked: no overlay


def test_a_spot_both_excluded_and_flagged_shows_both_marks_side_by_side():
    base = _grid()
    marked = MetricGrid(**{**base.__dict__, "excluded": {9: "bubble", 7: "dust"},
                           "flags": {9: "thick deposit"}})
    excluded, flagged = create_heatmap(marked)["data"][1:]
    # spot 9 (x 0 µm, pitch 11 µm) carries both: × at −0.22 pitch, diamond at +0.22 pitch
    at = excluded["customdata"].index(9)
    assert excluded["x"][at] == pytest.approx(-0.22 * 11.0)
    assert flagged["x"] == [pytest.approx(0.22 * 11.0)] and flagged["y"] == [11.0]
    assert excluded["x"][excluded["customdata"].index(7)] == 0.0  # excluded only: centred
    # each hover names the other mark too
    assert excluded["text"][at] == "bubble<br><b>flagged</b>: thick deposit"
    assert flagged["text"] == ["thick deposit<br><b>excluded</b>: bubble"]


def test_marks_on_explicit_positions_shift_by_a_fraction_of_the_closest_spacing():
    base = _grid(layout="positions")  # x 0, 5, 1, 2 µm: closest spacing 1 µm
    marked = MetricGrid(**{**base.__dict__, "excluded": {10: "bubble"},
                           "flags": {10: "dendrite"}})
    excluded, flagged = create_heatmap(marked)["data"][1:]
    assert excluded["x"] == [pytest.approx(2.0 - 0.22)]
    assert flagged["x"] == [pytest.approx(2.0 + 0.22)]


def test_status_colour_bar_title_stays_below_the_toolbar():
    values = np.array([[0.0, np.nan], [2.0, 1.0]])
    colorbar = create_heatmap(_grid("status", values))["data"][0]["colorbar"]
    assert colorbar["title"]["text"] == "status"
    assert colorbar["yanchor"] == "bottom" and colorbar["y"] + colorbar["len"] <= 0.9


def test_density_hover_has_three_significant_digits():
    values = np.array([[1.5e9, np.nan], [1.58e9, 2e9]])
    trace = create_heatmap(_grid("density_per_cm2", values))["data"][0]
    assert "particle density = %{z:.2e} cm⁻²" in trace["hovertemplate"]
