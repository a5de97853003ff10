"""The galvanostatic digital twin: curve shape, ground truth, reproducibility, batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.errors import MeniscusError
from core.simulate.galvanostatic import simulate_galvanostatic, simulate_galvanostatic_batch
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.units import disc_area_cm2

FEATURES = ("e_nuc_V", "t_nuc_s", "q_nuc_uAh_cm2", "e_growth_V", "recovery_V")


def test_trace_sampling_current_and_truth_are_consistent():
    sim = simulate_galvanostatic(0.78, 5.0, footprint_diameter_um=6.0, seed=3)
    trace, truth = sim.trace, sim.truth

    assert_allclose(np.diff(trace.time_s), 2.57e-3, rtol=1e-9)
    assert trace.time_s[0] == 0.0
    assert 5.0 - 2.57e-3 < trace.time_s[-1] <= 5.0
    expected_current_A = -0.78e-3 * disc_area_cm2(6.0)
    assert_allclose(trace.current_A, expected_current_A, rtol=1e-12)
    assert_allclose(truth["current_A"], expected_current_A, rtol=1e-12)
    assert truth["footprint_diameter_um"] == 6.0
    assert truth["seed"] == 3
    assert truth["noise_V"] == ARTICLE_PHYSICS.potential_noise_V
    assert truth["nucleated"] is True
    assert_allclose(truth["q_nuc_uAh_cm2"], 0.78 * truth["t_nuc_s"] / 3.6, rtol=1e-12)
    json.loads(json.dumps(truth))  # plain JSON types only
    assert trace.metadata["seed"] == 3


def test_truth_is_the_minimum_of_the_noise_free_curve():
    for j in (0.2, 0.78, 3.82, 5.0):
        t_nuc = float(ARTICLE_PHYSICS.t_nuc_s(j))
        sim = simulate_galvanostatic(j, 2.5 * t_nuc, seed=11, noise_V=0.0)
        t, e, truth = sim.trace.time_s, sim.trace.potential_V, sim.truth
        k = int(np.argmin(e))
        # no sample lies below the truth, and the lowest sample is within one step of it
        assert e.min() >= truth["e_nuc_V"] - 1e-12
        assert abs(t[k] - truth["t_nuc_s"]) <= t[1]
        # and the truth is the law's value for this spot (the scatter moves it by < 20 %)
        assert_allclose(truth["t_nuc_s"], truth["spot_t_nuc_s"], rtol=1e-6)
        assert_allclose(truth["e_nuc_V"], ARTICLE_PHYSICS.e_nuc_V(j), atol=0.02)


def test_curve_shape_fall_minimum_then_rise_to_the_plateau():
    for j in (0.1, 0.78, 5.0):
        t_nuc = float(ARTICLE_PHYSICS.t_nuc_s(j))
        sim = simulate_galvanostatic(j, 4 * t_nuc, seed=2, noise_V=0.0)
        t, e, truth = sim.trace.time_s, sim.trace.potential_V, sim.truth
        before, after = t < truth["t_nuc_s"], t > truth["t_nuc_s"]
        assert e[0] == pytest.approx(ARTICLE_PHYSICS.open_circuit_V, abs=1e-6)  # w(0) ≈ 1e-7
        assert np.all(np.diff(e[before]) < 0)  # falls all the way to the minimum
        assert np.all(np.diff(e[after]) >= -1e-12)  # then only relaxes upwards
        assert e[-1] <= truth["e_growth_plateau_V"]
        assert truth["e_growth_plateau_V"] - e[-1] < 0.02 * truth["recovery_V"]
        # fast contact drop (3 % of Q_nuc): down to the alloy plateau within 15 % of t_nuc
        early = e[t <= 0.15 * t_nuc][-1]
        assert early < ARTICLE_PHYSICS.alloy_plateau_V + 0.01


def test_growth_truth_is_the_time_average_over_the_growth_window():
    sim = simulate_galvanostatic(1.5, 4.0, seed=5, noise_V=0.0, sample_interval_s=1e-4)
    t, e, truth = sim.trace.time_s, sim.trace.potential_V, sim.truth
    start = t[-1] - truth["growth_window_fraction"] * (t[-1] - truth["t_nuc_s"])
    inside = t >= start
    assert_allclose(truth["e_growth_V"], e[inside].mean(), atol=2e-5)
    assert_allclose(truth["recovery_V"], e[-1] - truth["e_nuc_V"], atol=1e-12)


def test_low_current_short_run_does_not_nucleate():
    sim = simulate_galvanostatic(0.22, 5.0, seed=1, noise_V=0.0)
    truth, e = sim.truth, sim.trace.potential_V
    assert truth["nucleated"] is False
    assert all(truth[name] is None for name in FEATURES)
    assert truth["spot_t_nuc_s"] > 5.0  # the spot would nucleate later: kept for the movie
    assert np.all(np.diff(e) < 0)  # monotonic fall, no minimum within the run


def test_table_1_laws_are_reproduced_by_the_truth():
    article = [(0.20, 60.0, -0.058, 17.7), (0.78, 15.0, -0.135, 3.8), (3.82, 3.0, -0.292, 0.8)]
    for j, run_s, e_nuc_V, t_nuc_s in article:
        batch = simulate_galvanostatic_batch(
            np.full(8, j), run_s, seed=7, footprint_diameter_um=10.0, noise_V=0.0
        )
        assert all(t["nucleated"] for t in batch.truth)
        assert_allclose(np.mean([t["e_nuc_V"] for t in batch.truth]), e_nuc_V, rtol=0.2)
        assert_allclose(np.mean([t["t_nuc_s"] for t in batch.truth]), t_nuc_s, rtol=0.2)


def test_seed_reproduces_and_none_records_a_usable_seed():
    a = simulate_galvanostatic(0.78, 2.0, seed=42)
    b = simulate_galvanostatic(0.78, 2.0, seed=42)
    c = simulate_galvanostatic(0.78, 2.0, seed=43)
    assert_array_equal(a.trace.potential_V, b.trace.potential_V)
    assert a.truth == b.truth
    assert not np.array_equal(a.trace.potential_V, c.trace.potential_V)

    fresh = simulate_galvanostatic(0.78, 2.0)
    again = simulate_galvanostatic(0.78, 2.0, seed=fresh.truth["seed"])
    assert_array_equal(fresh.trace.potential_V, again.trace.potential_V)


def test_noise_and_sampling_options():
    sim = simulate_galvanostatic(0.78, 2.0, seed=4, noise_V=0.005, sample_interval_s=0.01)
    clean = simulate_galvanostatic(0.78, 2.0, seed=4, noise_V=0.0, sample_interval_s=0.01)
    assert_allclose(np.diff(sim.trace.time_s), 0.01, rtol=1e-9)
    residual = sim.trace.potential_V - clean.trace.potential_V
    assert_allclose(residual.std(), 0.005, rtol=0.15)
    assert sim.truth["e_nuc_V"] == clean.truth["e_nuc_V"]  # truth is noise-free


def test_spot_scatter_follows_physics_and_keeps_growth_above_nucleation():
    physics = PlatingPhysics(q_nuc_scatter_rel=0.04, potential_scatter_V=0.004)
    batch = simulate_galvanostatic_batch(
        np.full(2000, 1.5), 0.1, seed=9, physics=physics, noise_V=0.0
    )
    q = np.array([t["spot_q_nuc_uAh_cm2"] for t in batch.truth])
    plateau = np.array([t["e_growth_plateau_V"] for t in batch.truth])
    assert_allclose(np.std(np.log(q)), 0.04, rtol=0.1)
    assert_allclose(np.std(plateau), 0.004, rtol=0.1)
    assert_allclose(np.median(q), physics.q_nuc_uAh_cm2(1.5), rtol=0.01)

    nucleated = simulate_galvanostatic_batch(np.full(300, 1.5), 6.0, seed=9, noise_V=0.0)
    e_nuc = np.array([t["e_nuc_V"] for t in nucleated.truth])
    e_growth = np.array([t["e_growth_plateau_V"] for t in nucleated.truth])
    assert np.all(e_growth > e_nuc)


def test_batch_rows_are_curves_with_their_own_truth():
    j = np.array([0.2, 0.78, 3.82])
    batch = simulate_galvanostatic_batch(j, 5.0, seed=8, footprint_diameter_um=8.0)
    assert batch.potential_V.shape == (3, batch.time_s.size)
    assert [t["batch_index"] for t in batch.truth] == [0, 1, 2]
    assert [t["nucleated"] for t in batch.truth] == [False, True, True]
    assert_allclose([t["current_density_mA_cm2"] for t in batch.truth], j)

    single = simulate_galvanostatic(0.78, 5.0, seed=8, footprint_diameter_um=8.0)
    one = simulate_galvanostatic_batch([0.78], 5.0, seed=8, footprint_diameter_um=8.0)
    assert_array_equal(one.potential_V[0], single.trace.potential_V)
    assert one.truth[0] == single.truth


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current_density_mA_cm2": 0.0}, "current densities"),
        ({"current_density_mA_cm2": float("nan")}, "current densities"),
        ({"duration_s": 0.001}, "duration 0.001 s must be at least two sample intervals"),
        ({"noise_V": -0.001}, "noise -0.001 V must be ≥ 0 V"),
        ({"footprint_diameter_um": 0.0}, "footprint diameter 0.0 µm must be > 0 µm"),
        ({"sample_interval_s": 0.0}, "sample interval 0.0 s must be > 0 s"),
    ],
)
def test_bad_parameters_are_reported_with_value_and_unit(kwargs, message):
    arguments = {"current_density_mA_cm2": 1.0, "duration_s": 1.0, **kwargs}
    j = arguments.pop("current_density_mA_cm2")
    duration = arguments.pop("duration_s")
    with pytest.raises(MeniscusError, match=message):
        simulate_galvanostatic(j, duration, seed=0, **arguments)
