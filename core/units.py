"""Physical constants and unit conversions used across the analyses.

Conventions: SI inside functions unless a name says otherwise; current densities in mA/cm²
(the lab's unit), areal charges in µAh/cm², potentials in V vs Li/Li+.
"""

from __future__ import annotations

import math

FARADAY_C_PER_MOL = 96485.33212
GAS_CONSTANT_J_PER_MOL_K = 8.314462618
AVOGADRO_PER_MOL = 6.02214076e23

LI_DENSITY_G_PER_CM3 = 0.534
LI_MOLAR_MASS_G_PER_MOL = 6.94
LI_MOLAR_VOLUME_M3_PER_MOL = LI_MOLAR_MASS_G_PER_MOL / LI_DENSITY_G_PER_CM3 * 1e-6

#: 1 µAh/cm² expressed in mC/cm² (1 µAh = 3.6 mC).
UAH_PER_CM2_IN_MC_PER_CM2 = 3.6


def disc_area_cm2(diameter_um: float) -> float:
    """Area of a disc footprint of the given diameter (µm), in cm²."""
    radius_cm = diameter_um * 1e-4 / 2.0
    return math.pi * radius_cm**2


def current_A_from_density(current_density_mA_cm2: float, area_cm2: float) -> float:
    """Current (A) that gives ``current_density_mA_cm2`` over ``area_cm2``."""
    return current_density_mA_cm2 * 1e-3 * area_cm2


def charge_density_uAh_cm2(current_density_mA_cm2, time_s):
    """Areal charge (µAh/cm²) passed at a constant current density for ``time_s`` seconds.

    Works element-wise on numpy arrays. 1 mA/cm² for 1 s is 1 mC/cm² = 1/3.6 µAh/cm².
    """
    return current_density_mA_cm2 * time_s / UAH_PER_CM2_IN_MC_PER_CM2
