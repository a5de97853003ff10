import itertools
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import find_peaks

from core.analysis.cv import analyse_cv
from core.simulate.cv import cv_components, cv_waveform, simulate_cv
from core.simulate.physics import ARTICLE_PHYSICS
from core.units import disc_area_cm2


@pytest.fixture(scope="module")
def article_cv():
    return simulate_cv(seed=42)


@pytest.fixture(scope="module")
def article_parts():
    wave = cv_waveform(
        cycles=10, upper_V=1.47, lower_V=-0.27, scan_rate_V_s=0.1, sample_interval_s=2.57e-3
    )
    return cv_components(wave, footprint_diameter_um=10.0)


def test_waveform_is_a_triangle_sampled_at_the_fpga_interval(article_cv):
    trace, truth = article_cv.trace, article_cv.truth
    assert_allclose(np.diff(trace.time_s), 2.57e-3, rtol=1e-9)
    assert len(trace) == int(np.floor(10 * 34.8 / 2.57e-3)) + 1
    assert_allclose(truth["lower_vertex_times_s"], 17.4 + 34.8 * np.arange(10), rtol=1e-12)
    assert_allclose(truth["upper_vertex_times_s"], 34.8 * np.arange(1, 10), rtol=1e-12)
    wave = cv_waveform(
        cycles=10, upper_V=1.47, lower_V=-0.27, scan_rate_V_s=0.1, sample_interval_s=2.57e-3
    )
    assert wave.potential_V[0] == 1.47
    assert_allclose([wave.potential_V.min(), wave.potential_V.max()], [-0.27, 1.47], atol=3e-4)
    bounds = truth["cycle_bounds"]
    assert len(bounds) == 10 and bounds[0][0] == 0 and bounds[-1][1] == len(trace)
    for (_, stop), (start, _) in itertools.pairwise(bounds):
        assert stop - 1 == start  # cycles share their boundary sample
    vertex = np.array([b[0] for b in bounds[1:]])
    assert_array_equal(vertex, np.rint(34.8 * np.arange(1, 10) / 2.57e-3))


def test_truth_ce_follows_the_physics_law(article_cv):
    cycles = article_cv.truth["cycles"]
    ce = np.array([c["ce"] for c in cycles])
    assert_allclose(ce, ARTICLE_PHYSICS.coulombic_efficiency(np.arange(1, 11)), atol=1e-9)
    assert_allclose(ce[0], 0.25, atol=1e-9)
    assert_allclose(ce[-1], 0.85, atol=0.01)
    assert_allclose(ce, [c["q_a_C"] / c["q_c_C"] for c in cycles], rtol=1e-12)


def test_qc_falls_steeply_while_qa_rises_gradually(article_cv):
    q_c = np.array([c["q_c_C"] for c in article_cv.truth["cycles"]])
    q_a = np.array([c["q_a_C"] for c in article_cv.truth["cycles"]])
    assert q_c[0] > 1.5 * q_c[2]
    assert q_c[0] - q_c[3] > 3 * np.ptp(q_c[3:])  # the fall is in the first cycles
    assert np.all(np.diff(q_a) > 0)
    assert q_a[-1] < 2.5 * q_a[0]


def test_truth_uses_the_analysis_definition_on_noise_free_current(article_cv, article_parts):
    wave = article_parts.waveform
    result = analyse_cv(wave.time_s, wave.potential_V, article_parts.total_A)
    assert result.bounds == [tuple(b) for b in article_cv.truth["cycle_bounds"]]
    truth = article_cv.truth["cycles"]
    assert_allclose([c.q_c_C for c in result.cycles], [t["q_c_C"] for t in truth], rtol=1e-12)
    assert_allclose([c.q_a_C for c in result.cycles], [t["q_a_C"] for t in truth], rtol=1e-12)
    # An independent, plain trapezoid of the rectified current agrees closely.
    current = article_parts.total_A
    for t, (start, stop) in zip(truth, article_cv.truth["cycle_bounds"], strict=True):
        time_s = wave.time_s[start:stop]
        q_c = np.trapezoid(np.maximum(-current[start:stop], 0.0), time_s)
        assert_allclose(q_c, t["q_c_C"], rtol=1e-4)


def test_currents_have_realistic_magnitudes(article_parts):
    area_cm2 = disc_area_cm2(10.0)
    density = article_parts.total_A / area_cm2 * 1e3  # mA/cm²
    assert 0.3 < -density.min() < 1.2  # plating at the lower vertex
    assert 0.3 < density.max() < 1.5  # stripping peak
    assert 0.5e-9 < np.abs(article_parts.total_A).max() < 1e-9
    double_layer = np.abs(article_parts.capacitive_A)
    assert_allclose(double_layer, 20e-6 * area_cm2 * 0.1, rtol=1e-12)


def test_anodic_peaks_sit_at_the_article_potentials(article_parts):
    wave = article_parts.waveform
    start, stop = wave.bounds[-1]
    anodic = np.flatnonzero(wave.sweep_sign[start:stop] > 0) + start
    peaks, _ = find_peaks(article_parts.total_A[anodic], prominence=2e-11)
    assert_allclose(wave.potential_V[anodic][peaks], [0.18, 0.32, 0.82], atol=0.02)


def test_plating_only_below_the_onset_and_until_zero_volts(article_parts):
    wave = article_parts.waveform
    plating = article_parts.plating_A
    cathodic = wave.sweep_sign < 0
    assert np.all(plating <= 0)
    assert np.all(plating[cathodic & (wave.potential_V > -0.13)] == 0)
    assert np.all(plating[~cathodic & (wave.potential_V > 0)] == 0)
    assert np.all(plating[wave.potential_V < -0.2] < 0)


def test_plating_stays_below_the_transport_limit():
    sim = simulate_cv(seed=0, cycles=2, lower_V=-0.6, noise_A=0.0)
    wave = cv_waveform(
        cycles=2, upper_V=1.47, lower_V=-0.6, scan_rate_V_s=0.1, sample_interval_s=2.57e-3
    )
    parts = cv_components(wave, footprint_diameter_um=10.0)
    density = -parts.plating_A / disc_area_cm2(10.0) * 1e3
    limit = sim.truth["transport_limit_mA_cm2"]
    assert_allclose(limit, 1.254, rtol=1e-3)
    assert density.max() < limit
    assert density.max() > 0.9 * limit


def test_noise_is_seeded_and_has_the_requested_size():
    wave = cv_waveform(
        cycles=3, upper_V=1.47, lower_V=-0.27, scan_rate_V_s=0.1, sample_interval_s=2.57e-3
    )
    parts = cv_components(wave, footprint_diameter_um=10.0)
    a = simulate_cv(seed=5, cycles=3, noise_A=4e-12)
    b = simulate_cv(seed=5, cycles=3, noise_A=4e-12)
    c = simulate_cv(seed=6, cycles=3, noise_A=4e-12)
    assert_array_equal(a.trace.current_A, b.trace.current_A)
    assert_array_equal(a.trace.potential_V, b.trace.potential_V)
    assert not np.array_equal(a.trace.current_A, c.trace.current_A)
    current_noise = a.trace.current_A - parts.total_A
    assert_allclose(current_noise.std(), 4e-12, rtol=0.03)
    potential_noise = a.trace.potential_V - wave.potential_V
    assert_allclose(potential_noise.std(), ARTICLE_PHYSICS.potential_noise_V, rtol=0.03)
    quiet = simulate_cv(seed=5, cycles=3, noise_A=0.0)
    assert_array_equal(quiet.trace.current_A, parts.total_A)


def test_dead_li_bookkeeping(article_cv, article_parts):
    cycles = article_cv.truth["cycles"]
    plated = np.array([c["q_plated_C"] for c in cycles])
    stripped = np.array([c["q_stripped_C"] for c in cycles])
    dead = np.array([c["dead_li_C"] for c in cycles])
    assert np.all(plated > 0) and np.all(stripped > 0) and np.all(stripped <= plated)
    assert_allclose(dead, plated - stripped, rtol=1e-12)
    assert_allclose([c["dead_li_total_C"] for c in cycles], np.cumsum(dead), rtol=1e-12)
    # the Li metal left on the surface at the end is the accumulated dead Li
    assert_allclose(article_parts.li_metal_charge_C[-1], np.sum(dead), rtol=1e-9)
    assert np.all(article_parts.sei_charge_C[1:] >= article_parts.sei_charge_C[:-1])
    sei = np.array([c["q_sei_C"] for c in cycles])
    assert_allclose(article_parts.sei_charge_C[-1], sei.sum(), rtol=1e-9)
    assert sei[0] > 5 * sei[3]


def test_truth_is_json_serialisable_and_complete(article_cv):
    truth = json.loads(json.dumps(article_cv.truth))
    assert truth["seed"] == 42
    assert truth["parameters"]["scan_rate_V_s"] == 0.1
    assert truth["physics"]["ce_first_cycle"] == 0.25
    expected = {
        "cycle", "q_c_C", "q_a_C", "ce", "ce_target", "q_plated_C", "q_stripped_C", "q_sei_C",
        "q_alloyed_C", "q_dealloyed_C", "dead_li_C", "dead_li_total_C",
    }  # fmt: skip
    assert set(truth["cycles"][0]) == expected
    assert article_cv.trace.metadata["seed"] == 42


def test_start_at_open_circuit_goes_down_first():
    sim = simulate_cv(seed=1, cycles=3, start_V=1.0, noise_A=0.0)
    wave = cv_waveform(
        cycles=3,
        upper_V=1.47,
        lower_V=-0.27,
        scan_rate_V_s=0.1,
        sample_interval_s=2.57e-3,
        start_V=1.0,
    )
    assert wave.potential_V[0] == 1.0 and wave.sweep_sign[0] == -1
    assert_allclose(sim.truth["lower_vertex_times_s"][0], 12.7, rtol=1e-12)
    ce = [c["ce"] for c in sim.truth["cycles"]]
    assert_allclose(ce, ARTICLE_PHYSICS.coulombic_efficiency([1, 2, 3]), atol=1e-9)


def test_scan_rate_and_footprint_scaling():
    fast = simulate_cv(seed=0, cycles=2, scan_rate_V_s=0.5).truth["cycles"]
    base = simulate_cv(seed=0, cycles=2).truth["cycles"]
    small = simulate_cv(seed=0, cycles=2, footprint_diameter_um=6.0).truth["cycles"]
    assert fast[0]["q_plated_C"] < 0.5 * base[0]["q_plated_C"]  # less time below the onset
    assert_allclose(fast[0]["q_sei_C"], base[0]["q_sei_C"], rtol=1e-3)  # fixed-charge wave
    assert_allclose(small[0]["q_sei_C"] / base[0]["q_sei_C"], 0.36, rtol=1e-6)
    for cycles in (fast, small):
        assert_allclose([c["ce"] for c in cycles], [0.25, base[1]["ce"]], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lower_V": -0.1}, "lower_V -0.100 V must be below the Li plating onset -0.13 V"),
        ({"start_V": 1.6}, r"start_V 1.6 V must lie in \(-0.27, 1.47\] V"),
        ({"cycles": 0}, "cycles must be a whole number"),
        ({"scan_rate_V_s": 0.0}, "scan_rate_V_s 0.0 V/s must be above 0 V/s"),
        ({"noise_A": -1e-12}, "noise_A -1e-12 A must be at least 0 A"),
        ({"footprint_diameter_um": 0.0}, "footprint_diameter_um 0.0 µm"),
        ({"sample_interval_s": 1.0}, "sample_interval_s 1.0 s"),
        ({"scan_rate_V_s": 5.0, "cycles": 2}, "cycle 2: CE 0.473 is out of reach"),
    ],
)
def test_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_cv(**kwargs)
