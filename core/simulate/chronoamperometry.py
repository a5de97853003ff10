"""Digital twin of a potentiostatic step (chronoamperometry) at one SECCM landing.

The current after stepping to ``potential_V`` is the sum of

- double-layer charging, decaying with the cell's RC time constant;
- SEI / Li–Au alloy formation, a finite charge passed with first-order kinetics;
- Li nucleation and diffusion-controlled growth below the plating onset, as the
  Scharifker–Hills instantaneous-nucleation transient, ``i = i_cottrell(t)·(1 − e^(−t/τ_n))``,
  whose nucleation rate rises exponentially with overpotential; capped by the SECCM
  transport limit.

Cathodic current is negative. Magnitudes are consistent with :mod:`core.simulate.cv` for the
same footprint and electrolyte.
"""

from __future__ import annotations

import numpy as np

from core.analysis.transport import lab_limiting_current_density_mA_cm2
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.simulate.records import SimulatedTrace
from core.traces import Trace
from core.units import disc_area_cm2

PLATING_ONSET_V = -0.13
DOUBLE_LAYER_F_PER_CM2 = 20e-6
CELL_RESISTANCE_OHM = 5e8
SEI_CHARGE_UC_PER_CM2 = 2.0
SEI_TIME_S = 0.4
NUCLEATION_TIME_AT_ONSET_S = 30.0
NUCLEATION_DECADE_V = 0.06


def simulate_chronoamperometry(
    *,
    potential_V: float,
    duration_s: float,
    footprint_diameter_um: float = 10.0,
    rest_potential_V: float = 1.0,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    seed: int | None = None,
    noise_A: float = 1e-12,
) -> SimulatedTrace:
    """Simulate a potential step from ``rest_potential_V`` to ``potential_V`` for ``duration_s``.

    Returns the sampled trace (2.57 ms sampling) and its truth: the noise-free charge passed
    (C), the plating charge (C) and the time constant of nucleation (s, ``None`` above onset).
    """
    if duration_s <= 0:
        raise ValueError(f"duration {duration_s} s must be positive")
    if footprint_diameter_um <= 0:
        raise ValueError(f"footprint diameter {footprint_diameter_um} µm must be positive")
    rng = np.random.default_rng(seed)
    area_cm2 = disc_area_cm2(footprint_diameter_um)
    dt = physics.sample_interval_s
    time_s = np.arange(int(np.floor(duration_s / dt)) + 1) * dt
    time_s[0] = dt * 1e-3  # the Cottrell term is singular at t = 0

    step_V = potential_V - rest_potential_V
    rc_s = CELL_RESISTANCE_OHM * DOUBLE_LAYER_F_PER_CM2 * area_cm2
    charging = step_V / CELL_RESISTANCE_OHM * np.exp(-time_s / rc_s)
    sei = -(SEI_CHARGE_UC_PER_CM2 * 1e-6 * area_cm2 / SEI_TIME_S) * np.exp(-time_s / SEI_TIME_S)

    limit_A = lab_limiting_current_density_mA_cm2(footprint_diameter_um) * 1e-3 * area_cm2
    overpotential = PLATING_ONSET_V - potential_V
    tau_n = None
    plating = np.zeros_like(time_s)
    if overpotential > 0:
        tau_n = NUCLEATION_TIME_AT_ONSET_S * 10 ** (-overpotential / NUCLEATION_DECADE_V)
        cottrell = limit_A * (1.0 + np.sqrt(0.05 / time_s))
        plating = -cottrell * (1.0 - np.exp(-time_s / tau_n))
    clean = charging + sei + plating
    current = clean + rng.normal(0.0, noise_A, time_s.shape)
    time_s[0] = 0.0
    potential = np.full_like(time_s, potential_V)
    truth = {
        "technique": "chronoamperometry",
        "potential_V": potential_V,
        "duration_s": duration_s,
        "footprint_diameter_um": footprint_diameter_um,
        "charge_C": float(np.trapezoid(clean, time_s)),
        "plating_charge_C": float(np.trapezoid(plating, time_s)),
        "nucleation_time_constant_s": tau_n,
        "seed": seed,
    }
    trace = Trace(time_s, potential, current, {"technique": "chronoamperometry"})
    return SimulatedTrace(trace=trace, truth=truth)
