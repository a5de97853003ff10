"""Particle segmentation on hand-built images (not the twin): known discs, touching pairs,
polarity, rims, gradients, specks and noise."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import ndimage as ndi

from core.analysis.sem_particles import segment_particles
from core.errors import AnalysisError

PIXEL_NM = 5.0


def draw_discs(shape, discs, *, background=50.0, amplitude=100.0, blur_px=0.5, rim=0.0):
    """Anti-aliased discs ``(row, col, radius_px)`` on a flat film, blurred (no noise).

    ``rim`` > 0 makes each disc brighter towards its edge and darker in its middle (SE-like).
    """
    rows, cols = np.indices(shape, dtype=float)
    layer = np.zeros(shape)
    for r0, c0, radius in discs:
        rho = np.hypot(rows - r0, cols - c0)
        value = np.clip(radius - rho + 0.5, 0.0, 1.0)
        if rim:
            value = value * (1.0 - rim + 2 * rim * np.clip(rho / radius, 0.0, 1.0) ** 4)
        layer = np.maximum(layer, value)
    return background + amplitude * ndi.gaussian_filter(layer, blur_px)


def equivalent_diameters(seg):
    return 2.0 * np.sqrt(seg.area_px / np.pi)


GRID = [(64 + 128 * i, 64 + 128 * j) for i in range(3) for j in range(2)]
DIAMETERS_PX = np.array([12.0, 16.0, 20.0, 26.0, 34.0, 44.0])


def known_disc_image(rng, noise=3.0):
    discs = [(r, c, d / 2) for (r, c), d in zip(GRID, DIAMETERS_PX, strict=True)]
    return draw_discs((384, 256), discs) + rng.normal(0.0, noise, (384, 256))


def test_known_discs_are_counted_and_sized():
    image = known_disc_image(np.random.default_rng(0))
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM)
    assert seg.area_px.size == len(DIAMETERS_PX)
    order = np.argsort(seg.area_px)
    assert_allclose(equivalent_diameters(seg)[order], DIAMETERS_PX, rtol=0.04)
    assert_allclose(seg.row_px[order], [g[0] for g in GRID], atol=0.2)
    assert_allclose(seg.col_px[order], [g[1] for g in GRID], atol=0.2)
    assert seg.n_split == 0
    # Otsu's threshold lies between the film (50) and the particles (150).
    assert 60.0 < seg.threshold < 140.0
    assert_allclose(seg.background_level, 50.0, atol=2.0)


def test_given_threshold_at_half_height_sizes_large_discs_exactly():
    image = known_disc_image(np.random.default_rng(1), noise=1.0)
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM, threshold=100.0, background_um=None)
    assert seg.threshold == 100.0
    assert seg.otsu_threshold is None
    order = np.argsort(seg.area_px)
    # Half height is the edge of a blurred step: within a few % down to 16 px (curvature).
    assert_allclose(equivalent_diameters(seg)[order][1:], DIAMETERS_PX[1:], rtol=0.025)


def test_two_touching_discs_are_split_into_two():
    image = draw_discs((96, 96), [(48, 30, 10.0), (48, 30 + 18.5, 8.0)])
    image += np.random.default_rng(2).normal(0, 2.0, image.shape)
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM, background_um=None)
    assert seg.n_split == 1
    assert seg.area_px.size == 2
    order = np.argsort(seg.area_px)
    assert_allclose(equivalent_diameters(seg)[order], [16.0, 20.0], rtol=0.12)
    assert_allclose(seg.col_px[order], [48.5, 30.0], atol=1.5)
    unsplit = segment_particles(
        image, pixel_size_nm=PIXEL_NM, background_um=None, split_touching=False
    )
    assert unsplit.area_px.size == 1


def test_a_cluster_of_three_touching_discs_gives_three():
    centres = [(50, 40, 9.0), (50, 58.5, 9.0), (66, 49, 9.0)]
    image = draw_discs((110, 110), centres)
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM, background_um=None)
    assert seg.area_px.size == 3


@pytest.mark.parametrize(
    "shape_kind",
    ["round", "ellipse", "large round"],
)
def test_single_particles_are_not_over_segmented(shape_kind):
    rows, cols = np.indices((128, 128), dtype=float)
    rng = np.random.default_rng(3)
    if shape_kind == "ellipse":
        inside = ((rows - 64) / 9.0) ** 2 + ((cols - 64) / 24.0) ** 2 <= 1.0
    else:
        radius = 30.0 if shape_kind == "large round" else 8.0
        inside = np.hypot(rows - 64.3, cols - 63.6) <= radius
    image = 50 + 100 * ndi.gaussian_filter(inside.astype(float), 0.7)
    image += rng.normal(0.0, 6.0, image.shape)
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM, background_um=None)
    assert seg.area_px.size == 1
    assert seg.n_split == 0


def test_dark_particles_need_the_dark_polarity():
    bright = known_disc_image(np.random.default_rng(4))
    dark = 255.0 - bright
    ref = segment_particles(bright, pixel_size_nm=PIXEL_NM)
    seg = segment_particles(dark, pixel_size_nm=PIXEL_NM, polarity="dark")
    assert_allclose(np.sort(seg.area_px), np.sort(ref.area_px))
    assert_allclose(seg.threshold, 255.0 - ref.threshold, rtol=1e-5)
    assert_allclose(seg.background_level, 255.0 - ref.background_level, rtol=1e-5)
    with pytest.raises(AnalysisError, match="particles look darker than the film"):
        segment_particles(dark, pixel_size_nm=PIXEL_NM, polarity="bright")
    with pytest.raises(AnalysisError, match="polarity 'dark' is probably wrong"):
        segment_particles(bright, pixel_size_nm=PIXEL_NM, polarity="dark")


def test_a_given_threshold_follows_the_polarity():
    dark = 255.0 - known_disc_image(np.random.default_rng(5))
    seg = segment_particles(dark, pixel_size_nm=PIXEL_NM, polarity="dark", threshold=155.0)
    assert seg.threshold == 155.0
    assert seg.area_px.size == len(DIAMETERS_PX)


def test_rim_brightened_particles_are_filled():
    discs = [(40, 40, 14.0), (40, 100, 20.0)]
    image = draw_discs((80, 140), discs, rim=0.6, blur_px=0.5)
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM, threshold=110.0, background_um=None)
    assert seg.area_px.size == 2
    assert_allclose(np.sort(equivalent_diameters(seg)), [28.0, 40.0], rtol=0.05)


def test_background_flattening_removes_a_strong_shading_gradient():
    rng = np.random.default_rng(6)
    image = known_disc_image(rng)
    ramp = np.linspace(0.0, 120.0, image.shape[1])[None, :]
    shaded = image + ramp  # film 50 → 170 across the field: brighter than the particles' left
    seg = segment_particles(shaded, pixel_size_nm=PIXEL_NM, background_um=0.4)
    assert seg.area_px.size == len(DIAMETERS_PX)
    order = np.argsort(seg.area_px)
    assert_allclose(equivalent_diameters(seg)[order], DIAMETERS_PX, rtol=0.05)
    # Without flattening the shading dominates the image statistics and the particles are
    # lost below the (noise-floored) threshold.
    unflattened = segment_particles(shaded, pixel_size_nm=PIXEL_NM, background_um=None)
    assert unflattened.area_px.size < len(DIAMETERS_PX)


def test_noise_alone_gives_no_particles():
    rng = np.random.default_rng(7)
    image = 80.0 + rng.normal(0.0, 10.0, (256, 256))
    seg = segment_particles(image, pixel_size_nm=PIXEL_NM)
    assert seg.area_px.size == 0
    assert seg.threshold >= seg.background_level + 4.0 * seg.noise_sd
    assert seg.threshold > seg.otsu_threshold  # the noise floor, not Otsu, decided
    flat = segment_particles(np.full((64, 64), 7.0), pixel_size_nm=PIXEL_NM)
    assert flat.area_px.size == 0


def test_specks_below_the_minimum_area_are_dropped():
    image = draw_discs((64, 64), [(20, 20, 1.2), (40, 40, 8.0)], blur_px=0.3)
    seg = segment_particles(
        image, pixel_size_nm=PIXEL_NM, background_um=None, min_particle_area_px=20
    )
    assert seg.area_px.size == 1
    assert seg.n_specks == 1
    assert_allclose(seg.row_px[0], 40.0, atol=0.1)


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.zeros((32, 32, 3)), {}, "2-D"),
        (np.zeros((8, 64)), {}, "smaller than 16"),
        (np.full((32, 32), np.nan), {}, "NaN"),
        (np.zeros((32, 32)), {"threshold": "triangle"}, "not 'otsu'"),
        (np.zeros((32, 32)), {"polarity": "up"}, "polarity"),
        (np.zeros((32, 32)), {"sigma_px": -1}, "sigma"),
        (np.zeros((32, 32)), {"min_particle_area_px": 0}, "minimum particle area"),
        (np.zeros((32, 32)), {"pixel_size_nm": 0}, "pixel size"),
    ],
)
def test_bad_input_is_rejected_with_a_message(image, kwargs, message):
    options = {"pixel_size_nm": PIXEL_NM, **kwargs}
    with pytest.raises(AnalysisError, match=message):
        segment_particles(image, **options)
