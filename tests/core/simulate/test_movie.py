"""Tests of the galvanostatic IRM movie twin: timing, landing, nucleation truth, maps, inversion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.ndimage import binary_erosion, uniform_filter
from scipy.signal import savgol_filter

from core.errors import MeniscusError
from core.simulate.movie import SimulatedMovie, simulate_irm_movie
from core.simulate.physics import ARTICLE_PHYSICS
from core.units import disc_area_cm2

SMALL = {"pixel_size_nm": 80.0, "shape": (160, 160)}


@pytest.fixture(scope="module")
def movie() -> SimulatedMovie:
    return simulate_irm_movie(
        current_density_mA_cm2=0.78, duration_s=8.0, seed=7, post_frames=3, **SMALL
    )


def footprint_mean(m: SimulatedMovie, mask=None) -> np.ndarray:
    mask = m.footprint_mask if mask is None else mask
    return m.frames[:, mask].astype(float).mean(axis=1)


def test_same_seed_same_movie_and_other_seed_differs(movie):
    again = simulate_irm_movie(
        current_density_mA_cm2=0.78, duration_s=8.0, seed=7, post_frames=3, **SMALL
    )
    assert_array_equal(again.frames, movie.frames)
    assert_array_equal(again.times_s, movie.times_s)
    assert_array_equal(again.t_nuc_map_s, movie.t_nuc_map_s)
    assert again.truth == movie.truth
    other = simulate_irm_movie(
        current_density_mA_cm2=0.78, duration_s=8.0, seed=8, post_frames=3, **SMALL
    )
    assert not np.array_equal(other.frames, movie.frames)


def test_truth_is_json_and_records_the_seed(movie):
    decoded = json.loads(json.dumps(movie.truth))
    assert decoded["seed"] == 7
    assert decoded["landing_frame"] == 6
    assert decoded["shape"] == [160, 160]
    drawn = simulate_irm_movie(current_density_mA_cm2=3.82, duration_s=0.5, seed=None, **SMALL)
    replay = simulate_irm_movie(
        current_density_mA_cm2=3.82, duration_s=0.5, seed=drawn.truth["seed"], **SMALL
    )
    assert_array_equal(replay.frames, drawn.frames)


def test_frame_times_are_jittered_and_strictly_increasing(movie):
    times = movie.times_s
    steps = np.diff(times)
    assert times[0] == 0.0
    assert np.all(steps > 0)
    assert 0.005 < steps.std() < 0.02
    assert_allclose(steps.mean(), 0.23, atol=0.01)
    since = times - movie.truth["landing_time_s"]
    last = movie.truth["last_measurement_frame"]
    assert since[last] <= 8.0 < since[last + 1]
    assert times.size == last + 1 + 3
    steady = simulate_irm_movie(
        current_density_mA_cm2=3.82,
        duration_s=1.0,
        seed=1,
        frame_jitter_s=0.0,
        frame_interval_s=0.1,
        **SMALL,
    )
    assert_allclose(np.diff(steady.times_s), 0.1, rtol=1e-12)


def test_frames_are_12_bit_uint16_and_a_smaller_depth_clips(movie):
    assert movie.frames.dtype == np.uint16
    assert movie.frames.shape == (movie.times_s.size, 160, 160)
    assert movie.frames.max() <= 4095
    low = simulate_irm_movie(
        current_density_mA_cm2=3.82, duration_s=0.5, seed=1, bit_depth=8, **SMALL
    )
    assert low.frames.max() == 255  # the ~1900-count background saturates an 8-bit ADC


def test_landing_step_appears_exactly_at_the_landing_frame(movie):
    landing = movie.truth["landing_frame"]
    mean = footprint_mean(movie)
    before = np.abs(np.diff(mean[:landing]))
    assert before.max() < 5.0
    step = mean[landing] - mean[landing - 1]
    assert_allclose(step, movie.truth["landing_step_counts"], rtol=0.05)
    # away from the footprint (beyond the PSF's reach) nothing happens at landing
    rows, cols = np.indices(movie.footprint_mask.shape)
    x, y = movie.truth["footprint_center_px"]
    away = np.hypot(cols - x, rows - y) > movie.truth["footprint_radius_px"] + 10
    assert abs(np.diff(footprint_mean(movie, away))[landing - 1]) < 3.0


@pytest.mark.parametrize(("j", "duration_s"), [(0.2, 25.0), (0.78, 8.0), (3.82, 3.0)])
def test_footprint_mean_rate_peaks_at_the_true_optical_nucleation_time(j, duration_s):
    m = simulate_irm_movie(current_density_mA_cm2=j, duration_s=duration_s, seed=11, **SMALL)
    truth = m.truth
    landing, last = truth["landing_frame"], truth["last_measurement_frame"]
    since = m.times_s[landing : last + 1] - truth["landing_time_s"]
    rate = np.gradient(footprint_mean(m)[landing : last + 1], since)
    found = since[1 + int(np.argmax(rate[1:]))]  # frame 0's one-sided difference holds the step
    interval = np.diff(m.times_s).mean()
    assert abs(found - truth["t_nuc_irm_s"]) <= 2 * interval
    # the optical time leads the electrochemical one, by about the configured lead
    t_nuc = float(ARTICLE_PHYSICS.t_nuc_s(j))
    assert truth["t_nuc_s"] == pytest.approx(t_nuc)
    assert truth["t_nuc_irm_s"] < t_nuc
    assert abs(truth["t_nuc_irm_s"] - truth["t_nuc_center_s"]) < truth["t_nuc_spread_s"]
    assert truth["t_nuc_irm_frame"] == landing + int(
        np.argmin(np.abs(since - truth["t_nuc_irm_s"]))
    )


def test_run_ending_before_nucleation_reports_none():
    m = simulate_irm_movie(current_density_mA_cm2=0.2, duration_s=5.0, seed=2, **SMALL)
    assert m.truth["nucleated"] is False
    assert m.truth["irm_nucleated"] is False
    assert m.truth["t_nuc_irm_s"] is None
    assert m.truth["t_nuc_irm_frame"] is None


def test_nucleation_map_is_normal_with_the_configured_spread():
    m = simulate_irm_movie(
        current_density_mA_cm2=0.78, duration_s=0.5, seed=3, early_region=False, **SMALL
    )
    truth = m.truth
    assert np.all(np.isnan(m.t_nuc_map_s[~m.footprint_mask]))
    values = m.t_nuc_map_s[m.footprint_mask].astype(float)
    t_nuc = float(ARTICLE_PHYSICS.t_nuc_s(0.78))
    assert_allclose(
        values.mean(), t_nuc * (1 - ARTICLE_PHYSICS.irm_nucleation_lead_fraction), rtol=1e-5
    )
    assert_allclose(values.std(), t_nuc * ARTICLE_PHYSICS.irm_nucleation_spread_fraction, rtol=1e-4)
    z = (values - values.mean()) / values.std()
    assert 0.62 < np.mean(np.abs(z) < 1) < 0.76
    assert 0.92 < np.mean(np.abs(z) < 2) < 0.98
    assert abs(stats.skew(z)) < 0.5
    assert truth["earliest_region"] is None


def test_early_region_nucleates_earliest_and_is_seen_earlier_in_the_movie():
    m = simulate_irm_movie(current_density_mA_cm2=0.78, duration_s=8.0, seed=5, **SMALL)
    region = m.truth["earliest_region"]
    x, y = region["center_px"]
    radius = region["radius_px"]
    assert_allclose(region["lead_s"], 0.085 * float(ARTICLE_PHYSICS.t_nuc_s(0.78)))
    rows, cols = np.indices(m.footprint_mask.shape)
    inside = np.hypot(cols - x, rows - y) <= radius
    assert_allclose(region["mean_t_nuc_s"], np.nanmean(m.t_nuc_map_s[inside]), rtol=1e-6)
    assert region["mean_t_nuc_s"] < m.truth["t_nuc_map_mean_s"] - region["lead_s"]
    # the earliest block of the map (blocks the size of the region) lies in the region
    filled = np.where(m.footprint_mask, m.t_nuc_map_s, np.nanmax(m.t_nuc_map_s))
    block = uniform_filter(filled, size=int(2 * radius))
    r, c = np.unravel_index(np.argmin(block), block.shape)
    assert np.hypot(c - x, r - y) <= radius
    # and the movie shows it: the region's dI/dt (Savitzky–Golay, as in the article) peaks at
    # its own time, before the footprint's
    landing, last = m.truth["landing_frame"], m.truth["last_measurement_frame"]
    since = m.times_s[landing : last + 1] - m.truth["landing_time_s"]
    peak = {}
    for name, mask in (("region", inside), ("footprint", m.footprint_mask)):
        rate = savgol_filter(footprint_mean(m, mask)[landing : last + 1], 7, 2, deriv=1)
        peak[name] = since[3 + int(np.argmax(rate[3:-3]))]
    interval = np.diff(m.times_s).mean()
    assert abs(peak["region"] - region["mean_t_nuc_s"]) <= 2 * interval
    assert abs(peak["footprint"] - m.truth["t_nuc_irm_s"]) <= 2 * interval
    assert peak["region"] < peak["footprint"] - 0.5


def test_inverted_pixels_darken_while_the_rest_brightens():
    m = simulate_irm_movie(
        current_density_mA_cm2=0.78, duration_s=8.0, seed=4, inverted_fraction=0.1, **SMALL
    )
    assert not np.any(m.inverted_mask & ~m.footprint_mask)
    assert 0.1 <= m.truth["inverted_fraction_actual"] < 0.2
    landing, last = m.truth["landing_frame"], m.truth["last_measurement_frame"]
    core = binary_erosion(m.inverted_mask, iterations=2)
    normal = binary_erosion(m.footprint_mask & ~m.inverted_mask, iterations=4)
    change = m.frames[last].astype(float) - m.frames[landing].astype(float)
    assert change[core].mean() < -20.0
    assert change[normal].mean() > 20.0
    plain = simulate_irm_movie(current_density_mA_cm2=0.78, duration_s=0.5, seed=4, **SMALL)
    assert not plain.inverted_mask.any()


def test_particles_follow_the_shared_density_law(movie):
    expected = ARTICLE_PHYSICS.particle_density_per_cm2(0.78) * disc_area_cm2(10.0)
    assert abs(movie.truth["particle_count"] - expected) < 4 * np.sqrt(expected)
    assert movie.truth["particle_density_per_cm2"] == pytest.approx(
        float(ARTICLE_PHYSICS.particle_density_per_cm2(0.78))
    )


def test_deposit_brightens_by_alpha_times_li_charge(movie):
    truth = movie.truth
    mean = footprint_mean(movie)
    landing, last = truth["landing_frame"], truth["last_measurement_frame"]
    q_sei = truth["q_passed_uAh_cm2"] - 0.8 * (
        truth["q_passed_uAh_cm2"] - 0.78 * (truth["t_nuc_center_s"]) / 3.6
    )  # SEI share falls to 20 % after nucleation
    expected = (
        truth["alpha"] * truth["li_charge_uAh_cm2"] + truth["alpha_sei_counts_per_uAh_cm2"] * q_sei
    )
    assert_allclose(mean[last] - mean[landing], expected, rtol=0.05)


def test_pipette_retraction_removes_the_landing_step(movie):
    last = movie.truth["last_measurement_frame"]
    mean = footprint_mean(movie)
    assert movie.truth["retract_frame"] == last + 1
    assert_allclose(mean[last + 1] - mean[last], -movie.truth["landing_step_counts"], rtol=0.05)
    assert np.abs(np.diff(mean[last + 1 :])).max() < 5.0


def test_offset_footprint_and_its_centre():
    m = simulate_irm_movie(
        current_density_mA_cm2=3.82,
        duration_s=0.5,
        seed=1,
        footprint_offset_um=(1.0, -0.8),
        **SMALL,
    )
    x, y = m.truth["footprint_center_px"]
    assert_allclose([x, y], [79.5 + 12.5, 79.5 - 10.0])
    rows, cols = np.nonzero(m.footprint_mask)
    assert_allclose([cols.mean(), rows.mean()], [x, y], atol=0.05)
    assert_allclose(m.footprint_mask.sum(), np.pi * m.truth["footprint_radius_px"] ** 2, rtol=0.01)


def test_default_frame_is_square_around_the_footprint():
    m = simulate_irm_movie(current_density_mA_cm2=3.82, duration_s=0.3, seed=1, pixel_size_nm=100.0)
    assert m.frames.shape[1:] == (130, 130)  # 10 µm + 2 × 1.5 µm at 100 nm


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"current_density_mA_cm2": -1.0}, "current_density_mA_cm2 -1.0 mA/cm² must be above"),
        ({"duration_s": 0.0}, "duration_s 0.0 s must be above 0 s"),
        ({"footprint_offset_um": (20.0, 0.0)}, "outside the 160×160 px frame"),
        ({"pre_landing_frames": 0}, "pre_landing_frames 0 must be at least 1"),
        ({"inverted_fraction": 1.5}, "inverted_fraction 1.5 must lie in [0, 1)"),
        ({"frame_jitter_s": 0.5}, "frame_jitter_s 0.5 s must lie in 0–0.115 s"),
    ],
)
def test_bad_options_raise_with_value_and_limit(options, message):
    kwargs = {"current_density_mA_cm2": 1.0, "duration_s": 1.0, "seed": 1, **SMALL, **options}
    with pytest.raises(MeniscusError) as error:
        simulate_irm_movie(**kwargs)
    assert message in str(error.value)


def test_reused_blurs_match_blurring_every_frame():
    from types import SimpleNamespace

    from scipy.special import ndtr

    from core.simulate.movie import _NucleatedImage
    from core.simulate.optics import blur

    rng = np.random.default_rng(0)
    rows, cols, count = 40, 50, 60
    scene = SimpleNamespace(
        particle_pixel=rng.integers(0, rows * cols, count),
        particle_t=rng.uniform(1.0, 2.0, count).astype(np.float32),
        particle_amp=rng.uniform(-1.0, 3.0, count).astype(np.float32),
        sigma_b=0.05,
        duration_s=2.5,
    )
    box = (slice(0, rows), slice(0, cols))
    cached = _NucleatedImage(scene, box, cols, 1.5)
    tau = np.concatenate([[-0.5], np.linspace(0.0, 4.0, 60)])
    got = np.concatenate([cached.images(tau[:25]), cached.images(tau[25:])])
    for i, t in enumerate(tau):
        phi = ndtr((min(t, 2.5) - scene.particle_t) / 0.05) * (t >= 0)
        image = np.bincount(scene.particle_pixel, phi * scene.particle_amp, rows * cols)
        expected = blur(image.reshape(rows, cols), 1.5, mode="constant")
        assert_allclose(got[i], expected, atol=1e-5)
