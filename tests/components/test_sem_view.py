"""SEM image figure (image by URL, outlines, footprint) and size histogram figure."""

from __future__ import annotations

import pytest

from components.sem_view import (
    COUNTED_COLOUR,
    EXCLUDED_COLOUR,
    FOOTPRINT_COLOUR,
    RING_COLOUR,
    create_sem_image_figure,
    create_sem_numbers,
    create_size_histogram_figure,
)
from core.results.sem_view import SizeHistogram
from tests.components.tree import text

OUTLINES = {
    "counted": {"x_um": [0.1, 0.2, 0.2, 0.1, None], "y_um": [0.1, 0.1, 0.2, 0.1, None]},
    "excluded": {"x_um": [1.0, 1.5, 1.5, 1.0, None], "y_um": [1.0, 1.0, 1.5, 1.0, None]},
    "footprint": {"x_um": 2.0, "y_um": 1.9, "r_um": 1.5, "ring_fraction": 0.2},
}


def test_the_image_comes_from_the_route_and_the_outlines_lie_over_it():
    figure = create_sem_image_figure(7, image_shape=(300, 400), pixel_size_nm=10.0,
                                     outlines=OUTLINES)
    [image] = figure.layout.images
    assert image.source == "/sem/7.png" and image.layer == "below"
    assert (image.x, image.y) == (-0.005, -0.005)
    assert (image.sizex, image.sizey) == pytest.approx((4.0, 3.0))
    assert figure.layout.yaxis.range == pytest.approx((2.995, -0.005))  # rows downwards
    assert figure.layout.yaxis.scaleanchor == "x"
    counted, excluded = figure.data
    assert counted.line.color == COUNTED_COLOUR and excluded.line.color == EXCLUDED_COLOUR
    assert list(counted.x) == OUTLINES["counted"]["x_um"]
    footprint, ring = figure.layout.shapes
    assert footprint.line.color == FOOTPRINT_COLOUR and ring.line.color == RING_COLOUR
    assert (footprint.x0, footprint.x1, footprint.y0) == pytest.approx((0.5, 3.5, 0.4))
    assert ring.x1 - ring.x0 == pytest.approx(2 * 1.5 * 0.8)


def test_without_an_analysis_the_image_is_drawn_alone():
    figure = create_sem_image_figure(3, image_shape=(10, 10), pixel_size_nm=5.0)
    assert figure.data == () and figure.layout.shapes == ()
    assert figure.layout.images[0].source == "/sem/3.png"


def test_the_histogram_has_a_bar_per_bin_and_the_fit_over_it():
    histogram = SizeHistogram(centres_nm=[25.0, 35.0, 45.0], widths_nm=[10.0] * 3,
                              counts=[3, 9, 4], fit_counts=[2.5, 8.8, 4.4],
                              fit_label="gaussian fit (36 ± 8 nm)")
    bars, fit = create_size_histogram_figure(histogram).data
    assert list(bars.x) == [25.0, 35.0, 45.0] and list(bars.y) == [3, 9, 4]
    assert list(bars.width) == [10.0] * 3
    assert fit.name == "gaussian fit (36 ± 8 nm)" and list(fit.y) == [2.5, 8.8, 4.4]
    alone = create_size_histogram_figure(SizeHistogram([25.0], [10.0], [3], None, None))
    assert len(alone.data) == 1 and alone.layout.showlegend is False


def test_the_numbers_table_has_the_footprint_its_edge_and_its_centre():
    results = {"count": 12, "density_per_cm2": 1.52e9, "mean_diameter_nm": 61.37,
               "sd_diameter_nm": None, "edge": {"count": 5, "density_per_cm2": 2e9},
               "centre": {"count": 7}}
    words = text(create_sem_numbers(results))
    assert "footprint 12 1.52e+09 61.4 —" in words
    # one density format (3 significant digits), never 2e+09 beside 1.52e+09
    assert "edge 5 2.00e+09 — —" in words and "centre 7 — — —" in words
