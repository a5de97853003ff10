"""Tests of the IRM movie pipeline on hand-built movies with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage

from core.analysis.irm import (
    cumulative_charge_at,
    detect_landing,
    find_footprint,
    fit_alpha,
    frame_triple_weights,
    iter_frame_chunks,
    process_movie,
)
from core.errors import AnalysisError
from core.units import FARADAY_C_PER_MOL, LI_MOLAR_VOLUME_M3_PER_MOL


def _disc(shape, center_xy, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (cols - center_xy[0]) ** 2 + (rows - center_xy[1]) ** 2 <= radius**2


def _landing_movie(
    *,
    seed=0,
    n_frames=30,
    landing=9,
    shape=(96, 128),
    center_xy=(70.0, 45.0),
    radius=30.0,
    step=-0.05,
    partial=None,
):
    """uint16 movie: textured, drifting, flickering background; a disc steps at ``landing``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    background = 2000.0 * (1.0 + 0.15 * np.sin(cols / 17.0) * np.cos(rows / 23.0))
    disc = _disc(shape, center_xy, radius)
    frames = np.empty((n_frames, *shape), dtype=np.uint16)
    for k in range(n_frames):
        gain = 1.0 + 0.03 * np.sin(k / 4.0)  # slow LED drift, several times the step per movie
        if k == 3:
            gain *= 1.08  # one global flicker before landing: not a landing
        relative = np.zeros(shape)
        if k >= landing:
            relative[disc] = step
        if partial is not None and k == landing:
            relative[disc] = partial * step
        if k >= landing:
            relative[disc] += 0.002 * (k - landing)  # slow deposit after contact
        image = background * gain * (1.0 + relative)
        if k == 5:
            image[10:30, 10:30] *= 1.2  # a one-frame local glitch before landing
        frames[k] = np.clip(rng.poisson(image), 0, 4095)
    return frames


# --- chunked access ------------------------------------------------------------------------
def test_iter_frame_chunks_reads_arrays_in_chunks_and_accepts_streams():
    movie = np.arange(7 * 2 * 3, dtype=np.uint16).reshape(7, 2, 3)
    chunks = list(iter_frame_chunks(movie, chunk_frames=3))
    assert [c.shape[0] for c in chunks] == [3, 3, 1]
    assert_array_equal(np.concatenate(chunks), movie)
    stream = list(iter_frame_chunks(iter([movie[0], movie[1:4]])))
    assert [c.shape for c in stream] == [(1, 2, 3), (3, 2, 3)]
    with pytest.raises(AnalysisError, match=r"must be \(T, R, C\)"):
        list(iter_frame_chunks(np.zeros((4, 4))))


def test_frame_triple_weights_cancel_any_line_at_uneven_times():
    times = np.array([0.0, 0.2, 0.5, 0.7, 0.75, 1.1])
    a, b, norm = frame_triple_weights(times)
    x = 3.0 - 7.0 * times
    t = x.reshape(2, 3)
    assert_allclose(t[:, 1] - a * t[:, 0] - b * t[:, 2], 0.0, atol=1e-12)
    assert_allclose(norm, np.sqrt(1 + a**2 + b**2))


# --- landing -------------------------------------------------------------------------------
def test_detect_landing_finds_the_step_despite_drift_flicker_and_a_glitch():
    movie = _landing_movie()
    assert detect_landing(movie) == 9


def test_detect_landing_reads_a_stream_of_chunks_split_at_the_landing():
    movie = _landing_movie(seed=1)
    stream = iter([movie[:4], movie[4:9], movie[9:10], movie[10:]])
    assert detect_landing(stream) == 9


def test_detect_landing_reports_a_partial_exposure_at_the_partial_frame():
    movie = _landing_movie(seed=2, landing=12, partial=0.4)
    assert detect_landing(movie) == 12


def test_detect_landing_finds_a_small_bright_footprint():
    # 8 % of the frame, brighter on contact, landing early in the movie
    movie = _landing_movie(seed=3, landing=2, radius=12.0, step=0.04)
    assert detect_landing(movie) == 2


def test_detect_landing_respects_a_region_mask():
    movie = _landing_movie(seed=4)
    region = np.zeros(movie.shape[1:], dtype=bool)
    region[40:90, 40:128] = True
    assert detect_landing(movie, mask=region) == 9


def test_detect_landing_raises_without_a_step():
    rng = np.random.default_rng(5)
    movie = rng.poisson(2000.0, size=(20, 64, 64)).astype(np.uint16)
    with pytest.raises(AnalysisError, match="no landing step found in 20 frames"):
        detect_landing(movie)


# --- footprint -----------------------------------------------------------------------------
@pytest.mark.parametrize("contrast", [80.0, -80.0])
def test_find_footprint_recovers_centre_and_radius(contrast):
    rng = np.random.default_rng(6)
    shape = (200, 240)
    image = contrast * _disc(shape, (131.3, 92.7), 61.0) + rng.normal(0.0, 40.0, shape)
    footprint = find_footprint(image, pixel_size_nm=40.0)
    assert_allclose(footprint.center_px, (131.3, 92.7), atol=0.5)
    assert_allclose(footprint.radius_px, 61.0, rtol=0.02)
    assert_allclose(footprint.diameter_um(40.0), 2 * 61.0 * 0.04, rtol=0.02)
    assert footprint.area_px == footprint.mask.sum()
    overlap = (footprint.disc_mask() & _disc(shape, (131.3, 92.7), 61.0)).sum()
    assert overlap / footprint.area_px > 0.97


def test_find_footprint_picks_the_component_of_the_expected_size():
    shape = (200, 200)
    image = 100.0 * _disc(shape, (60.0, 60.0), 45.0) + 100.0 * _disc(shape, (160.0, 160.0), 25.0)
    footprint = find_footprint(image, pixel_size_nm=40.0, expected_diameter_um=2.0)
    assert_allclose(footprint.center_px, (160.0, 160.0), atol=0.5)
    largest = find_footprint(image, pixel_size_nm=40.0)
    assert_allclose(largest.center_px, (60.0, 60.0), atol=0.5)
    with pytest.raises(AnalysisError, match=r"differs from the expected 10\.00 µm"):
        find_footprint(image, pixel_size_nm=40.0, expected_diameter_um=10.0)


def test_find_footprint_rejects_a_flat_image():
    with pytest.raises(AnalysisError, match="flat"):
        find_footprint(np.zeros((50, 50)), pixel_size_nm=40.0)


# --- processed stack -----------------------------------------------------------------------
def _ramp_movie(*, seed=7, n_frames=25, landing=5, slope=40.0, noise=0.0):
    """Disc that steps at ``landing`` then brightens at ``slope`` counts/s; uneven times."""
    rng = np.random.default_rng(seed)
    shape = (80, 100)
    times = 12.0 + np.cumsum(rng.uniform(0.21, 0.25, n_frames))
    disc = _disc(shape, (55.0, 38.0), 22.0)
    frames = np.full((n_frames, *shape), 1500.0)
    after = np.arange(n_frames) >= landing
    since = np.where(after, times - times[landing], 0.0)
    frames[after] += np.where(disc, -100.0, 0.0)
    frames += since[:, None, None] * slope * disc
    frames += rng.normal(0.0, noise, frames.shape) if noise else 0.0
    return np.round(frames).astype(np.uint16), times, disc


def test_process_movie_matches_a_direct_reference_computation():
    frames, times, _ = _ramp_movie(noise=5.0)
    result = process_movie(
        frames, times, pixel_size_nm=40.0, landing_frame=5, sigma_um=0.2, chunk_frames=3
    )
    r0, r1, c0, c1 = result.crop
    n_groups = (25 - 5) // 2
    stack = frames[5 : 5 + 2 * n_groups, r0:r1, c0:c1].astype(np.float64) - frames[5, r0:r1, c0:c1]
    grouped = stack.reshape(n_groups, 2, r1 - r0, c1 - c0).mean(axis=1)
    expected = ndimage.gaussian_filter(grouped, (0, 5.0, 5.0), mode="nearest")
    assert result.frames.dtype == np.float32
    assert_allclose(result.frames, expected, atol=1e-3)
    assert_allclose(result.times_s, times[5:25].reshape(10, 2).mean(axis=1) - times[5])
    assert_allclose(result.sigma_px, 5.0)
    assert_allclose(result.mean_intensity, expected[:, result.mask].mean(axis=1), rtol=1e-5)


def test_process_movie_finds_landing_footprint_and_intensity_slope():
    # 160 nm pixels (a binned camera): the 22-px footprint is a 7 µm disc
    frames, times, disc = _ramp_movie(n_frames=27)
    result = process_movie(frames, times, pixel_size_nm=160.0, sigma_um=0.2, group_size=3)
    assert result.landing_frame == 5
    assert_allclose(result.footprint.center_px, (55.0, 38.0), atol=0.3)
    assert_allclose(result.footprint.radius_px, np.sqrt(disc.sum() / np.pi), rtol=0.01)
    r0, r1, c0, c1 = result.crop
    assert disc[r0:r1, c0:c1].sum() == disc.sum()  # crop holds the whole footprint
    assert (r0, c0) == (max(0, 38 - 22 - 16), 55 - 22 - 16)
    assert result.frames.shape[0] == (27 - 5) // 3  # the incomplete last group is dropped
    # the landing-subtracted footprint mean is the ramp, slope × group time, times the share of
    # it the blur leaves inside the mask
    blurred = ndimage.gaussian_filter(disc[r0:r1, c0:c1].astype(float), 1.25, mode="nearest")
    kept = blurred[result.mask].mean()
    assert_allclose(result.mean_intensity, 40.0 * kept * result.times_s, rtol=0.01, atol=0.3)


def test_process_movie_uses_the_deposit_when_the_movie_starts_at_landing():
    frames, times, _ = _ramp_movie(n_frames=20, landing=0, slope=200.0)
    result = process_movie(frames, times, pixel_size_nm=40.0, landing_frame=0, sigma_um=0.1)
    assert_allclose(result.footprint.center_px, (55.0, 38.0), atol=0.5)
    assert_allclose(result.times_s[0], (times[1] - times[0]) / 2)


def test_process_movie_rejects_bad_inputs():
    frames, times, _ = _ramp_movie()
    with pytest.raises(AnalysisError, match="times_s has 24 values for 25 frames"):
        process_movie(frames, times[:-1], pixel_size_nm=40.0)
    with pytest.raises(AnalysisError, match="landing frame 25 is outside the movie"):
        process_movie(frames, times, pixel_size_nm=40.0, landing_frame=25)
    with pytest.raises(AnalysisError, match="cannot fill one group of 2"):
        process_movie(frames, times, pixel_size_nm=40.0, landing_frame=24)


# --- intensity vs charge -------------------------------------------------------------------
def test_cumulative_charge_counts_plating_positive_and_interpolates():
    trace_t = np.linspace(0.0, 10.0, 1001)
    current = np.where(trace_t < 6.0, -2e-9, 1e-9)  # plate 6 s at 2 nA, strip at 1 nA
    at = np.array([-1.0, 0.0, 2.5, 6.0, 8.0, 12.0])
    charge = cumulative_charge_at(at, trace_t, current)
    expected = [0.0, 0.0, 5e-9, 12e-9, 10e-9, 8e-9]
    assert_allclose(charge, expected, atol=2e-11)
    with pytest.raises(AnalysisError, match="strictly increasing"):
        cumulative_charge_at(at, trace_t[::-1], current)


def test_fit_alpha_recovers_the_slope_per_volume():
    rng = np.random.default_rng(8)
    charge = np.linspace(0.0, 2e-9, 40)  # C
    volume_um3 = charge * LI_MOLAR_VOLUME_M3_PER_MOL / FARADAY_C_PER_MOL * 1e18
    intensity = 3.0e3 * volume_um3 + 1.5 + rng.normal(0.0, 0.2, 40)
    fit = fit_alpha(intensity, charge)
    assert_allclose(fit.alpha_per_um3, 3.0e3, rtol=0.01)
    assert_allclose(fit.intercept, 1.5, atol=0.15)
    assert fit.r2 > 0.99
    assert_allclose(fit.volume_um3, volume_um3)
    forced = fit_alpha(intensity - 1.5, charge, through_origin=True)
    assert forced.intercept == 0.0
    assert_allclose(forced.alpha_per_um3, 3.0e3, rtol=0.01)


def test_fit_alpha_rejects_constant_charge():
    with pytest.raises(AnalysisError, match="charge does not change"):
        fit_alpha([1.0, 2.0, 3.0], [1e-9, 1e-9, 1e-9])


# --- against the movie twin ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("current_density", "duration_s", "options"),
    [
        (0.78, 5.0, {"seed": 21}),
        (3.82, 3.0, {"seed": 22, "footprint_offset_um": (1.5, -1.0), "pre_landing_frames": 3}),
        (0.39, 4.0, {"seed": 23, "inverted_fraction": 0.1, "frame_jitter_s": 0.03}),
    ],
)
def test_twin_landing_footprint_and_processing(current_density, duration_s, options):
    from core.simulate.movie import simulate_irm_movie

    movie = simulate_irm_movie(
        current_density_mA_cm2=current_density,
        duration_s=duration_s,
        footprint_diameter_um=6.0,
        **options,
    )
    truth = movie.truth
    assert detect_landing(movie.frames) == truth["landing_frame"]
    result = process_movie(
        movie.frames, movie.times_s, pixel_size_nm=movie.pixel_size_nm, expected_diameter_um=6.0
    )
    assert result.landing_frame == truth["landing_frame"]
    assert_allclose(result.footprint.center_px, truth["footprint_center_px"], atol=1.0)
    assert_allclose(result.footprint.radius_px, truth["footprint_radius_px"], rtol=0.02)
    overlap = (result.footprint.mask & movie.footprint_mask).sum() / movie.footprint_mask.sum()
    assert overlap > 0.97
    landing = truth["landing_frame"]
    first_pair = movie.times_s[landing : landing + 2] - movie.times_s[landing]
    assert_allclose(result.times_s[0], first_pair.mean())  # times from landing, group means
    assert result.mean_intensity[-1] > result.mean_intensity[0]
