"""Footprint circle: pixel areas and automatic detection on hand-built images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.analysis.sem_footprint import Circle, detect_footprint, pixels_in_disc
from core.errors import AnalysisError

PIXEL_NM = 4.0
UM_PER_PX = PIXEL_NM * 1e-3


@pytest.mark.parametrize(
    ("centre_px", "radius_px"),
    [((50.3, 61.7), 30.2), ((0.0, 0.0), 40.0), ((95.5, 20.1), 25.0), ((50.0, 50.0), 0.4)],
)
def test_pixels_in_disc_counts_pixel_centres_exactly(centre_px, radius_px):
    shape = (100, 120)
    rows, cols = np.indices(shape)
    row, col = centre_px
    brute = int(np.sum(np.hypot(rows - row, cols - col) <= radius_px))
    circle = Circle(col * UM_PER_PX, row * UM_PER_PX, radius_px * UM_PER_PX)
    assert pixels_in_disc(shape, circle, PIXEL_NM) == brute


def test_circle_rejects_bad_values():
    with pytest.raises(AnalysisError, match="radius"):
        Circle(1.0, 1.0, 0.0)
    with pytest.raises(AnalysisError, match="non-finite"):
        Circle(math.nan, 1.0, 1.0)
    assert_allclose(Circle(0, 0, 2.0).area_um2, 4 * math.pi)


def film_image(size, centre, radius, *, ring=0.0, step=0.0, ring_sd_px=21.0, seed=0):
    """A film with a residue ring and/or a disc step at ``radius`` (px), plus noise."""
    rows, cols = np.indices((size, size), dtype=float)
    rho = np.hypot(rows - centre[0], cols - centre[1])
    image = 100.0 + ring * np.exp(-0.5 * ((rho - radius) / ring_sd_px) ** 2)
    image += step * np.clip(radius - rho + 0.5, 0.0, 1.0)
    return image + np.random.default_rng(seed).normal(0.0, 5.0, image.shape)


def assert_circle(found, centre, radius, *, centre_px, radius_rel):
    assert_allclose(found.y_um / UM_PER_PX, centre[0], atol=centre_px)
    assert_allclose(found.x_um / UM_PER_PX, centre[1], atol=centre_px)
    assert_allclose(found.r_um / UM_PER_PX, radius, rtol=radius_rel)


@pytest.mark.parametrize(
    ("ring", "step"),
    [(-20.0, 0.0), (20.0, 0.0), (0.0, -8.0), (-20.0, -8.0), (15.0, 6.0)],
    ids=["dark ring", "bright ring", "darker disc", "dark ring on darker disc", "bright"],
)
def test_film_footprints_are_found_to_a_fraction_of_a_percent(ring, step):
    size, centre, radius = 768, (400.0, 371.0), 270.0
    image = film_image(size, centre, radius, ring=ring, step=step)
    found = detect_footprint(image, pixel_size_nm=PIXEL_NM)
    assert_circle(found, centre, radius, centre_px=1.0, radius_rel=0.005)


def test_a_footprint_running_off_the_image_is_still_found():
    size, centre, radius = 768, (384.0, 180.0), 300.0  # 120 px of it outside, on the left
    image = film_image(size, centre, radius, ring=-20.0, step=-8.0, seed=1)
    found = detect_footprint(image, pixel_size_nm=PIXEL_NM)
    assert_circle(found, centre, radius, centre_px=2.0, radius_rel=0.01)


def test_expected_diameter_narrows_the_search():
    # Two concentric edges: a faint outer ring and a strong inner disc step.
    size, centre = 768, (384.0, 384.0)
    image = film_image(size, centre, 320.0, ring=-12.0, seed=2)
    image += film_image(size, centre, 150.0, step=-25.0, seed=3) - 100.0
    inner = detect_footprint(image, pixel_size_nm=PIXEL_NM)
    assert_allclose(inner.r_um / UM_PER_PX, 150.0, rtol=0.01)
    outer = detect_footprint(image, pixel_size_nm=PIXEL_NM, expected_diameter_um=2.5)
    assert_allclose(outer.r_um / UM_PER_PX, 320.0, rtol=0.01)


def test_particle_density_alone_marks_the_footprint():
    rng = np.random.default_rng(4)
    size, centre, radius = 768, (390.0, 375.0), 280.0
    inside = int(2000 * 0.7)
    angle = rng.uniform(0, 2 * np.pi, inside)
    rho = radius * np.sqrt(rng.uniform(0, 1, inside))
    rows = np.r_[centre[0] + rho * np.sin(angle), rng.uniform(0, size, 40)]
    cols = np.r_[centre[1] + rho * np.cos(angle), rng.uniform(0, size, 40)]
    film = 100.0 + rng.normal(0.0, 5.0, (size, size))  # no film contrast at all
    found = detect_footprint(film, pixel_size_nm=PIXEL_NM, particle_rows=rows, particle_cols=cols)
    assert_circle(found, centre, radius, centre_px=6.0, radius_rel=0.04)


def test_no_footprint_is_reported_not_invented():
    rng = np.random.default_rng(5)
    noise = 100.0 + rng.normal(0.0, 5.0, (512, 512))
    with pytest.raises(AnalysisError, match="no footprint found"):
        detect_footprint(noise, pixel_size_nm=PIXEL_NM)
    scattered = rng.uniform(0, 512, (2, 500))
    with pytest.raises(AnalysisError, match="pass the footprint circle"):
        detect_footprint(
            noise, pixel_size_nm=PIXEL_NM, particle_rows=scattered[0], particle_cols=scattered[1]
        )
