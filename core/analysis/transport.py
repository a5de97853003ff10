"""Mass-transport limit of Li+ supply under an SECCM meniscus.

Anderson & Edwards (Anal. Chem. 2023, 95, 8258–8266) treat the pipette taper and meniscus as a
cone of half-angle γ and solve diffusion in 1-D spherical coordinates centred on the cone's
apex. The tip opening of radius r lies at the distance ``R_eq = r / tan γ`` from that apex, and
the steady-state diffusion-limited current through the cone's solid angle
``Ω = 2π(1 − cos γ) = 4π sin²(γ/2)`` is

    i_lim = n F D c Ω R_eq = 2π n F D c R_eq · 2 sin²(γ/2).

Their benchmark (r = 200 nm, γ = 7.5°, D = 1e-9 m²/s, c = 1 mol/m³, n = 1) gives 7.88 pA. The
Martín-Yerga et al. article (ACS Nano 2024) used these expressions to estimate ~1.3 mA/cm² for
its 10 µm pipette and flags the 3.82 mA/cm² experiments as above it.

The lab's defaults below are assumptions, since the article states neither D nor γ:

- ``LI_DIFFUSION_PC_M2_S = 1.0e-10`` m²/s: the order of the Li+ self-diffusion coefficient that
  PFG-NMR gives for LiPF6 in propylene carbonate near room temperature (Hayamizu, J. Chem. Eng.
  Data 2012, 57, 2012–2017, measured at 1 M). At 50 mM the solution is less viscous and D is
  probably somewhat higher; the limit scales linearly with D.
- ``LAB_HALF_ANGLE_DEG = 7.5``: Anderson & Edwards' reference geometry, typical of pulled glass
  pipettes.
- ``LAB_CONCENTRATION_MOL_M3 = 50`` (50 mM LiPF6) and pipette diameters of 6–10 µm, from the
  article. The footprint is taken as a disc of the pipette's radius.

With these values the 10 µm pipette gives 1.25 mA/cm² (article: ~1.3 mA/cm²) and the 6 µm
pipette 2.09 mA/cm² (the limit density scales as 1/r).

Every function works element-wise on numpy arrays and returns floats for scalar inputs.
"""

from __future__ import annotations

import numpy as np

from core.errors import AnalysisError
from core.units import FARADAY_C_PER_MOL

#: Li+ diffusion coefficient assumed for LiPF6 in propylene carbonate, m²/s (see module doc).
LI_DIFFUSION_PC_M2_S = 1.0e-10
#: Pipette half-angle assumed for the lab's pulled pipettes, degrees (see module doc).
LAB_HALF_ANGLE_DEG = 7.5
#: 50 mM LiPF6 in PC, in mol/m³.
LAB_CONCENTRATION_MOL_M3 = 50.0
#: Range of pipette tip diameters the lab uses, µm.
LAB_PIPETTE_DIAMETERS_UM = (6.0, 10.0)


def _scalar_or_array(value):
    return float(value) if np.ndim(value) == 0 else value


def _positive(name: str, value, unit: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(array) & (array > 0))
    if np.any(bad):
        offending = np.atleast_1d(array)[np.atleast_1d(bad)][0]
        raise AnalysisError(f"{name} {offending:g} {unit} must be a finite value above 0 {unit}")
    return array


def _half_angle_rad(half_angle_deg) -> np.ndarray:
    angle = np.asarray(half_angle_deg, dtype=float)
    bad = ~(np.isfinite(angle) & (angle > 0) & (angle < 90))
    if np.any(bad):
        offending = np.atleast_1d(angle)[np.atleast_1d(bad)][0]
        raise AnalysisError(
            f"half_angle_deg {offending:g}° is outside the open interval (0°, 90°) of a cone's "
            "half-angle"
        )
    return np.deg2rad(angle)


def equivalent_radius_m(pipette_radius_m, half_angle_deg):
    """Distance from the cone's apex to the pipette opening, ``R_eq = r / tan γ``.

    Parameters
    ----------
    pipette_radius_m : float or ndarray
        Inner radius of the pipette opening r, m (> 0).
    half_angle_deg : float or ndarray
        Half-angle γ of the pipette taper, degrees, in (0, 90).

    Returns
    -------
    float or ndarray
        R_eq in m, broadcast over the inputs.

    Raises
    ------
    AnalysisError
        If a radius is not positive and finite, or an angle is outside (0°, 90°).
    """
    radius = _positive("pipette_radius_m", pipette_radius_m, "m")
    gamma = _half_angle_rad(half_angle_deg)
    return _scalar_or_array(radius / np.tan(gamma))


def limiting_current_A(
    *,
    pipette_radius_m,
    half_angle_deg,
    diffusion_m2_s,
    concentration_mol_m3,
    n: int = 1,
):
    """Steady-state diffusion-limited current under the meniscus, A (a positive magnitude).

    ``i_lim = 2π n F D c R_eq · 2 sin²(γ/2)`` (Anderson & Edwards 2023), diffusion only: it
    ignores migration (a supporting electrolyte is absent here, so the true limit for a cation
    is somewhat higher) and evaporation-driven convection at the meniscus edge.

    Parameters
    ----------
    pipette_radius_m : float or ndarray
        Inner radius of the pipette opening, m.
    half_angle_deg : float or ndarray
        Pipette half-angle γ, degrees, in (0, 90).
    diffusion_m2_s : float or ndarray
        Diffusion coefficient of the reacting species, m²/s.
    concentration_mol_m3 : float or ndarray
        Bulk concentration, mol/m³ (1 mM = 1 mol/m³).
    n : int
        Electrons per ion (1 for Li+).

    Returns
    -------
    float or ndarray
        Limiting current, A.
    """
    r_eq = np.asarray(equivalent_radius_m(pipette_radius_m, half_angle_deg))
    gamma = _half_angle_rad(half_angle_deg)
    diffusion = _positive("diffusion_m2_s", diffusion_m2_s, "m²/s")
    concentration = _positive("concentration_mol_m3", concentration_mol_m3, "mol/m³")
    electrons = _positive("n", n, "electrons")
    solid_angle_sr = 2.0 * np.pi * 2.0 * np.sin(gamma / 2.0) ** 2
    current = electrons * FARADAY_C_PER_MOL * diffusion * concentration * solid_angle_sr * r_eq
    return _scalar_or_array(current)


def limiting_current_density_mA_cm2(
    *,
    pipette_radius_m,
    half_angle_deg,
    diffusion_m2_s,
    concentration_mol_m3,
    n: int = 1,
    footprint_radius_m=None,
):
    """Limiting current spread over the meniscus footprint, mA/cm².

    Parameters
    ----------
    pipette_radius_m, half_angle_deg, diffusion_m2_s, concentration_mol_m3, n
        As for :func:`limiting_current_A`.
    footprint_radius_m : float or ndarray, optional
        Radius of the wetted disc, m. Defaults to the pipette radius (the meniscus wets about
        the pipette's own diameter); pass the measured footprint when it is known.

    Returns
    -------
    float or ndarray
        Limiting current density, mA/cm².
    """
    current_A = limiting_current_A(
        pipette_radius_m=pipette_radius_m,
        half_angle_deg=half_angle_deg,
        diffusion_m2_s=diffusion_m2_s,
        concentration_mol_m3=concentration_mol_m3,
        n=n,
    )
    if footprint_radius_m is None:
        footprint_radius_m = pipette_radius_m
    footprint_m = _positive("footprint_radius_m", footprint_radius_m, "m")
    area_cm2 = np.pi * (footprint_m * 100.0) ** 2
    return _scalar_or_array(np.asarray(current_A) * 1e3 / area_cm2)


def lab_limiting_current_density_mA_cm2(pipette_diameter_um=10.0):
    """Limit for the lab's electrolyte and assumed D and γ, for a pipette diameter in µm.

    Uses ``LI_DIFFUSION_PC_M2_S``, ``LAB_HALF_ANGLE_DEG`` and ``LAB_CONCENTRATION_MOL_M3`` with
    the footprint equal to the pipette opening: 1.25 mA/cm² at 10 µm, 2.09 mA/cm² at 6 µm.
    """
    radius_m = np.asarray(pipette_diameter_um, dtype=float) * 1e-6 / 2.0
    return limiting_current_density_mA_cm2(
        pipette_radius_m=_scalar_or_array(radius_m),
        half_angle_deg=LAB_HALF_ANGLE_DEG,
        diffusion_m2_s=LI_DIFFUSION_PC_M2_S,
        concentration_mol_m3=LAB_CONCENTRATION_MOL_M3,
    )


def exceeds_transport_limit(current_density_mA_cm2, limit_mA_cm2):
    """Flag current densities whose magnitude is above the transport limit.

    The sign of the current density is ignored (plating currents are often recorded
    negative); a density exactly at the limit is not flagged.

    Parameters
    ----------
    current_density_mA_cm2 : float or ndarray
        Applied or measured current densities, mA/cm².
    limit_mA_cm2 : float or ndarray
        Limiting current density, mA/cm² (> 0), broadcast against the densities.

    Returns
    -------
    bool or ndarray of bool
        True where ``|j| > limit``.
    """
    density = np.asarray(current_density_mA_cm2, dtype=float)
    if np.any(~np.isfinite(density)):
        raise AnalysisError("current_density_mA_cm2 contains NaN or infinite values")
    limit = _positive("limit_mA_cm2", limit_mA_cm2, "mA/cm²")
    flags = np.abs(density) > limit
    return bool(flags) if flags.ndim == 0 else flags
