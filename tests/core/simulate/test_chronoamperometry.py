import numpy as np
import pytest

from core.analysis.transport import lab_limiting_current_density_mA_cm2
from core.simulate.chronoamperometry import simulate_chronoamperometry
from core.units import disc_area_cm2


def test_no_plating_above_the_onset():
    sim = simulate_chronoamperometry(potential_V=0.5, duration_s=5.0, seed=1)
    assert sim.truth["nucleation_time_constant_s"] is None
    assert sim.truth["plating_charge_C"] == 0.0
    # only double layer and SEI: the current has died away to the noise at the end
    assert abs(sim.trace.current_A[-200:].mean()) < 1e-12


def test_plating_current_rises_to_the_transport_limit_below_onset():
    sim = simulate_chronoamperometry(potential_V=-0.3, duration_s=5.0, seed=2,
                                     footprint_diameter_um=10.0)
    limit_A = lab_limiting_current_density_mA_cm2(10.0) * 1e-3 * disc_area_cm2(10.0)
    late = -sim.trace.current_A[-200:].mean()
    assert late == pytest.approx(limit_A * (1 + np.sqrt(0.05 / 4.8)), rel=0.05)
    assert sim.truth["plating_charge_C"] < 0


def test_more_overpotential_nucleates_sooner():
    taus = [simulate_chronoamperometry(potential_V=e, duration_s=1.0, seed=0)
            .truth["nucleation_time_constant_s"] for e in (-0.15, -0.2, -0.3)]
    assert taus[0] > taus[1] > taus[2]


def test_sampling_potential_and_reproducibility():
    a = simulate_chronoamperometry(potential_V=-0.2, duration_s=1.0, seed=5)
    b = simulate_chronoamperometry(potential_V=-0.2, duration_s=1.0, seed=5)
    np.testing.assert_array_equal(a.trace.current_A, b.trace.current_A)
    assert a.trace.time_s[0] == 0.0
    np.testing.assert_allclose(np.diff(a.trace.time_s)[1:], 2.57e-3)
    assert np.all(a.trace.potential_V == -0.2)


def test_bad_duration():
    with pytest.raises(ValueError, match="duration 0 s must be positive"):
        simulate_chronoamperometry(potential_V=-0.2, duration_s=0)
