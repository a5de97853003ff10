"""Galvanostatic features: against the twin's truth, hand-built curves and other instruments."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.galvanostatic import (
    GROWTH_WINDOW_FRACTION,
    GalvanostaticResult,
    analyse_galvanostatic,
    analyse_galvanostatic_batch,
    e_q_curve,
)
from core.errors import AnalysisError
from core.simulate.galvanostatic import simulate_galvanostatic_batch
from core.simulate.physics import ARTICLE_PHYSICS

FEATURES = ("nucleated", "e_nuc_V", "t_nuc_s", "q_nuc_uAh_cm2", "e_growth_V")
CURRENT_DENSITIES = (0.1, 0.2, 0.5, 0.78, 1.5, 3.82, 5.0)


def truth_array(truths, name):
    return np.array([np.nan if t[name] is None else t[name] for t in truths], dtype=float)


def assert_matches_truth(result, truths):
    assert_array_equal(result["nucleated"], [t["nucleated"] for t in truths])
    hit = result["nucleated"]
    for name in ("e_nuc_V", "t_nuc_s", "e_growth_V", "q_nuc_uAh_cm2"):
        assert np.all(np.isnan(result[name][~hit]))
    assert_allclose(result["e_nuc_V"][hit], truth_array(truths, "e_nuc_V")[hit], atol=3e-3)
    assert_allclose(result["t_nuc_s"][hit], truth_array(truths, "t_nuc_s")[hit], rtol=0.03)
    assert_allclose(
        result["q_nuc_uAh_cm2"][hit], truth_array(truths, "q_nuc_uAh_cm2")[hit], rtol=0.03
    )
    assert_allclose(result["e_growth_V"][hit], truth_array(truths, "e_growth_V")[hit], atol=5e-3)


@pytest.mark.parametrize("j", CURRENT_DENSITIES)
def test_features_match_the_twin_truth_before_and_after_nucleation(j):
    t_nuc = float(ARTICLE_PHYSICS.t_nuc_s(j))
    # runs ending well before t_nuc, the lab's 5 s screen, and runs well past t_nuc
    for duration_s in sorted({0.6 * t_nuc, 5.0, 2.0 * t_nuc, 4.0 * t_nuc}):
        if abs(duration_s - t_nuc) < 0.15 * t_nuc:
            continue  # t_nuc ± scatter would fall right at the end of the run
        batch = simulate_galvanostatic_batch(np.full(4, j), duration_s, seed=round(100 * j))
        result = analyse_galvanostatic_batch(batch.time_s, batch.potential_V, np.full(4, j))
        assert_matches_truth(result, batch.truth)
        assert result["nucleated"].all() == (duration_s > t_nuc)


def test_table_1_is_reproduced_from_simulated_records():
    # Article, constant-charge series with a 10 µm pipette: (j, run, E_nuc, E_growth, t_nuc,
    # Q_nuc); 8 repetitions each, as in the combinatorial screen.
    article = [
        (0.20, 60.0, -0.058, -0.004, 17.7, 0.98),
        (0.78, 15.0, -0.135, -0.022, 3.8, 0.85),
        (3.82, 3.0, -0.292, -0.267, 0.8, 0.82),
    ]
    for j, run_s, e_nuc, e_growth, t_nuc, q_nuc in article:
        batch = simulate_galvanostatic_batch(
            np.full(8, j), run_s, seed=1, footprint_diameter_um=10.0
        )
        result = analyse_galvanostatic_batch(batch.time_s, batch.potential_V, np.full(8, j))
        assert result["nucleated"].all()
        assert_allclose(result["e_nuc_V"].mean(), e_nuc, rtol=0.2)
        assert_allclose(result["t_nuc_s"].mean(), t_nuc, rtol=0.2)
        assert_allclose(result["q_nuc_uAh_cm2"].mean(), q_nuc, rtol=0.2)
        # E_growth at 0.20 mA/cm² is only -4 mV: compare it within the potential scatter
        assert_allclose(result["e_growth_V"].mean(), e_growth, rtol=0.2, atol=0.004)


def test_batch_rows_equal_the_single_curve_function():
    rng = np.random.default_rng(0)
    j = np.exp(rng.uniform(np.log(0.1), np.log(5.0), 24))
    batch = simulate_galvanostatic_batch(j, 5.0, seed=5)
    # uneven sampling exercises the resampling path in both
    keep = np.sort(rng.choice(batch.time_s.size, batch.time_s.size * 3 // 4, replace=False))
    time_s, potentials_V = batch.time_s[keep], batch.potential_V[:, keep]
    result = analyse_galvanostatic_batch(time_s, potentials_V, j)
    assert 0 < result["nucleated"].sum() < j.size
    for i in range(j.size):
        single = analyse_galvanostatic(time_s, potentials_V[i], current_density_mA_cm2=j[i])
        for name, value in single.to_dict().items():
            expected = result[name][i]
            assert value == (None if np.isnan(expected) else expected), (i, name)
        assert single.noise_V == result["noise_V"][i]


def test_result_to_dict_has_exactly_the_features():
    batch = simulate_galvanostatic_batch([0.78, 0.22], 5.0, seed=3)
    hit = analyse_galvanostatic(batch.time_s, batch.potential_V[0], current_density_mA_cm2=0.78)
    miss = analyse_galvanostatic(batch.time_s, batch.potential_V[1], current_density_mA_cm2=0.22)
    assert isinstance(hit, GalvanostaticResult)
    assert tuple(hit.to_dict()) == FEATURES
    assert hit.nucleated is True
    assert all(type(v) is float for k, v in hit.to_dict().items() if k != "nucleated")
    assert hit.e_growth_V > hit.e_nuc_V
    assert miss.to_dict() == dict.fromkeys(FEATURES) | {"nucleated": False}
    assert miss.descent_V is None and miss.recovery_V is None
    assert_allclose(hit.noise_V, ARTICLE_PHYSICS.potential_noise_V, rtol=0.15)


def test_monotone_decay_with_5_mV_noise_is_not_nucleation():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 5.0, 2.57e-3)
    decay = 0.12 - 0.15 * (1 - np.exp(-t / 1.0)) + 0.8 * np.exp(-t / 0.02)
    curves = decay + 0.005 * rng.standard_normal((300, t.size))
    result = analyse_galvanostatic_batch(t, curves, np.full(300, 0.3))
    assert not result["nucleated"].any()
    assert_allclose(np.median(result["noise_V"]), 0.005, rtol=0.05)


def test_noise_only_dips_are_not_reported_but_real_ones_are():
    rng = np.random.default_rng(2)
    t = np.arange(0.0, 5.0, 2.57e-3)
    noise_V = 0.002
    flat = noise_V * rng.standard_normal((300, t.size))
    assert not analyse_galvanostatic_batch(t, flat, np.full(300, 1.0))["nucleated"].any()

    # a Gaussian dip (sd 50 ms) on a slow fall: 1 mV deep is within the noise, 10 mV is not
    def dip(time_s, depth_V):
        return -0.01 * time_s - depth_V * np.exp(-0.5 * ((time_s - 2.5) / 0.05) ** 2)

    def noisy(depth_V):
        return dip(t, depth_V) + noise_V * rng.standard_normal((100, t.size))

    assert not analyse_galvanostatic_batch(t, noisy(0.001), np.ones(100))["nucleated"].any()
    found = analyse_galvanostatic_batch(t, noisy(0.010), np.ones(100))
    assert found["nucleated"].all()
    dense = np.linspace(2.3, 2.7, 400_001)
    k = np.argmin(dip(dense, 0.010))
    # only 5 noise sd deep and 0.1 s wide: t_nuc is good to a fraction of the dip's width
    assert_allclose(found["t_nuc_s"], dense[k], atol=0.025)
    assert_allclose(found["e_nuc_V"], dip(dense[k], 0.010), atol=2e-3)


def test_lowest_point_at_the_end_of_the_run_is_not_nucleation():
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 5.0, 2.57e-3)
    falling_into_end = 0.1 - 0.2 * (t / 5.0) ** 2
    # a minimum 40 ms before the end that only recovers by 0.02 mV
    late_minimum = 0.1 - 0.2 * (1 - ((t - 4.95) / 4.95) ** 2)
    for curve in (falling_into_end, late_minimum):
        noisy = curve + 0.002 * rng.standard_normal((50, t.size))
        assert not analyse_galvanostatic_batch(t, noisy, np.ones(50))["nucleated"].any()
    clean = analyse_galvanostatic(t, falling_into_end, current_density_mA_cm2=1.0)
    assert clean.nucleated is False


def test_late_drift_below_e_nuc_keeps_the_nucleation_minimum():
    # Past ~2.6 µAh/cm² at 3.82 mA/cm² the article's potential drifted more negative than E_nuc.
    batch = simulate_galvanostatic_batch(np.full(6, 3.82), 6.0, seed=12)
    drifting = batch.potential_V - 0.03 * np.maximum(batch.time_s - 3.5, 0.0)
    assert np.all(drifting[:, -1] < truth_array(batch.truth, "e_nuc_V") - 0.04)
    result = analyse_galvanostatic_batch(batch.time_s, drifting, np.full(6, 3.82))
    assert result["nucleated"].all()
    assert_allclose(result["t_nuc_s"], truth_array(batch.truth, "t_nuc_s"), rtol=0.03)
    assert_allclose(result["e_nuc_V"], truth_array(batch.truth, "e_nuc_V"), atol=3e-3)


def v_shaped_dip(t):
    """Falls at 50 mV/s to 0 V at t = 2 s, rises at 100 mV/s to a flat 30 mV plateau."""
    return np.where(t < 2.0, 0.1 - 0.05 * t, np.minimum(0.1 * (t - 2.0), 0.03))


def test_v_shaped_dip_at_uneven_sampling():
    rng = np.random.default_rng(4)
    for _ in range(10):
        steps = rng.uniform(0.5, 1.5, 1999) * 2.5e-3  # jittered 2.5 ms sampling
        t = np.concatenate(([0.0], np.cumsum(steps)))
        result = analyse_galvanostatic(
            t, v_shaped_dip(t) + 0.002 * rng.standard_normal(t.size), current_density_mA_cm2=2.0
        )
        assert result.nucleated
        assert_allclose(result.t_nuc_s, 2.0, rtol=0.015)
        # a kink has no smooth minimum: the estimate sits a little above it
        assert_allclose(result.e_nuc_V, 0.0, atol=3e-3)
        assert_allclose(result.e_growth_V, 0.03, atol=1e-3)
        assert_allclose(result.q_nuc_uAh_cm2, 2.0 * result.t_nuc_s / 3.6, rtol=1e-12)


def other_instrument_curve(t):
    """Smooth contact drop, a dip at ~1.5 s and a recovery towards -50 mV (not our twin)."""
    u = t / 1.5
    return -0.05 + 0.6 * np.exp(-t / 0.15) - 0.06 * u**2 * np.exp(2 * (1 - u))


def test_other_instrument_10_ms_sampling_1_mV_noise():
    t = np.arange(0.0, 8.0, 0.01)
    dense = np.linspace(0.5, 8.0, 750_001)
    curve = other_instrument_curve(dense)
    k = int(np.argmin(curve))
    window = dense >= t[-1] - GROWTH_WINDOW_FRACTION * (t[-1] - dense[k])
    growth_V = other_instrument_curve(dense[window & (dense <= t[-1])]).mean()

    rng = np.random.default_rng(5)
    noisy = other_instrument_curve(t) + 0.001 * rng.standard_normal((20, t.size))
    result = analyse_galvanostatic_batch(t, noisy, np.full(20, 0.5))
    assert result["nucleated"].all()
    # a flat-bottomed dip (1 mV off the minimum at ±0.2 s) limits t_nuc to a few % per curve
    assert_allclose(result["t_nuc_s"], dense[k], rtol=0.05)
    assert_allclose(result["t_nuc_s"].mean(), dense[k], rtol=0.01)
    assert_allclose(result["e_nuc_V"], curve[k], atol=1e-3)
    assert_allclose(result["e_growth_V"], growth_V, atol=1e-3)
    assert_allclose(result["noise_V"], 0.001, rtol=0.2)


def transient_then_dip(t, transient_low_s):
    """+1 V at contact, overshoot to -0.4 V at ``transient_low_s``, back on the curve by
    1.5 × that; then a smooth minimum of -50 mV at 2 s recovering to -20 mV."""
    s = np.maximum(t - 2.0, 0.0) / 0.3
    body = np.where(
        t < 2.0, -0.05 + 0.04 * (t - 2.0) ** 2, -0.05 + 0.03 * (1 - (1 + s) * np.exp(-s))
    )
    end = 1.5 * transient_low_s
    overshoot = np.interp(t, [0.0, transient_low_s, end], [1.0, -0.4, body[0]])
    return np.where(t < end, overshoot, body)


def test_contact_transient_below_the_later_minimum_is_ignored():
    t = np.arange(0.0, 5.0, 2.57e-3)
    rng = np.random.default_rng(6)
    short = transient_then_dip(t, 0.03) + 0.002 * rng.standard_normal(t.size)
    for settle_s in (0.05, 0.0):  # a transient shorter than the smoothing is never a minimum
        result = analyse_galvanostatic(t, short, current_density_mA_cm2=1.0, settle_s=settle_s)
        assert result.nucleated
        assert_allclose(result.t_nuc_s, 2.0, rtol=0.03)
        assert_allclose(result.e_nuc_V, -0.05, atol=2e-3)

    # A slower instrument still falling at 0.1 s: settle_s must cover the fall.
    slow = transient_then_dip(t, 0.1) + 0.002 * rng.standard_normal(t.size)
    result = analyse_galvanostatic(t, slow, current_density_mA_cm2=1.0, settle_s=0.15)
    assert_allclose(result.t_nuc_s, 2.0, rtol=0.03)
    fooled = analyse_galvanostatic(t, slow, current_density_mA_cm2=1.0, settle_s=0.0)
    assert fooled.t_nuc_s < 0.15


def test_pre_trigger_samples_at_negative_times():
    batch = simulate_galvanostatic_batch([1.5], 4.0, seed=7)
    step = batch.time_s[1]
    before = -step * np.arange(200, 0, -1)  # 0.5 s at open circuit before the current starts
    t = np.concatenate((before, batch.time_s))
    rng = np.random.default_rng(7)
    e = np.concatenate((1.0 + 0.002 * rng.standard_normal(before.size), batch.potential_V[0]))
    result = analyse_galvanostatic(t, e, current_density_mA_cm2=1.5)
    truth = batch.truth[0]
    assert result.nucleated
    assert_allclose(result.t_nuc_s, truth["t_nuc_s"], rtol=0.03)
    assert_allclose(result.q_nuc_uAh_cm2, truth["q_nuc_uAh_cm2"], rtol=0.03)
    assert_allclose(result.e_nuc_V, truth["e_nuc_V"], atol=3e-3)


def test_quantised_noise_free_record():
    batch = simulate_galvanostatic_batch([0.78], 8.0, seed=8, noise_V=0.0)
    lsb_V = 20.0 / 2**16  # a 16-bit ADC over ±10 V
    quantised = np.round(batch.potential_V[0] / lsb_V) * lsb_V
    result = analyse_galvanostatic(batch.time_s, quantised, current_density_mA_cm2=0.78)
    truth = batch.truth[0]
    assert result.nucleated
    assert_allclose(result.e_nuc_V, truth["e_nuc_V"], atol=lsb_V)
    assert_allclose(result.t_nuc_s, truth["t_nuc_s"], rtol=0.01)
    assert_allclose(result.e_growth_V, truth["e_growth_V"], atol=lsb_V)


def test_e_q_curve():
    t = np.array([0.0, 1.8, 3.6])
    assert_allclose(e_q_curve(t, 1.0), [0.0, 0.5, 1.0])
    assert_allclose(e_q_curve(t, -0.5), [0.0, 0.25, 0.5])  # sign ignored
    assert e_q_curve(t, np.array([[1.0], [2.0]])).shape == (2, 3)


@pytest.mark.parametrize(
    ("time_s", "potential_V", "options", "message"),
    [
        ([0.0, 0.1, 0.1, 0.2] * 3, np.zeros(12), {}, "must increase strictly"),
        (np.arange(10.0), np.zeros(9), {}, "time_s has 10 samples but the signal has 9"),
        (np.arange(4.0), np.zeros(4), {}, "4 samples is too few; at least 8"),
        (np.arange(10.0), np.r_[np.zeros(9), np.nan], {}, "NaN or infinite"),
        (np.arange(10.0), np.zeros((2, 10)), {}, "potential_V must be 1-D"),
        (np.arange(10.0), np.zeros(10), {"current_density_mA_cm2": 0.0}, "non-zero, mA/cm²"),
        (np.arange(10.0), np.zeros(10), {"smoothing_s": -1.0}, "smoothing_s -1.0 s must be"),
        (np.arange(10.0), np.zeros(10), {"fit_depth_fraction": 1.5}, r"must lie in \(0, 1\)"),
    ],
)
def test_bad_input_is_reported(time_s, potential_V, options, message):
    arguments = {"current_density_mA_cm2": 1.0, **options}
    with pytest.raises(AnalysisError, match=message):
        analyse_galvanostatic(time_s, potential_V, **arguments)


def test_batch_shape_errors():
    with pytest.raises(AnalysisError, match="2 current densities given for 3 curves"):
        analyse_galvanostatic_batch(np.arange(10.0), np.zeros((3, 10)), [1.0, 1.0])
    with pytest.raises(AnalysisError, match="must be 2-D"):
        analyse_galvanostatic_batch(np.arange(10.0), np.zeros(10), [1.0])
