"""Tests of CE(IRM): per-cycle I_a/I_c, its calibration against CE, and the maps."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.analysis.ce_irm import (
    CeCalibration,
    calibrate_ce,
    ce_irm_maps,
    ia_ic_maps,
    ia_ic_ratio,
    temporal_noise_sd,
)
from core.errors import AnalysisError

BOUNDS = np.array([[0.0, 4.0, 8.0], [8.0, 12.0, 16.0], [16.0, 20.0, 24.0]])


def _smooth_ramp(x):
    """0 → 1 with zero slope at both ends: intensity follows the deposited charge, whose rate
    (the current) passes through zero where plating ends and stripping begins."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _cycle_curve(times, plated, stripped):
    """Intensity that rises by ``plated[k]`` over each cycle's plating and falls by
    ``stripped[k]`` over its stripping (cumulative)."""
    level = np.zeros_like(times)
    for (start, vertex, end), up, down in zip(BOUNDS, plated, stripped, strict=True):
        level += up * _smooth_ramp((times - start) / (vertex - start))
        level -= down * _smooth_ramp((times - vertex) / (end - vertex))
    return level


def test_ia_ic_ratio_of_a_piecewise_linear_series_is_exact():
    times = np.arange(0.0, 24.01, 0.1)
    plated, stripped = np.array([50.0, 40.0, 30.0]), np.array([15.0, 24.0, 27.0])
    intensity = 700.0 + _cycle_curve(times, plated, stripped)
    result = ia_ic_ratio(intensity, times, BOUNDS, average_s=0.0)
    assert_allclose(result.ic, plated)
    assert_allclose(result.ia, stripped)
    assert_allclose(result.ratio, [0.3, 0.6, 0.9])


def test_ia_ic_ratio_averages_frames_around_the_bounds():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.2, 0.26, 120))
    times -= times[0]
    plated, stripped = np.array([80.0, 80.0, 80.0]), np.array([20.0, 40.0, 60.0])
    noise = rng.normal(0.0, 1.0, times.size)
    series = _cycle_curve(times, plated, stripped) + noise
    averaged = ia_ic_ratio(series, times, BOUNDS, average_s=0.7)
    assert_allclose(averaged.ratio, [0.25, 0.5, 0.75], atol=0.03)
    interpolated = ia_ic_ratio(series, times, BOUNDS)
    assert_allclose(interpolated.ratio, [0.25, 0.5, 0.75], atol=0.05)


def test_calibration_recovers_the_line_and_applies_it():
    ratio = np.array([0.3, 0.5, 0.7, 0.9])
    ce = 1.1 * ratio - 0.05
    calibration = calibrate_ce(ratio, ce)
    assert_allclose([calibration.slope, calibration.intercept], [1.1, -0.05])
    assert calibration.r2 == pytest.approx(1.0)
    assert calibration.n_cycles == 4
    assert_allclose(calibration.apply(np.array([[0.4, np.nan]])), [[0.39, np.nan]])
    partial = calibrate_ce([0.3, np.nan, 0.7], [0.28, 0.5, 0.72])
    assert partial.n_cycles == 2
    with pytest.raises(AnalysisError, match="1 cycles with finite, distinct I_a/I_c"):
        calibrate_ce([0.3, np.nan], [0.3, 0.5])


def test_temporal_noise_ignores_slopes_and_uneven_times():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.15, 0.35, 300))
    sigma = np.array([[2.0, 5.0], [9.0, 0.5]])
    ramps = 40.0 * times[:, None, None] * np.array([[1.0, -2.0], [0.5, 3.0]])
    frames = ramps + rng.normal(0.0, 1.0, (300, 2, 2)) * sigma
    assert_allclose(temporal_noise_sd(frames, times), sigma, rtol=0.15)


def _cycling_stack(seed=2):
    """(T, 20, 24) stack: every pixel plates by its own I_c per cycle and strips a known share;
    one column inverts contrast (darkens on plating), one plates nothing."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.21, 0.25, 110))
    times -= times[0]
    shape = (20, 24)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    ic = 120.0 + 3.0 * cols  # counts per cycle
    share = np.stack([0.3 + 0.01 * rows, 0.6 + 0.01 * rows, 0.8 + 0.005 * rows])  # I_a / I_c
    ic_maps = np.broadcast_to(ic, (3, *shape)).copy()
    ic_maps[:, :, 5] *= -1.0  # inverted contrast
    ic_maps[:, :, 9] = 0.0  # no deposit
    frames = np.full((times.size, *shape), 1500.0)
    for k, (start, vertex, end) in enumerate(BOUNDS):
        frames += ic_maps[k] * _smooth_ramp((times - start) / (vertex - start))[:, None, None]
        down = ic_maps[k] * share[k]
        frames -= down * _smooth_ramp((times - vertex) / (end - vertex))[:, None, None]
    frames += rng.normal(0.0, 4.0, frames.shape)
    return np.round(frames).astype(np.uint16), times, share


def test_ia_ic_maps_recover_each_pixel_and_mask_inverted_or_flat_pixels():
    frames, times, share = _cycling_stack()
    bounds = BOUNDS.copy()
    bounds[-1, 2] = times[-1]
    mask = np.ones(frames.shape[1:], dtype=bool)
    mask[0, :] = False
    maps = ia_ic_maps(frames, times, bounds, mask=mask)
    assert maps.ratio.shape == (3, 20, 24) and maps.ratio.dtype == np.float32
    assert np.isnan(maps.ratio[:, :, 5]).all()  # plating darkens: not reported
    assert np.isnan(maps.ratio[:, :, 9]).all()  # no rise: not reported
    assert np.isnan(maps.ratio[:, 0, :]).all()  # outside the mask
    good = np.ones((20, 24), dtype=bool)
    good[:, [5, 9]] = False
    good[0] = False
    assert np.isfinite(maps.ratio[:, good]).all()
    error = maps.ratio[:, good] - share[:, good]
    # noise 4 counts on rises of 120–190 counts: about 0.03 of ratio per pixel, unbiased
    assert np.sqrt(np.mean(error**2)) < 0.04
    assert_allclose(np.median(error, axis=1), 0.0, atol=0.01)


def test_ce_irm_maps_apply_the_calibration_per_pixel():
    frames, times, _ = _cycling_stack(seed=3)
    bounds = BOUNDS.copy()
    bounds[-1, 2] = times[-1]
    calibration = CeCalibration(slope=1.2, intercept=-0.1, r2=1.0, n_cycles=3)
    ce_maps = ce_irm_maps(frames, times, bounds, calibration)
    ratio = ia_ic_maps(frames, times, bounds).ratio
    assert ce_maps.dtype == np.float32
    assert_allclose(ce_maps, 1.2 * ratio - 0.1, rtol=1e-6, equal_nan=True)


def test_bounds_are_checked():
    times = np.arange(0.0, 24.0, 0.25)
    with pytest.raises(AnalysisError, match=r"cycle 2 bounds \[8.0, 7.0, 16.0\] s are not"):
        ia_ic_ratio(times, times, [[0.0, 4.0, 8.0], [8.0, 7.0, 16.0]])
    with pytest.raises(AnalysisError, match="fall outside the movie's 0–23.75 s"):
        ia_ic_ratio(times, times, [[0.0, 4.0, 30.0]])
    with pytest.raises(AnalysisError, match=r"must be \(cycles, 3\)"):
        ia_ic_ratio(times, times, [0.0, 4.0, 8.0])


# --- against the CV movie twin -------------------------------------------------------------
@pytest.fixture(scope="module")
def cv_movie():
    from core.simulate.movie_cv import simulate_irm_cv_movie

    ce = [0.3, 0.55, 0.75, 0.85]
    return simulate_irm_cv_movie(
        cycle_times_s=[(0, 3, 6), (6, 9, 12), (12, 15, 18), (18, 21, 24)],
        q_c_C=[3e-10] * 4,
        q_a_C=[c * 3e-10 for c in ce],
        footprint_diameter_um=5.0,
        inverted_fraction=0.05,
        seed=1,
    )


def _twin_bounds(movie, times_s):
    truth = movie.truth
    cycles = zip(truth["cycle_times_s"], truth["plating_end_s"], strict=True)
    bounds = np.array([[cycle[0], end, cycle[2]] for cycle, end in cycles])
    bounds[-1, 2] = min(bounds[-1, 2], times_s[-1])
    return bounds


def test_twin_footprint_ratio_and_calibration(cv_movie):
    truth = cv_movie.truth
    landing = truth["landing_frame"]
    frames = cv_movie.frames[landing:]
    times = cv_movie.times_s[landing:] - cv_movie.times_s[landing]
    bounds = _twin_bounds(cv_movie, times)
    mean = frames[:, cv_movie.footprint_mask].mean(axis=1)
    footprint = ia_ic_ratio(mean, times, bounds)
    assert_allclose(footprint.ratio, truth["ia_ic_mean"], atol=0.03)
    calibration = calibrate_ce(footprint.ratio, truth["ce_electrochemical"])
    # the twin's law I_a/I_c = m·CE + b, inverted
    assert calibration.slope == pytest.approx(1.0 / truth["ia_ic_slope"], rel=0.1)
    assert calibration.intercept == pytest.approx(
        -truth["ia_ic_intercept"] / truth["ia_ic_slope"], abs=0.05
    )
    assert calibration.r2 > 0.98


def test_twin_maps_follow_the_truth_and_drop_inverted_pixels(cv_movie):
    truth = cv_movie.truth
    landing = truth["landing_frame"]
    frames = cv_movie.frames[landing:]
    times = cv_movie.times_s[landing:] - cv_movie.times_s[landing]
    mask = cv_movie.footprint_mask
    maps = ia_ic_maps(frames, times, _twin_bounds(cv_movie, times), mask=mask)
    inverted = cv_movie.inverted_mask & mask
    normal = mask & ~cv_movie.inverted_mask
    assert np.isnan(maps.ratio[:, inverted]).mean() > 0.99
    assert np.isnan(maps.ratio[:, ~mask]).all()
    reported = np.isfinite(maps.ratio[:, normal])
    assert reported.mean() > 0.4  # single raw pixels: I_c is only ~3 noise sd
    error = (maps.ratio - cv_movie.ia_ic_maps)[:, normal]
    assert_allclose(np.nanmedian(error, axis=1), 0.0, atol=0.05)
