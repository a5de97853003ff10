import numpy as np
import pytest
from numpy.testing import assert_allclose

import components.grid_preview as preview
from core.grid import grid_from_mapping, load_grid, plan_spots

ARTICLE = load_grid("examples/article_screen.yaml")


def _rings(xs, ys):
    """Split None-separated polygon coordinates into (K, V) arrays."""
    x = np.array([np.nan if v is None else v for v in xs], dtype=float)
    y = np.array([np.nan if v is None else v for v in ys], dtype=float)
    breaks = np.flatnonzero(np.isnan(x)) + 1
    return ([ring[:-1] for ring in np.split(x, breaks)[:-1]],
            [ring[:-1] for ring in np.split(y, breaks)[:-1]])


def test_circle_outlines_are_closed_rings_of_the_radius_around_each_centre():
    xs, ys = preview.circle_outline_um(np.array([0.0, 20.0]), np.array([5.0, -3.0]), 2.5,
                                       vertices=12)
    assert len(xs) == 2 * 14 and xs[13] is None and ys[27] is None
    rings_x, rings_y = _rings(xs, ys)
    for ring_x, ring_y, (cx, cy) in zip(rings_x, rings_y, [(0, 5), (20, -3)], strict=True):
        assert_allclose(np.hypot(ring_x - cx, ring_y - cy), 2.5, atol=2e-3)
        assert (ring_x[0], ring_y[0]) == (ring_x[-1], ring_y[-1])  # closed


def test_article_preview_draws_footprints_to_scale_and_the_path_in_visiting_order():
    figure = preview.create_grid_preview(ARTICLE)
    spots = plan_spots(ARTICLE)
    path = figure["data"][0]
    assert path["x"] == [s.x_um for s in spots] and path["y"] == [s.y_um for s in spots]
    fills = [t for t in figure["data"] if t.get("fill") == "toself"]
    assert [t["name"] for t in fills] == [c.display_label for c in ARTICLE.conditions]
    # footprint 6 µm: every ring has radius 3 µm around its spot
    rings_x, rings_y = _rings(fills[0]["x"], fills[0]["y"])
    first = [s for s in spots if s.condition == 0]
    assert len(rings_x) == len(first) == 7
    centre = (first[0].x_um, first[0].y_um)
    assert_allclose(np.hypot(rings_x[0] - centre[0], rings_y[0] - centre[1]), 3.0, atol=2e-3)
    assert figure["layout"]["yaxis"]["scaleanchor"] == "x"
    assert figure["layout"]["yaxis"]["range"][0] > figure["layout"]["yaxis"]["range"][1]
    assert figure["layout"]["title"]["text"].startswith("63 spots · footprint 6 µm")
    hover = [t for t in figure["data"] if t.get("mode") == "markers" and "customdata" in t][1]
    assert hover["customdata"][0][1:] == ["row 1, col 7", "0.39 mA/cm² × 5 s"]


def test_large_grids_fall_back_to_markers(monkeypatch):
    monkeypatch.setattr(preview, "TRUE_SCALE_LIMIT", 10)
    figure = preview.create_grid_preview(ARTICLE)
    assert not [t for t in figure["data"] if t.get("fill")]
    assert "centres only" in figure["layout"]["title"]["text"]
    assert sum(t.get("showlegend", True) for t in figure["data"]) == 8


@pytest.mark.parametrize("count", [1, 3, 8])
def test_each_condition_gets_its_own_colour(count):
    assert len(set(preview.condition_colours(count))) == count


def test_explicit_positions_are_drawn_where_they_are():
    grid = grid_from_mapping({
        "name": "p", "positions": [[0, 0], [30, 5]], "origin": {"x_um": 10, "y_um": 10},
        "pipette_diameter_um": 4, "retract_um": 5, "approach_speed_um_s": 2,
        "assignment": "interleaved", "traversal": "raster",
        "conditions": [{"technique": "galvanostatic", "current_density_mA_cm2": 1,
                        "duration_s": 1, "repeats": 2}]})
    figure = preview.create_grid_preview(grid)
    assert figure["data"][0]["x"] == [10.0, 40.0] and figure["data"][0]["y"] == [10.0, 15.0]
    assert figure["data"][2]["customdata"][1][1] == "position 1"
