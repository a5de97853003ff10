import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.transport import (
    LAB_CONCENTRATION_MOL_M3,
    LAB_HALF_ANGLE_DEG,
    LI_DIFFUSION_PC_M2_S,
    equivalent_radius_m,
    exceeds_transport_limit,
    lab_limiting_current_density_mA_cm2,
    limiting_current_A,
    limiting_current_density_mA_cm2,
)
from core.errors import AnalysisError

BENCHMARK = dict(
    pipette_radius_m=200e-9, half_angle_deg=7.5, diffusion_m2_s=1e-9, concentration_mol_m3=1.0
)


def test_anderson_edwards_benchmark_is_7_88_pA():
    assert_allclose(limiting_current_A(**BENCHMARK), 7.88e-12, rtol=1e-3)


def test_benchmark_against_hand_calculation():
    gamma = math.radians(7.5)
    r_eq = 200e-9 / math.tan(gamma)
    expected = 2 * math.pi * 96485.33212 * 1e-9 * 1.0 * r_eq * 2 * math.sin(gamma / 2) ** 2
    assert_allclose(equivalent_radius_m(200e-9, 7.5), 1.51915e-6, rtol=1e-5)
    assert_allclose(limiting_current_A(**BENCHMARK), expected, rtol=1e-12)


def test_current_scales_with_n_d_and_c():
    base = limiting_current_A(**BENCHMARK)
    assert_allclose(limiting_current_A(**{**BENCHMARK, "concentration_mol_m3": 50.0}), 50 * base)
    assert_allclose(limiting_current_A(**{**BENCHMARK, "diffusion_m2_s": 3e-9}), 3 * base)
    assert_allclose(limiting_current_A(**BENCHMARK, n=2), 2 * base)


def test_small_angle_limit_is_pi_n_f_d_c_r_gamma():
    gamma = math.radians(0.2)
    current = limiting_current_A(**{**BENCHMARK, "half_angle_deg": 0.2})
    assert_allclose(current, math.pi * 96485.33212 * 1e-9 * 1.0 * 200e-9 * gamma, rtol=1e-5)


def test_lab_defaults_reproduce_article_estimate_for_10_um_pipette():
    # Article: ~1.3 mA/cm² for the ca. 10 µm pipette, 50 mM LiPF6 in PC.
    assert_allclose(lab_limiting_current_density_mA_cm2(10.0), 1.3, rtol=0.05)
    assert LAB_CONCENTRATION_MOL_M3 == 50.0
    explicit = limiting_current_density_mA_cm2(
        pipette_radius_m=5e-6,
        half_angle_deg=LAB_HALF_ANGLE_DEG,
        diffusion_m2_s=LI_DIFFUSION_PC_M2_S,
        concentration_mol_m3=50.0,
    )
    assert_allclose(explicit, lab_limiting_current_density_mA_cm2(10.0), rtol=1e-12)


def test_limit_density_scales_inversely_with_pipette_radius():
    densities = lab_limiting_current_density_mA_cm2(np.array([6.0, 10.0]))
    assert densities.shape == (2,)
    assert_allclose(densities[0] / densities[1], 10.0 / 6.0, rtol=1e-12)


def test_footprint_radius_sets_the_area():
    kwargs = dict(
        pipette_radius_m=5e-6, half_angle_deg=7.5, diffusion_m2_s=1e-10, concentration_mol_m3=50
    )
    same = limiting_current_density_mA_cm2(**kwargs)
    assert_allclose(limiting_current_density_mA_cm2(**kwargs, footprint_radius_m=5e-6), same)
    wider = limiting_current_density_mA_cm2(**kwargs, footprint_radius_m=10e-6)
    assert_allclose(wider, same / 4, rtol=1e-12)
    current = limiting_current_A(**kwargs)
    assert_allclose(same, current * 1e3 / (math.pi * (5e-4) ** 2), rtol=1e-12)


def test_flags_article_conditions():
    limit = lab_limiting_current_density_mA_cm2(10.0)
    # Article: only 3.82 mA/cm² exceeded the limit among 0.20, 0.78, 3.82.
    flags = exceeds_transport_limit(np.array([0.20, 0.78, 3.82, -3.82]), limit)
    assert_array_equal(flags, [False, False, True, True])
    assert exceeds_transport_limit(2.0, 1.3) is True
    assert exceeds_transport_limit(1.3, 1.3) is False


@pytest.mark.parametrize(
    ("radius_m", "angle_deg", "message"),
    [
        (-1e-6, 7.5, "pipette_radius_m -1e-06 m must be a finite value above 0 m"),
        (0.0, 7.5, "pipette_radius_m 0 m"),
        (5e-6, 0.0, "half_angle_deg 0° is outside the open interval (0°, 90°)"),
        (5e-6, 90.0, "half_angle_deg 90°"),
        (5e-6, -5.0, "half_angle_deg -5°"),
        (5e-6, float("nan"), "half_angle_deg nan°"),
    ],
)
def test_rejects_bad_geometry(radius_m, angle_deg, message):
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        equivalent_radius_m(radius_m, angle_deg)


def test_rejects_bad_transport_values():
    with pytest.raises(AnalysisError, match="diffusion_m2_s -1e-09 m²/s"):
        limiting_current_A(**{**BENCHMARK, "diffusion_m2_s": -1e-9})
    with pytest.raises(AnalysisError, match="concentration_mol_m3 0 mol/m³"):
        limiting_current_A(**{**BENCHMARK, "concentration_mol_m3": 0.0})
    with pytest.raises(AnalysisError, match="footprint_radius_m"):
        limiting_current_density_mA_cm2(**BENCHMARK, footprint_radius_m=-1.0)
    with pytest.raises(AnalysisError, match="limit_mA_cm2 0 mA/cm²"):
        exceeds_transport_limit(1.0, 0.0)
    with pytest.raises(AnalysisError, match="NaN"):
        exceeds_transport_limit([1.0, float("nan")], 1.3)


def test_array_radii_give_array_currents():
    radii = np.array([100e-9, 200e-9, 400e-9])
    currents = limiting_current_A(**{**BENCHMARK, "pipette_radius_m": radii})
    assert_allclose(currents, 7.879e-12 * radii / 200e-9, rtol=1e-3)
    with pytest.raises(AnalysisError, match="pipette_radius_m -1e-07 m"):
        limiting_current_A(**{**BENCHMARK, "pipette_radius_m": np.array([1e-7, -1e-7])})
