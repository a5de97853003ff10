"""Display pieces of an SEM analysis: outlines as polygons, display PNG, histogram."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from core.results.sem_view import (
    display_factor,
    display_image,
    display_png,
    image_file_png,
    particle_outlines,
    size_histogram,
)


def _polygons(values):
    polygons, current = [], []
    for value in values:
        if value is None:
            polygons.append(current)
            current = []
        else:
            current.append(value)
    return polygons


def test_each_particle_gets_a_closed_outline_around_it_in_um():
    labels = np.zeros((40, 60), dtype=np.int32)
    labels[5:15, 10:20] = 1  # a 10 × 10 px square
    labels[25:31, 40:46] = 2
    outlines = particle_outlines(labels, [1], pixel_size_nm=100.0)

    [square] = zip(_polygons(outlines["counted"]["x_um"]),
                   _polygons(outlines["counted"]["y_um"]), strict=True)
    x_um, y_um = np.array(square[0]), np.array(square[1])
    assert (x_um[0], y_um[0]) == (x_um[-1], y_um[-1])  # closed
    # the 0.5 level runs half a pixel outside the pixel centres: 9.5 .. 19.5 px
    assert_allclose([x_um.min(), x_um.max()], [0.95, 1.95], atol=0.051)
    assert_allclose([y_um.min(), y_um.max()], [0.45, 1.45], atol=0.051)
    assert len(x_um) == 9  # straight runs dropped: 4 corners cut at 45°, closed
    [other] = _polygons(outlines["excluded"]["x_um"])
    assert_allclose([min(other), max(other)], [3.95, 4.55], atol=0.051)


def test_outlines_are_thinned_to_the_budget_keeping_every_particle():
    rng = np.random.default_rng(3)
    labels = np.zeros((400, 400), dtype=np.int32)
    rows, cols = np.mgrid[0:400, 0:400]
    for k, (row, col) in enumerate(rng.uniform(20, 380, (60, 2)), start=1):
        labels[np.hypot(rows - row, cols - col) < 9] = k
    counted = np.unique(labels[labels > 0])
    full = particle_outlines(labels, counted, pixel_size_nm=5.0)
    small = particle_outlines(labels, counted, pixel_size_nm=5.0, max_points=600)
    n_full = len(full["counted"]["x_um"]) - full["counted"]["x_um"].count(None)
    n_small = len(small["counted"]["x_um"]) - small["counted"]["x_um"].count(None)
    assert n_small <= 600 < n_full
    assert small["counted"]["x_um"].count(None) == full["counted"]["x_um"].count(None)


def test_display_images_are_block_averaged_and_stretched_to_8_bits():
    image = np.arange(3000 * 2100, dtype=np.float32).reshape(3000, 2100)
    assert display_factor(image.shape) == 3
    shown = display_image(image)
    assert shown.shape == (1000, 700) and shown.dtype == np.uint8
    assert shown[0, 0] == 0 and shown[-1, -1] == 255
    assert display_image(np.full((5, 5), 7.0)).max() == 0  # flat: no division by zero


def test_the_display_png_decodes_to_the_display_image(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4096, (300, 200), dtype=np.uint16)
    png = Image.open(io.BytesIO(display_png(image)))
    assert png.mode == "L" and png.size == (200, 300)
    assert np.array_equal(np.asarray(png), display_image(image))
    path = tmp_path / "a.png"
    Image.fromarray((image // 16).astype(np.uint8)).save(path)
    assert Image.open(io.BytesIO(image_file_png(path))).size == (200, 300)


def test_the_histogram_of_a_stored_result():
    results = {"histogram": {"bin_edges_nm": [20.0, 30.0, 50.0], "counts": [4, 6]},
               "fit": {"model": "gaussian", "expected_counts": [3.5, 6.4],
                       "components": [{"weight": 1.0, "mean_nm": 33.2, "sd_nm": 7.9}]}}
    histogram = size_histogram(results)
    assert histogram.centres_nm == [25.0, 40.0] and histogram.widths_nm == [10.0, 20.0]
    assert histogram.counts == [4, 6] and histogram.fit_counts == pytest.approx([3.5, 6.4])
    assert histogram.fit_label == "gaussian fit (33 ± 8 nm)"
    assert size_histogram({"count": 0}) is None
    assert size_histogram({"histogram": {"bin_edges_nm": [1.0], "counts": []}}) is None
