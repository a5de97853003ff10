"""Tests of t_nuc(IRM) on analytic series and hand-built stacks with known rise times."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.irm_nucleation import (
    earliest_region,
    intensity_derivative,
    nucleation_time_map,
    optical_nucleation_time,
)
from core.errors import AnalysisError


def _uneven_times(rng, n, interval_s=0.23, jitter_s=0.01):
    times = np.concatenate([[0.0], np.cumsum(rng.normal(interval_s, jitter_s, n - 1))])
    return times


def _logistic(t, center_s, width_s):
    return 1.0 / (1.0 + np.exp(-(t - center_s) / width_s))


# --- derivative ----------------------------------------------------------------------------
def test_derivative_of_a_line_is_exact_at_uneven_times():
    rng = np.random.default_rng(0)
    times = _uneven_times(rng, 40, jitter_s=0.05)
    row_times, slope = intensity_derivative(3.0 + 12.5 * times, times, window_s=1.2)
    assert row_times.size == 40 - 4  # 5-frame window: 2 frames lost at each end
    assert_allclose(row_times, times[2:-2], atol=0.5 * 0.23)  # near their centre frames
    assert_allclose(slope, 12.5, rtol=1e-4)


def test_derivative_of_a_parabola_is_exact_at_the_row_times():
    rng = np.random.default_rng(11)
    times = _uneven_times(rng, 60, jitter_s=0.03)
    row_times, slope = intensity_derivative(4.0 * times**2 - times, times, window_s=1.6)
    assert np.all(np.diff(row_times) > 0)
    assert_allclose(slope, 8.0 * row_times - 1.0, rtol=1e-4, atol=1e-3)
    # a filter that took the samples as evenly spaced would be off by about f''·jitter
    from scipy.signal import savgol_filter

    naive = savgol_filter(4.0 * times**2 - times, 7, 2, deriv=1, delta=np.mean(np.diff(times)))
    assert np.max(np.abs(naive[3:-3] - (8.0 * times[3:-3] - 1.0))) > 0.1


# --- one region ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("interval_s", "noise", "center_s", "width_s"),
    [(0.23, 2.0, 12.0, 0.6), (0.1, 5.0, 4.3, 0.3), (0.5, 1.0, 30.0, 1.5)],
)
def test_optical_nucleation_time_finds_the_inflection_of_a_rise(
    interval_s, noise, center_s, width_s
):
    errors = []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = int(2.5 * center_s / interval_s)
        times = _uneven_times(rng, n, interval_s, 0.04 * interval_s)
        sei = 3.0 * times  # slow uniform SEI/alloy rise
        intensity = 1000.0 + sei + 200.0 * _logistic(times, center_s, width_s)
        intensity += rng.normal(0.0, noise, n)
        errors.append(optical_nucleation_time(intensity, times, window_s=2.0 * width_s) - center_s)
    # unbiased, and precise to a fraction of a frame for these noise levels (sd ≈ 0.09 s)
    assert abs(np.mean(errors)) < 0.05
    assert np.sqrt(np.mean(np.square(errors))) < 0.15


def test_optical_nucleation_time_takes_the_peak_before_the_electrochemical_t_nuc():
    rng = np.random.default_rng(2)
    times = _uneven_times(rng, 100)
    # a first onset at 6 s and a larger, later one at 15 s
    intensity = 500.0 + 60.0 * _logistic(times, 6.0, 0.4) + 300.0 * _logistic(times, 15.0, 0.4)
    intensity += rng.normal(0.0, 1.0, times.size)
    assert optical_nucleation_time(intensity, times) == pytest.approx(15.0, abs=0.1)
    before = optical_nucleation_time(intensity, times, window_s=1.0, t_nuc_echem_s=7.5)
    assert before == pytest.approx(6.0, abs=0.1)
    window = optical_nucleation_time(intensity, times, search_start_s=10.0, search_end_s=20.0)
    assert window == pytest.approx(15.0, abs=0.1)
    # without a window, a tenth of t_nuc (the dI/dt peak widens with t_nuc)
    auto = optical_nucleation_time(intensity, times, t_nuc_echem_s=16.0)
    assert auto == optical_nucleation_time(intensity, times, window_s=1.6, t_nuc_echem_s=16.0)
    assert auto != optical_nucleation_time(intensity, times, window_s=1.0, t_nuc_echem_s=16.0)


def test_a_peak_on_the_last_frame_before_t_nuc_counts():
    times = np.arange(40) * 0.25
    intensity = 100.0 * _logistic(times, 5.0, 0.4)  # dI/dt peaks on the frame at 5.0 s
    found = optical_nucleation_time(intensity, times, window_s=1.0, t_nuc_echem_s=5.1)
    assert found == pytest.approx(5.0, abs=1e-6)


def test_optical_nucleation_time_is_none_without_a_rise():
    rng = np.random.default_rng(3)
    times = _uneven_times(rng, 80)
    ramp = 800.0 + 4.0 * times + rng.normal(0.0, 2.0, times.size)
    assert optical_nucleation_time(ramp, times) is None
    falling = 800.0 - 150.0 * _logistic(times, 9.0, 0.5) + rng.normal(0.0, 2.0, times.size)
    assert optical_nucleation_time(falling, times) is None
    # a rise still under way at the end of the search window has no maximum inside it
    rising = 800.0 + 150.0 * _logistic(times, 12.0, 0.5) + rng.normal(0.0, 0.5, times.size)
    assert optical_nucleation_time(rising, times, t_nuc_echem_s=11.0) is None


def test_a_rise_must_stand_out_of_the_noise():
    rng = np.random.default_rng(4)
    times = _uneven_times(rng, 80)
    step = 30.0 * _logistic(times, 9.0, 0.5)
    quiet = 800.0 + step + rng.normal(0.0, 1.0, times.size)
    noisy = 800.0 + step + rng.normal(0.0, 20.0, times.size)
    assert optical_nucleation_time(quiet, times) == pytest.approx(9.0, abs=0.1)
    assert optical_nucleation_time(noisy, times) is None


def test_optical_nucleation_time_rejects_a_window_too_short_to_search():
    times = np.arange(12) * 0.23
    with pytest.raises(AnalysisError, match="3 are needed to find a maximum"):
        optical_nucleation_time(np.arange(12.0), times, window_s=1.0, t_nuc_echem_s=0.5)
    with pytest.raises(AnalysisError, match="times_s has 11 values for 12 frames"):
        optical_nucleation_time(np.arange(12.0), times[:-1])


# --- maps ----------------------------------------------------------------------------------
def _rising_stack(*, seed=5, n_frames=90, shape=(26, 31), amplitude=150.0, noise=3.0):
    """uint16 stack with a logistic rise per pixel at a known time; some pixels never rise,
    some fall (inverted contrast)."""
    rng = np.random.default_rng(seed)
    times = _uneven_times(rng, n_frames)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    truth = 8.0 + 0.15 * cols + 0.05 * rows + rng.normal(0.0, 0.3, shape)
    kind = np.zeros(shape, dtype=int)  # 0 rises, 1 flat, 2 falls
    kind[rng.random(shape) < 0.1] = 1
    kind[rng.random(shape) < 0.08] = 2
    sign = np.choose(kind, [1.0, 0.0, -1.0])
    rise = _logistic(times[:, None, None], truth, 0.4)
    movie = 2000.0 + 5.0 * times[:, None, None] + amplitude * sign * rise
    movie += rng.normal(0.0, noise, movie.shape)
    return np.round(movie).astype(np.uint16), times, truth, kind


def test_map_recovers_per_pixel_times_and_leaves_others_nan():
    movie, times, truth, kind = _rising_stack()
    t_map = nucleation_time_map(movie, times, window_s=1.0)
    assert t_map.dtype == np.float32 and t_map.shape == truth.shape
    risers = kind == 0
    assert np.isfinite(t_map[risers]).mean() > 0.97
    assert np.isnan(t_map[kind != 0]).mean() > 0.97
    error = t_map[risers] - truth[risers]
    assert np.nanmedian(np.abs(error)) < 0.06  # a quarter of the 0.23 s frame interval
    assert abs(np.nanmedian(error)) < 0.02


def test_map_equals_the_region_function_pixel_by_pixel():
    movie, times, _, _ = _rising_stack(seed=6, shape=(6, 7))
    options = {"window_s": 1.4, "t_nuc_echem_s": 16.0, "min_snr": 4.0}
    t_map = nucleation_time_map(movie, times, **options)
    for r, c in [(0, 0), (2, 5), (5, 6), (3, 1)]:
        single = optical_nucleation_time(movie[:, r, c].astype(float), times, **options)
        if single is None:
            assert np.isnan(t_map[r, c])
        else:
            assert_allclose(t_map[r, c], single, atol=2e-3)


def test_map_is_independent_of_tiling_and_honours_the_mask():
    movie, times, _, _ = _rising_stack(seed=7)
    mask = np.zeros(movie.shape[1:], dtype=bool)
    mask[4:20, 3:25] = True
    whole = nucleation_time_map(movie, times, mask=mask)
    tiled = nucleation_time_map(movie, times, mask=mask, tile_bytes=1)  # one row per tile
    assert_array_equal(np.isnan(whole), np.isnan(tiled))
    assert_allclose(whole, tiled, equal_nan=True, atol=1e-4)
    assert np.isnan(whole[~mask]).all()
    assert np.isfinite(whole[mask]).mean() > 0.75
    # a float stack (e.g. already processed) gives the same map as its uint16 counts
    as_float = nucleation_time_map(movie.astype(np.float64), times, mask=mask)
    assert_allclose(as_float, whole, equal_nan=True, atol=1e-4)


def test_block_map_averages_blocks_including_ragged_edges():
    rng = np.random.default_rng(8)
    times = _uneven_times(rng, 90)
    shape, block = (22, 27), 6  # 4 × 5 blocks; the last row and column of blocks are partial
    block_times = 7.0 + 6.0 * rng.random((4, 5))
    truth = np.repeat(np.repeat(block_times, block, axis=0), block, axis=1)[:22, :27]
    rise = _logistic(times[:, None, None], truth, 0.4)
    movie = 1500.0 + 60.0 * rise + rng.normal(0.0, 6.0, (90, *shape))  # too noisy per pixel
    movie = np.round(movie).astype(np.uint16)
    assert np.isnan(nucleation_time_map(movie, times)).mean() > 0.3
    t_map = nucleation_time_map(movie, times, block_px=block)
    assert np.isfinite(t_map).all()
    assert_allclose(t_map, truth, atol=0.25)  # about a frame: 18-px edge blocks are noisy
    for r0 in range(0, 22, block):  # one value per block: the region rule on the block mean
        for c0 in range(0, 27, block):
            values = t_map[r0 : r0 + block, c0 : c0 + block]
            assert np.ptp(values) == 0.0
            series = movie[:, r0 : r0 + block, c0 : c0 + block].mean(axis=(1, 2))
            assert_allclose(values[0, 0], optical_nucleation_time(series, times), atol=2e-3)


def test_block_map_averages_only_the_masked_pixels_of_edge_blocks():
    rng = np.random.default_rng(12)
    times = _uneven_times(rng, 80)
    t = times[:, None, None]
    # inside the mask a rise at 8 s; outside, a larger one at 12 s that must not leak in
    mask = np.zeros((12, 12), dtype=bool)
    mask[:, :5] = True  # the 8-px blocks of columns 0–7 straddle the mask's edge
    inside = np.where(mask, 100.0 * _logistic(t, 8.0, 0.4), 300.0 * _logistic(t, 12.0, 0.4))
    movie = np.round(1000.0 + inside + rng.normal(0.0, 2.0, inside.shape)).astype(np.uint16)
    t_map = nucleation_time_map(movie, times, block_px=8, mask=mask)
    assert np.isnan(t_map[~mask]).all()
    assert_allclose(t_map[mask], 8.0, atol=0.05)
    series = movie[:, :8, :5].mean(axis=(1, 2))
    assert_allclose(t_map[0, 0], optical_nucleation_time(series, times), atol=2e-3)


def test_map_takes_the_rise_before_the_electrochemical_t_nuc():
    rng = np.random.default_rng(9)
    times = _uneven_times(rng, 100)
    first = 5.0 + rng.random((8, 9))
    t = times[:, None, None]
    movie = 1000.0 + 80.0 * _logistic(t, first, 0.3) + 400.0 * _logistic(t, 17.0, 0.3)
    movie = np.round(movie + rng.normal(0.0, 1.0, movie.shape)).astype(np.uint16)
    t_map = nucleation_time_map(movie, times, t_nuc_echem_s=10.0)
    assert_allclose(t_map, first, atol=0.1)
    assert_allclose(nucleation_time_map(movie, times), 17.0, atol=0.1)


def test_map_rejects_mismatched_inputs():
    movie, times, _, _ = _rising_stack(seed=10, shape=(4, 4))
    with pytest.raises(AnalysisError, match=r"mask shape \(3, 4\) differs"):
        nucleation_time_map(movie, times, mask=np.ones((3, 4), dtype=bool))
    with pytest.raises(AnalysisError, match="block_px must be >= 1"):
        nucleation_time_map(movie, times, block_px=0)
    empty = nucleation_time_map(movie, times, mask=np.zeros((4, 4), dtype=bool))
    assert np.isnan(empty).all()


# --- earliest region -----------------------------------------------------------------------
def test_earliest_region_finds_the_early_block():
    t_map = np.full((60, 70), 10.0, dtype=np.float32)
    rows, cols = np.ogrid[:60, :70]
    t_map[(rows - 30) ** 2 + (cols - 35) ** 2 > 28**2] = np.nan
    t_map[20:34, 41:55] = 8.5  # 14 × 14 px early cluster
    t_map[22, 45] = np.nan  # a pixel without a time inside it
    region = earliest_region(t_map, block_px=14)
    assert region.rows == (20, 34) and region.cols == (41, 55)
    assert region.center_px == (47.5, 26.5)
    assert region.t_nuc_s == pytest.approx(8.5)
    assert region.valid_fraction == pytest.approx(1 - 1 / 196)


def test_earliest_region_needs_enough_valid_pixels():
    t_map = np.full((30, 30), np.nan)
    t_map[5, 5] = 1.0  # a single early pixel is not a region
    t_map[10:20, 10:20] = 4.0
    region = earliest_region(t_map, block_px=10, min_valid_fraction=0.95)
    assert region.rows == (10, 20) and region.t_nuc_s == 4.0
    assert earliest_region(np.full((30, 30), np.nan), block_px=10) is None


# --- against the movie twin ----------------------------------------------------------------
def _twin(current_density, duration_s, seed):
    from core.simulate.movie import simulate_irm_movie

    movie = simulate_irm_movie(
        current_density_mA_cm2=current_density, duration_s=duration_s, seed=seed
    )
    landing = movie.truth["landing_frame"]
    return movie, movie.frames[landing:], movie.times_s[landing:] - movie.times_s[landing]


@pytest.mark.parametrize(
    ("current_density", "duration_s", "seed"), [(0.78, 6.0, 3), (0.39, 10.0, 12), (0.2, 25.0, 4)]
)
def test_twin_footprint_t_nuc_within_two_frames_before_the_echem_t_nuc(
    current_density, duration_s, seed
):
    movie, frames, times = _twin(current_density, duration_s, seed)
    truth = movie.truth
    intensity = frames[:, movie.footprint_mask].mean(axis=1)
    found = optical_nucleation_time(intensity, times, t_nuc_echem_s=truth["t_nuc_s"])
    frame_s = float(np.median(np.diff(times)))
    assert found == pytest.approx(truth["t_nuc_irm_s"], abs=2 * frame_s)
    assert found < truth["t_nuc_s"]  # the optical onset leads the potential minimum


@pytest.mark.parametrize(
    ("current_density", "duration_s", "seed"), [(0.78, 6.0, 3), (0.78, 6.0, 11)]
)
def test_twin_block_map_and_earliest_region(current_density, duration_s, seed):
    movie, frames, times = _twin(current_density, duration_s, seed)
    truth = movie.truth
    mask = movie.footprint_mask
    t_map = nucleation_time_map(
        frames, times, block_px=14, mask=mask, t_nuc_echem_s=truth["t_nuc_s"]
    )
    valid = np.isfinite(t_map)
    assert valid[mask].mean() > 0.65  # the rest: edge blocks and blocks with few particles
    error = (t_map - movie.t_nuc_map_s)[valid]
    spread = truth["t_nuc_map_sd_s"]
    assert np.median(np.abs(error)) < 0.4 * spread
    assert abs(np.median(error)) < 0.2 * spread
    assert np.corrcoef(t_map[valid], movie.t_nuc_map_s[valid])[0, 1] > 0.8
    region = earliest_region(t_map, block_px=14)
    early = truth["earliest_region"]
    distance = np.hypot(*np.subtract(region.center_px, early["center_px"]))
    assert distance < early["radius_px"] + 7.0  # the block overlaps the early cluster
    assert region.t_nuc_s == pytest.approx(early["mean_t_nuc_s"], abs=0.5 * spread)
