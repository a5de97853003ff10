"""Physical parameters of the digital twin, shared by every simulator.

One :class:`PlatingPhysics` drives the simulated E–t curves, CV cycling, IRM movies and SEM
images, so one simulated spot's curve, movie and SEM image agree with each other.

The laws are smooth empirical fits to the article's Table 1 (Martín-Yerga et al., ACS Nano
2024) for 50 mM LiPF6 in PC on a 20 nm Au film; they hold over 0.1–5 mA/cm²:

- growth potential: ohmic-like plus quadratic term, ``E_growth = -(r·j + k·j²)``;
- nucleation overshoot ``η = a·j·exp(-j/b)`` (positive, so E_growth > E_nuc always), and
  ``E_nuc = E_growth - η``, whose magnitude grows monotonically with j;
- charge to nucleation ``Q_nuc = q_inf + q1/j`` (µAh/cm²), falling with j (SEI controlled);
  ``t_nuc = 3.6·Q_nuc/j``;
- particle areal density ``n = n_ref·(j/j_ref)^p`` and faradaic efficiency falling with j.

All current densities are in mA/cm² (magnitudes, plating direction), potentials in V vs Li/Li+.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.units import UAH_PER_CM2_IN_MC_PER_CM2


@dataclass(frozen=True)
class PlatingPhysics:
    """Parameters of Li plating on the Au thin film, with their units in the names."""

    # --- galvanostatic E–t -------------------------------------------------------------
    growth_linear_V_per_mA_cm2: float = 0.01749
    growth_quadratic_V_per_mA2_cm4: float = 0.01372
    overshoot_scale_V_per_mA_cm2: float = 0.3245
    overshoot_decay_mA_cm2: float = 0.974
    q_nuc_floor_uAh_cm2: float = 0.805
    q_nuc_low_j_uAh_mA_cm4: float = 0.035
    #: potential the electrode sits at on contact (before SEI/alloy charge), V
    open_circuit_V: float = 1.0
    #: potential where the SEI/Li–Au alloy plateau sits, V (Li–Au alloying happens above 0 V)
    alloy_plateau_V: float = 0.12
    #: fraction of Q_nuc spent on the fast initial drop after contact (double layer + SEI onset)
    initial_drop_charge_fraction: float = 0.03
    #: relaxation from E_nuc to E_growth, as a charge density (µAh/cm²)
    growth_relaxation_uAh_cm2: float = 0.12
    #: spot-to-spot relative scatter of Q_nuc (1 sd) and absolute scatter of potentials (V)
    q_nuc_scatter_rel: float = 0.04
    potential_scatter_V: float = 0.004
    #: instrument noise on the potential (1 sd, V) at the FPGA's 2.57 ms sampling
    potential_noise_V: float = 0.002
    sample_interval_s: float = 2.57e-3

    # --- CV cycling --------------------------------------------------------------------
    ce_first_cycle: float = 0.25
    ce_limit: float = 0.86
    ce_rise_cycles: float = 2.2

    # --- deposits (IRM and SEM) --------------------------------------------------------
    particle_density_ref_per_cm2: float = 1.7e9
    particle_density_ref_j_mA_cm2: float = 0.78
    particle_density_exponent: float = 0.278
    faradaic_efficiency_ref: float = 0.152
    faradaic_efficiency_slope_per_decade: float = -0.070
    #: optical nucleation leads the electrochemical t_nuc by this fraction of t_nuc
    irm_nucleation_lead_fraction: float = 0.12
    #: spread (1 sd) of local nucleation times across the footprint, fraction of t_nuc
    irm_nucleation_spread_fraction: float = 0.06

    # --- galvanostatic laws ------------------------------------------------------------
    def e_growth_V(self, j_mA_cm2):
        """Growth-plateau potential E_growth (V) at current density ``j_mA_cm2``."""
        j = np.asarray(j_mA_cm2, dtype=float)
        return -(self.growth_linear_V_per_mA_cm2 * j + self.growth_quadratic_V_per_mA2_cm4 * j**2)

    def nucleation_overshoot_V(self, j_mA_cm2):
        """E_growth − E_nuc (V, positive): how far the potential dips below the plateau."""
        j = np.asarray(j_mA_cm2, dtype=float)
        return self.overshoot_scale_V_per_mA_cm2 * j * np.exp(-j / self.overshoot_decay_mA_cm2)

    def e_nuc_V(self, j_mA_cm2):
        """Nucleation potential E_nuc (V) at current density ``j_mA_cm2``."""
        return self.e_growth_V(j_mA_cm2) - self.nucleation_overshoot_V(j_mA_cm2)

    def q_nuc_uAh_cm2(self, j_mA_cm2):
        """Areal charge to reach nucleation Q_nuc (µAh/cm²)."""
        j = np.asarray(j_mA_cm2, dtype=float)
        return self.q_nuc_floor_uAh_cm2 + self.q_nuc_low_j_uAh_mA_cm4 / j

    def t_nuc_s(self, j_mA_cm2):
        """Time to nucleation t_nuc (s) at constant current density: Q_nuc / j."""
        j = np.asarray(j_mA_cm2, dtype=float)
        return self.q_nuc_uAh_cm2(j) * UAH_PER_CM2_IN_MC_PER_CM2 / j

    # --- CV law ------------------------------------------------------------------------
    def coulombic_efficiency(self, cycle):
        """Expected CE of CV cycle ``cycle`` (1-based): rises from ce_first_cycle to ce_limit."""
        k = np.asarray(cycle, dtype=float)
        return self.ce_limit - (self.ce_limit - self.ce_first_cycle) * np.exp(
            -(k - 1.0) / self.ce_rise_cycles
        )

    # --- deposit laws ------------------------------------------------------------------
    def particle_density_per_cm2(self, j_mA_cm2):
        """Areal density of Li nanoparticles after plating at ``j_mA_cm2`` (particles/cm²)."""
        j = np.asarray(j_mA_cm2, dtype=float)
        ratio = j / self.particle_density_ref_j_mA_cm2
        return self.particle_density_ref_per_cm2 * ratio**self.particle_density_exponent

    def faradaic_efficiency(self, j_mA_cm2):
        """Fraction of the passed charge found as Li particles (SEM), falling with j."""
        j = np.asarray(j_mA_cm2, dtype=float)
        decades = np.log10(j / self.particle_density_ref_j_mA_cm2)
        fe = self.faradaic_efficiency_ref + self.faradaic_efficiency_slope_per_decade * decades
        return np.clip(fe, 0.02, 0.9)


#: The lab's default parameters (article conditions).
ARTICLE_PHYSICS = PlatingPhysics()
