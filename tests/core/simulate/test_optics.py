"""Tests of the IRM microscope/camera model: PSF, illumination, shot and read noise, digitising."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.errors import MeniscusError
from core.simulate.optics import (
    LAB_OPTICS,
    IrmOptics,
    blur,
    expose,
    flicker_factors,
    illumination_counts,
)


def test_psf_is_the_abbe_limit_of_the_lab_objective():
    assert_allclose(LAB_OPTICS.psf_fwhm_nm(), 560.0 / 1.9)
    assert_allclose(LAB_OPTICS.psf_sigma_px(40.0), 294.7368 / 2.354820 / 40.0, rtol=1e-5)


def test_blurred_point_has_the_psf_width_and_keeps_its_total():
    point = np.zeros((101, 101), dtype=np.float32)
    point[50, 50] = 1.0
    sigma = LAB_OPTICS.psf_sigma_px(20.0)
    image = blur(point, sigma)
    assert_allclose(image.sum(), 1.0, rtol=1e-5)
    profile = image[50] / image[50].max()
    above = np.flatnonzero(profile >= 0.5)
    # FWHM from the half-maximum crossings, interpolated linearly on both sides
    left = above[0] - (profile[above[0]] - 0.5) / (profile[above[0]] - profile[above[0] - 1])
    right = above[-1] + (profile[above[-1]] - 0.5) / (profile[above[-1]] - profile[above[-1] + 1])
    assert_allclose((right - left) * 20.0, LAB_OPTICS.psf_fwhm_nm(), rtol=0.02)


def test_blur_of_a_stack_does_not_mix_frames():
    stack = np.zeros((3, 32, 32), dtype=np.float32)
    stack[1, 16, 16] = 1.0
    out = blur(stack, 2.0)
    assert out[0].max() == 0.0 and out[2].max() == 0.0
    assert_allclose(out[1].sum(), 1.0, rtol=1e-4)


def test_illumination_has_the_level_and_gradient_asked_for():
    optics = IrmOptics(illumination_gradient=(0.10, 0.0))
    b = illumination_counts(
        (200, 200), pixel_size_nm=40.0, optics=optics, rng=np.random.default_rng(1)
    )
    assert_allclose(b.mean(), optics.background_counts, rtol=0.005)
    left, right = b[:, :20].mean(), b[:, -20:].mean()
    assert_allclose((right - left) / b.mean(), 0.10 * 180 / 199, atol=0.01)


def test_bright_pixels_have_shot_plus_read_noise_and_the_offset():
    optics = IrmOptics(
        gain_counts_per_electron=0.25, read_noise_counts=2.0, dark_offset_counts=100.0
    )
    signal = np.full((400, 400), 1800.0, dtype=np.float32)
    counts = expose(signal, optics=optics, bit_depth=12, rng=np.random.default_rng(2))
    assert counts.dtype == np.uint16
    assert_allclose(counts.mean(), 1900.0, atol=0.2)
    # variance: gain·signal (shot) + read² + 1/12 (rounding)
    assert_allclose(counts.astype(float).var(), 0.25 * 1800 + 4.0 + 1 / 12, rtol=0.02)


def test_dim_pixels_follow_poisson_statistics():
    optics = IrmOptics(gain_counts_per_electron=1.0, read_noise_counts=0.0, dark_offset_counts=0.0)
    counts = expose(
        np.full(200_000, 3.0), optics=optics, bit_depth=12, rng=np.random.default_rng(3)
    ).astype(float)
    assert np.all(counts == np.round(counts))
    assert_allclose(counts.mean(), 3.0, atol=0.02)
    assert_allclose(counts.var(), 3.0, rtol=0.03)
    assert_allclose(np.mean(counts == 0), np.exp(-3.0), rtol=0.05)


def test_counts_clip_to_the_bit_depth():
    counts = expose(
        np.array([-50.0, 10_000.0]), optics=LAB_OPTICS, bit_depth=12, rng=np.random.default_rng(4)
    )
    assert counts[1] == 4095
    assert counts[0] < 200  # negative signal means no light: offset and read noise only
    with pytest.raises(MeniscusError, match="bit_depth 17 is outside"):
        expose(np.ones(3), optics=LAB_OPTICS, bit_depth=17, rng=np.random.default_rng(0))


def test_flicker_is_small_and_common_to_a_frame():
    factors = flicker_factors(
        5000, optics=IrmOptics(flicker_fraction=0.002), rng=np.random.default_rng(5)
    )
    assert factors.shape == (5000,)
    assert_allclose(factors.mean(), 1.0, atol=1e-4)
    assert_allclose(factors.std(), 0.002, rtol=0.05)
