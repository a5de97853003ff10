"""Tests of the CV IRM movie twin: plating up, stripping down, growing residue, I_a/I_c truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.cv import analyse_cv
from core.errors import MeniscusError
from core.simulate.movie import SimulatedMovie, simulate_irm_cv_movie
from core.simulate.records import SimulatedTrace
from core.traces import Trace
from core.units import disc_area_cm2

SMALL = {"pixel_size_nm": 80.0, "shape": (160, 160)}
CE = [0.25, 0.5, 0.65, 0.75, 0.8]
HALF_S = 17.4  # +1.47 → −0.27 V at 100 mV/s
C_PER_UAH_CM2 = 3.6e-3 * disc_area_cm2(10.0)


@pytest.fixture(scope="module")
def movie() -> SimulatedMovie:
    times = [
        (2 * HALF_S * k, 2 * HALF_S * k + HALF_S, 2 * HALF_S * (k + 1)) for k in range(len(CE))
    ]
    q_c = [(1.5 if k == 0 else 1.0) * C_PER_UAH_CM2 for k in range(len(CE))]
    q_a = [q * ce for q, ce in zip(q_c, CE, strict=True)]
    return simulate_irm_cv_movie(cycle_times_s=times, q_c_C=q_c, q_a_C=q_a, seed=3, **SMALL)


def mean_of(m: SimulatedMovie) -> np.ndarray:
    return m.frames[:, m.footprint_mask].astype(float).mean(axis=1)


def test_plating_raises_stripping_lowers_and_the_residue_grows(movie):
    mean = mean_of(movie)
    landing = movie.truth["landing_frame"]
    before = mean[landing]
    ends = []
    for start, top, end in movie.truth["cycle_frames"]:
        assert mean[top] - mean[start] > 100.0  # plating: intensity up
        assert mean[top] - mean[end] > 30.0  # stripping: intensity down ...
        assert mean[end] > before + 100.0  # ... never back to the pre-plating value
        ends.append(mean[end])
    assert np.all(np.diff(ends) > 10.0)  # inactive Li accumulates


def test_footprint_mean_ia_ic_is_linear_in_the_electrochemical_ce(movie):
    truth = movie.truth
    assert_allclose(truth["ce_electrochemical"], CE, rtol=1e-12)
    expected = truth["ia_ic_slope"] * np.array(CE) + truth["ia_ic_intercept"]
    assert_allclose(truth["ia_ic_mean"], expected, rtol=1e-6)
    mean = mean_of(movie)
    measured = [
        (mean[top] - mean[end]) / (mean[top] - mean[start])
        for start, top, end in truth["cycle_frames"]
    ]
    assert_allclose(measured, truth["ia_ic_mean"], atol=0.02)
    assert_allclose(
        np.diff([0.0, *truth["residual_mean_counts"]]),
        np.array(truth["i_c_mean_counts"]) - truth["i_a_mean_counts"],
    )


def test_per_pixel_ia_ic_maps_obey_the_same_law_and_grow_homogeneous(movie):
    maps = movie.ia_ic_maps
    assert maps.shape == (len(CE), 160, 160)
    assert maps.dtype == np.float32
    assert np.all(np.isnan(maps[:, ~movie.footprint_mask]))
    inside = maps[:, movie.footprint_mask]
    local_ce = (inside - movie.truth["ia_ic_intercept"]) / movie.truth["ia_ic_slope"]
    relative_spread = local_ce.std(axis=1) / np.array(CE)
    assert np.all(np.diff(relative_spread) < 0)
    assert relative_spread[0] > 0.25 > relative_spread[-1] * 2
    # the same places lose Li in every cycle: low-CE regions stay low
    assert np.corrcoef(local_ce[0], local_ce[-1])[0, 1] > 0.95


def test_dead_li_map_is_where_the_ce_was_low(movie):
    dead = movie.dead_li_map
    assert np.all(np.isnan(dead[~movie.footprint_mask]))
    inside = dead[movie.footprint_mask]
    assert np.all(inside > 0)
    first_ce = movie.ia_ic_maps[0][movie.footprint_mask]
    assert np.corrcoef(inside, first_ce)[0, 1] < -0.5
    # mean lost charge, µAh/cm²: Σ Qc·(1 − CE) up to the plating weights' covariance
    lost = sum(q * (1 - ce) for q, ce in zip([1.5, 1, 1, 1, 1], CE, strict=True))
    assert_allclose(movie.truth["dead_li_mean_uAh_cm2"], lost, rtol=0.1)


def test_cv_truth_is_json_and_deterministic(movie):
    decoded = json.loads(json.dumps(movie.truth))
    assert decoded["n_cycles"] == len(CE)
    assert decoded["kind"] == "irm_cv"
    assert decoded["seed"] == 3
    options = {
        "cycle_times_s": [(0.0, 4.0, 8.0), (8.0, 12.0, 16.0)],
        "q_c_C": [C_PER_UAH_CM2] * 2,
        "q_a_C": [0.5 * C_PER_UAH_CM2] * 2,
        **SMALL,
    }
    first = simulate_irm_cv_movie(seed=4, **options)
    assert_array_equal(simulate_irm_cv_movie(seed=4, **options).frames, first.frames)
    assert not np.array_equal(simulate_irm_cv_movie(seed=5, **options).frames, first.frames)


def synthetic_cv(ce: list[float]) -> SimulatedTrace:
    """A hand-built CV: triangle sweep, plating current below 0 V, one stripping peak."""
    dt = 0.01
    n_cycles = len(ce)
    t = np.arange(0.0, 2 * HALF_S * n_cycles + dt / 2, dt)
    phase = (t % (2 * HALF_S)) / HALF_S
    potential = 1.47 - 1.74 * np.where(phase <= 1, phase, 2 - phase)
    cycle = np.minimum((t // (2 * HALF_S)).astype(int), n_cycles - 1)
    plating = -2e-9 * np.clip(-potential, 0, None)  # A, cathodic negative
    q_c = np.bincount(cycle, -plating * dt)
    rising = phase > 1
    peak = np.exp(-0.5 * ((potential - 0.3) / 0.08) ** 2) * rising
    area = np.bincount(cycle, peak * dt)
    current = plating + peak * (np.array(ce) * q_c / area)[cycle]
    return SimulatedTrace(Trace(t, potential, current), {"footprint_diameter_um": 10.0})


def test_movie_from_a_cv_trace_uses_the_cv_analysis_charges():
    cv = synthetic_cv([0.3, 0.6, 0.8])
    m = simulate_irm_cv_movie(cv=cv, seed=9, **SMALL)
    analysed = analyse_cv(cv.trace.time_s, cv.trace.potential_V, cv.trace.current_A)
    assert_allclose(m.truth["ce_electrochemical"], [c.ce for c in analysed.cycles], rtol=1e-9)
    assert_allclose(m.truth["ce_electrochemical"], [0.3, 0.6, 0.8], rtol=0.01)
    assert_allclose(m.truth["q_c_C"], [c.q_c_C for c in analysed.cycles], rtol=1e-9)
    mean = mean_of(m)
    for (start, top, end), (_, vertex, _) in zip(
        m.truth["cycle_frames"], m.truth["cycle_times_s"], strict=True
    ):
        assert mean[top] > mean[start] + 50 and mean[end] < mean[top] - 20
        # plating stops when the current turns anodic, after the vertex
        since = m.times_s[top] - m.truth["landing_time_s"]
        assert vertex < since < vertex + 4.0


def test_cv_movie_needs_a_trace_or_complete_cycle_arguments():
    with pytest.raises(MeniscusError, match="needs either cv"):
        simulate_irm_cv_movie(q_c_C=[1e-9], q_a_C=[5e-10], **SMALL)
    with pytest.raises(MeniscusError, match="one entry per cycle; got 1, 2 and 1"):
        simulate_irm_cv_movie(cycle_times_s=[(0, 1, 2)], q_c_C=[1e-9, 1e-9], q_a_C=[1e-9], **SMALL)
    with pytest.raises(MeniscusError, match=r"cycle 1: times \(start, vertex, end\)"):
        simulate_irm_cv_movie(cycle_times_s=[(0, 3, 2)], q_c_C=[1e-9], q_a_C=[1e-9], **SMALL)


def test_movie_of_the_cv_twin_agrees_with_its_truth():
    from core.simulate.cv import simulate_cv

    cv = simulate_cv(cycles=2, seed=1, sample_interval_s=0.02, footprint_diameter_um=8.0)
    m = simulate_irm_cv_movie(cv=cv, seed=2, **SMALL)
    assert m.truth["footprint_diameter_um"] == 8.0
    assert_allclose(
        m.truth["ce_electrochemical"], [c["ce"] for c in cv.truth["cycles"]], atol=0.002
    )
    mean = mean_of(m)
    measured = [
        (mean[top] - mean[end]) / (mean[top] - mean[start])
        for start, top, end in m.truth["cycle_frames"]
    ]
    assert_allclose(measured, m.truth["ia_ic_mean"], atol=0.03)
