import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.cv import CVResult, analyse_cv, signed_charges_C, split_cycles
from core.errors import AnalysisError
from core.simulate.cv import simulate_cv

UPPER_V, LOWER_V = 1.47, -0.27


def triangle(knots_V, scan_rate_V_s, time_s):
    """Piecewise-linear potential through ``knots_V`` at a constant sweep rate."""
    knots_V = np.asarray(knots_V, dtype=float)
    knots_s = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(knots_V)) / scan_rate_V_s)])
    return np.interp(time_s, knots_s, knots_V), knots_s


def regular_times(knots_V, scan_rate_V_s, interval_s):
    duration_s = np.sum(np.abs(np.diff(knots_V))) / scan_rate_V_s
    return np.arange(0.0, duration_s + 1e-9, interval_s)


# --- against the simulator's ground truth ---------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "scan_rate_V_s"), [(0, 0.05), (7, 0.1), (2024, 0.1), (1, 0.2), (3, 0.5), (99, 1.0)]
)
def test_ce_matches_simulated_truth(seed, scan_rate_V_s):
    sim = simulate_cv(seed=seed, scan_rate_V_s=scan_rate_V_s)
    trace = sim.trace
    result = analyse_cv(trace.time_s, trace.potential_V, trace.current_A)
    truth = sim.truth["cycles"]
    assert len(result.cycles) == len(truth) == 10
    assert [c.cycle for c in result.cycles] == list(range(1, 11))
    assert_allclose([c.ce for c in result.cycles], [t["ce"] for t in truth], atol=0.02)
    assert_allclose([c.q_c_C for c in result.cycles], [t["q_c_C"] for t in truth], rtol=0.02)
    assert_allclose([c.q_a_C for c in result.cycles], [t["q_a_C"] for t in truth], rtol=0.02)
    # Boundaries land within a few samples of the true upper vertices.
    found = np.array([b[0] for b in result.bounds])
    expected = np.array([b[0] for b in sim.truth["cycle_bounds"]])
    assert np.max(np.abs(found - expected)) <= 20


def test_ce_rises_from_a_quarter_to_about_085_like_the_article():
    trace = simulate_cv(seed=3).trace
    ce = np.array(
        [c.ce for c in analyse_cv(trace.time_s, trace.potential_V, trace.current_A).cycles]
    )
    assert_allclose(ce[0], 0.25, atol=0.02)
    assert_allclose(ce[-1], 0.85, atol=0.02)
    assert np.all(np.diff(ce) > 0)


def test_simulated_cv_starting_at_ocp_going_down():
    sim = simulate_cv(seed=11, start_V=1.0, cycles=4)
    trace = sim.trace
    result = analyse_cv(trace.time_s, trace.potential_V, trace.current_A)
    assert len(result.cycles) == 4
    assert result.bounds[0][0] == 0
    assert_allclose(
        [c.ce for c in result.cycles], [t["ce"] for t in sim.truth["cycles"]], atol=0.02
    )


# --- hand-built records the simulator does not produce ---------------------------------------


def test_linear_current_in_potential_gives_exact_charges():
    # I = g (E − E0) on a triangular wave: per cycle Qa = g (upper − E0)² / v and
    # Qc = g (E0 − lower)² / v exactly; the sampled interpolant is exact when vertices and the
    # zero crossings are straight lines between samples (vertices on samples).
    g, e0, v = 2e-9, 0.4, 0.1
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 3
    interval_s = 0.0174  # 1.74 V / 0.1 V/s is exactly 1000 samples per sweep
    time_s = np.arange(6001) * interval_s
    potential_V, _ = triangle(knots, v, time_s)
    result = analyse_cv(time_s, potential_V, g * (potential_V - e0))
    assert len(result.cycles) == 3
    q_a = g * (UPPER_V - e0) ** 2 / v
    q_c = g * (e0 - LOWER_V) ** 2 / v
    assert_allclose([c.q_a_C for c in result.cycles], q_a, rtol=1e-9)
    assert_allclose([c.q_c_C for c in result.cycles], q_c, rtol=1e-9)
    assert_allclose([c.ce for c in result.cycles], q_a / q_c, rtol=1e-9)
    assert result.bounds == [(0, 2001), (2000, 4001), (4000, 6001)]


def test_sinusoidal_current_with_uneven_sampling():
    # One current period per cycle: ∫ max(±I, 0) over a cycle is I0 P / π each, CE = 1.
    rng = np.random.default_rng(5)
    v, i0 = 0.1, 3e-10
    period_s = 2 * (UPPER_V - LOWER_V) / v
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 4
    steps = rng.uniform(1e-3, 4e-3, size=60_000)  # jittered FPGA-like sampling
    time_s = np.concatenate([[0.0], np.cumsum(steps)])
    time_s = time_s[time_s <= 4 * period_s]
    time_s = np.union1d(time_s, np.arange(5) * period_s)  # keep both ends on vertices
    potential_V, _ = triangle(knots, v, time_s)
    current_A = i0 * np.sin(2 * np.pi * time_s / period_s)
    result = analyse_cv(time_s, potential_V, current_A)
    assert len(result.cycles) == 4
    assert_allclose([c.q_a_C for c in result.cycles], i0 * period_s / np.pi, rtol=1e-5)
    assert_allclose([c.q_c_C for c in result.cycles], i0 * period_s / np.pi, rtol=1e-5)
    assert_allclose([c.ce for c in result.cycles], 1.0, rtol=1e-5)


def test_constant_currents_per_sweep():
    # −2 nA while sweeping down, +1.5 nA while sweeping up: Qc = 2 nA·T, Qa = 1.5 nA·T.
    v, interval_s = 0.1, 2.57e-3
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 2
    time_s = regular_times(knots, v, interval_s)
    potential_V, _ = triangle(knots, v, time_s)
    falling = np.gradient(potential_V) < 0
    current_A = np.where(falling, -2e-9, 1.5e-9)
    sweep_s = (UPPER_V - LOWER_V) / v
    result = analyse_cv(time_s, potential_V, current_A)
    assert_allclose([c.q_c_C for c in result.cycles], 2e-9 * sweep_s, rtol=1e-3)
    assert_allclose([c.q_a_C for c in result.cycles], 1.5e-9 * sweep_s, rtol=1e-3)
    assert_allclose([c.ce for c in result.cycles], 0.75, rtol=2e-3)


def test_opposite_sign_convention_gives_identical_charges():
    sim = simulate_cv(seed=4, cycles=3)
    t, e, i = sim.trace.time_s, sim.trace.potential_V, sim.trace.current_A
    usual = analyse_cv(t, e, i)
    flipped = analyse_cv(t, e, -i, cathodic_current_negative=False)
    assert usual.to_dict() == flipped.to_dict()
    wrong = analyse_cv(t, e, -i)  # flipped data read with the wrong convention swaps Qa/Qc
    assert_allclose([c.q_c_C for c in wrong.cycles], [c.q_a_C for c in usual.cycles])


def test_starting_mid_sweep_going_down_counts_the_first_cycle():
    v, interval_s = 0.1, 2.57e-3
    knots = [0.6] + [LOWER_V, UPPER_V] * 3
    time_s = regular_times(knots, v, interval_s)
    potential_V, knots_s = triangle(knots, v, time_s)
    bounds = split_cycles(time_s, potential_V)
    vertex = np.rint(knots_s[2:-1:2] / interval_s).astype(int)
    assert [b[0] for b in bounds] == [0, *vertex.tolist()]
    assert bounds[-1][1] == time_s.size


def test_starting_on_an_anodic_sweep_drops_the_leading_part():
    v, interval_s = 0.1, 2.57e-3
    for knots in ([0.6, UPPER_V] + [LOWER_V, UPPER_V] * 2, [LOWER_V, UPPER_V] * 3):
        time_s = regular_times(knots, v, interval_s)
        potential_V, knots_s = triangle(knots, v, time_s)
        bounds = split_cycles(time_s, potential_V)
        first_upper = int(np.rint(knots_s[1] / interval_s))
        assert len(bounds) == 2
        assert bounds[0][0] == first_upper


@pytest.mark.parametrize(
    ("tail", "expected_cycles"),
    [
        ([LOWER_V, 0.5], 2),  # stopped while stripping: partial, dropped
        ([0.2], 2),  # stopped on the cathodic sweep: dropped
        ([LOWER_V, UPPER_V - 0.05], 3),  # back up within min_amplitude_V: complete
    ],
)
def test_partial_last_cycle(tail, expected_cycles):
    v, interval_s = 0.1, 2.57e-3
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 2 + tail
    time_s = regular_times(knots, v, interval_s)
    potential_V, _ = triangle(knots, v, time_s)
    bounds = split_cycles(time_s, potential_V)
    assert len(bounds) == expected_cycles
    if expected_cycles == 3:
        assert bounds[-1][1] == time_s.size


def test_potential_noise_of_5_mV_makes_no_fake_vertices():
    rng = np.random.default_rng(8)
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 5
    for v, interval_s in [(0.1, 2.57e-3), (0.5, 2.57e-3), (0.02, 1e-2)]:
        time_s = regular_times(knots, v, interval_s)
        clean_V, knots_s = triangle(knots, v, time_s)
        noisy_V = clean_V + rng.normal(0.0, 0.005, time_s.size)
        bounds = split_cycles(time_s, noisy_V)
        assert len(bounds) == 5
        expected = np.rint(knots_s[2:-1:2] / interval_s)
        found = np.array([b[0] for b in bounds[1:]])
        # within the time the sweep needs to cross ~3 noise sds each way
        assert np.max(np.abs(found - expected)) * interval_s * v < 0.02


def test_spikes_and_holds_do_not_make_vertices():
    interval_s = 2.57e-3
    knots_V = [UPPER_V, UPPER_V, LOWER_V, UPPER_V, UPPER_V, LOWER_V, UPPER_V]
    knots_s = np.array([0.0, 2.0, 19.4, 36.8, 38.8, 56.2, 73.6])  # 2 s holds at the top
    time_s = np.arange(0.0, knots_s[-1] + 1e-9, interval_s)
    potential_V = np.interp(time_s, knots_s, knots_V)
    potential_V[[5000, 9000]] += [0.8, -1.2]  # single-sample glitches
    potential_V += np.random.default_rng(2).normal(0.0, 0.002, time_s.size)
    bounds = split_cycles(time_s, potential_V)
    assert len(bounds) == 2
    hold_start, hold_end = 36.8 / interval_s, 38.8 / interval_s
    assert hold_start - 30 <= bounds[1][0] <= hold_end + 30


def test_too_much_potential_noise_is_reported():
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 2
    time_s = regular_times(knots, 0.1, 2.57e-3)
    potential_V, _ = triangle(knots, 0.1, time_s)
    noisy_V = potential_V + np.random.default_rng(1).normal(0.0, 0.03, time_s.size)
    message = r"potential noise of (29|3\d)\.\d mV \(sd\) is too large for min_amplitude_V 0.1 V"
    with pytest.raises(AnalysisError, match=message):
        split_cycles(time_s, noisy_V)
    assert len(split_cycles(time_s, noisy_V, min_amplitude_V=0.3)) == 2


def test_zero_cathodic_charge_gives_nan_ce():
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 2
    time_s = regular_times(knots, 0.1, 0.01)
    potential_V, _ = triangle(knots, 0.1, time_s)
    result = analyse_cv(time_s, potential_V, np.full(time_s.size, 1e-10))
    assert all(np.isnan(c.ce) for c in result.cycles)
    assert all(c.q_c_C == 0.0 for c in result.cycles)
    assert_allclose([c.q_a_C for c in result.cycles], 1e-10 * 34.8, rtol=1e-3)


def test_to_dict_has_exactly_the_documented_shape():
    knots = [UPPER_V, LOWER_V, UPPER_V]
    time_s = regular_times(knots, 0.1, 0.0174)
    potential_V, _ = triangle(knots, 0.1, time_s)
    result = analyse_cv(time_s, potential_V, 1e-9 * (potential_V - 0.4))
    assert isinstance(result, CVResult)
    d = result.to_dict()
    assert list(d) == ["cycles"]
    assert list(d["cycles"][0]) == ["cycle", "q_c_C", "q_a_C", "ce"]
    assert d["cycles"][0]["cycle"] == 1
    assert all(isinstance(d["cycles"][0][k], float) for k in ("q_c_C", "q_a_C", "ce"))


def test_signed_charges_split_segments_at_zero_crossings():
    time_s = np.array([0.0, 1.0, 3.0])
    current_A = np.array([2.0, -2.0, -2.0])
    positive, negative = signed_charges_C(time_s, current_A)
    assert_allclose(positive, [0.0, 0.5, 0.5])
    assert_allclose(negative, [0.0, 0.5, 4.5])
    assert_allclose(positive - negative, np.concatenate([[0], np.cumsum([0.0, -4.0])]))


@pytest.mark.parametrize(
    ("time_s", "potential_V", "current_A", "message"),
    [
        ([0, 1, 2], [0, 1], [0, 0, 0], "potential_V has 2 samples but time_s has 3"),
        ([0, 1, 1, 2], [0, 1, 0, 1], [0, 0, 0, 0], r"time_s\[2\] = 1 s follows time_s\[1\]"),
        ([0, 1, 2], [0, 1, 0], [0, np.nan, 0], r"current_A\[1\] is nan"),
        ([0, 1], [0, 1], [0, 0], "at least 3 samples"),
        ([[0, 1, 2]], [0, 1, 0], [0, 0, 0], "time_s must be 1-D"),
    ],
)
def test_rejects_malformed_input(time_s, potential_V, current_A, message):
    with pytest.raises(AnalysisError, match=message):
        analyse_cv(time_s, potential_V, current_A)


def test_no_complete_cycle_is_an_error():
    time_s = np.arange(0.0, 17.4, 0.01)
    potential_V = UPPER_V - 0.1 * time_s  # a single linear sweep
    assert split_cycles(time_s, potential_V) == []
    with pytest.raises(AnalysisError, match="no complete CV cycle"):
        analyse_cv(time_s, potential_V, np.zeros_like(time_s))


def test_min_amplitude_must_be_positive():
    with pytest.raises(AnalysisError, match="min_amplitude_V 0 V must be above 0 V"):
        split_cycles([0, 1, 2], [0, 1, 0], min_amplitude_V=0)


def test_long_slow_record():
    # 10 cycles at 20 mV/s sampled every 2.57 ms: 677,000 samples.
    knots = [UPPER_V] + [LOWER_V, UPPER_V] * 10
    time_s = regular_times(knots, 0.02, 2.57e-3)
    potential_V, _ = triangle(knots, 0.02, time_s)
    potential_V += np.random.default_rng(0).normal(0.0, 0.002, time_s.size)
    current_A = np.random.default_rng(1).normal(0.0, 1e-12, time_s.size)
    result = analyse_cv(time_s, potential_V, current_A)
    assert len(result.cycles) == 10
    assert_array_equal([c.cycle for c in result.cycles], np.arange(1, 11))
