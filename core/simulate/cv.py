"""Simulated CV cycling of Li plating/stripping on the Au thin film under an SECCM meniscus.

The potential is a triangular wave: from ``start_V`` (default the upper vertex) down to the lower
vertex, up to the upper vertex, and so on for ``cycles`` cycles, ending at the upper vertex,
sampled every ``sample_interval_s`` (the FPGA's 2.57 ms by default). The current (A, cathodic
negative) is the sum of processes seen in the article's Figure 2a:

- double-layer charging ``C_dl·A·dE/dt`` (20 µF/cm², about 1.6 pA at 100 mV/s on 10 µm);
- SEI formation: an irreversible cathodic wave near +0.75 V, large in cycle 1, falling steeply;
- Li–Au alloying: two cathodic waves above 0 V on the cathodic sweep (about +0.22 and +0.06 V)
  and dealloying peaks on the anodic sweep at +0.32 and +0.82 V;
- Li plating: no current above the nucleation onset (−0.13 V); below it a Tafel-like rise
  ``j_s·(exp((E_on − E)/b) − 1)``. Once nuclei exist, growth continues on the reverse sweep
  (Butler–Volmer-like about Li/Li+, ``j_g·(exp(−E/b_g) − 1)``, continuous at the lower vertex)
  until 0 V: the nucleation loop. Both are combined Koutecký–Levich style with the steady-state
  Li+ transport limit under the meniscus (:mod:`core.analysis.transport`);
- Li stripping: a peak near +0.18 V.

Each fixed-charge wave has the shape a finite inventory gives under a Tafel rate on a linear
sweep: ``i ∝ exp(x − eˣ)`` with ``x = ±(E − E_p)/w`` (steep fall once the inventory runs out);
the SEI wave is a broad logistic peak. Charges per cycle are set in mC/cm² and scale with the
footprint area; kinetic currents scale with area and the time spent below the onset (so plating
charge falls as the scan rate rises).

Coulombic efficiency: the amount stripped (and, if Li stripping alone cannot carry it, the
amount dealloyed) is solved per cycle so that Qa/Qc of the noise-free current equals
``physics.coulombic_efficiency(cycle)``. Qc falls steeply over the first cycles (SEI) while
plating, hence Qa, rises gradually, as in the article.

Cycle definition and charges (the same as :mod:`core.analysis.cv`): a cycle runs from the sample
nearest an upper vertex (the first sample for cycle 1) to the sample nearest the next upper vertex
(the last sample for the last cycle), sharing boundary samples; ``Qc = ∫ max(−I, 0) dt`` and
``Qa = ∫ max(I, 0) dt`` integrated exactly on the piecewise-linear interpolant of the samples
(:func:`core.analysis.cv.signed_charges_C`), ``CE = Qa/Qc``.

The truth also carries, per cycle, each process's charge (plated and stripped Li, SEI, alloyed
and dealloyed Li) and the inactive ("dead") Li left behind (plated − stripped, and its running
total), and :func:`cv_components` returns the per-process currents, so an IRM movie simulator can
drive its optical signal from the same physics.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from core.analysis.cv import signed_charges_C
from core.analysis.transport import lab_limiting_current_density_mA_cm2
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.simulate.records import SimulatedTrace
from core.traces import Trace
from core.units import disc_area_cm2

#: Current noise (1 sd, A) of the electrometer at 2.57 ms: a 5 pA contact threshold is 5 sd.
DEFAULT_CURRENT_NOISE_A = 1.0e-12


@dataclass(frozen=True)
class CVKinetics:
    """Parameters of the CV current model; charge densities in mC/cm², potentials in V."""

    double_layer_uF_cm2: float = 20.0
    # SEI: irreversible reduction on every cathodic sweep, large in the first cycle
    sei_potential_V: float = 0.75
    sei_width_V: float = 0.10
    sei_first_cycle_mC_cm2: float = 1.5
    sei_decay_cycles: float = 1.0
    sei_floor_mC_cm2: float = 0.03
    # Li–Au alloying (cathodic sweep) and dealloying (anodic sweep)
    alloy_potentials_V: tuple[float, ...] = (0.22, 0.06)
    alloy_widths_V: tuple[float, ...] = (0.03, 0.03)
    alloy_weights: tuple[float, ...] = (0.4, 0.6)
    alloy_mC_cm2: float = 0.45
    alloy_first_cycle_factor: float = 1.3
    dealloy_potentials_V: tuple[float, ...] = (0.32, 0.82)
    dealloy_widths_V: tuple[float, ...] = (0.03, 0.04)
    dealloy_weights: tuple[float, ...] = (0.45, 0.55)
    dealloy_fraction_first: float = 0.6
    dealloy_fraction_limit: float = 0.9
    dealloy_rise_cycles: float = 1.0
    # Li plating: nucleation onset, Tafel slopes (V per e-fold), kinetic current at a reference
    plating_onset_V: float = -0.13
    nucleation_slope_V: float = 0.04
    growth_slope_V: float = 0.06
    plating_reference_V: float = -0.27
    plating_reference_first_mA_cm2: float = 0.8
    plating_reference_limit_mA_cm2: float = 1.6
    plating_rise_cycles: float = 3.0
    # Li stripping peak
    stripping_potential_V: float = 0.18
    stripping_width_V: float = 0.03


#: The model tuned to the article's Figure 2 (10 µm pipette, 100 mV/s, +1.47 / −0.27 V).
ARTICLE_CV_KINETICS = CVKinetics()


@dataclass(frozen=True)
class CVWaveform:
    """A sampled triangular potential programme.

    Attributes
    ----------
    time_s, potential_V : (N,) ndarray
        Sample times (s, from 0) and noise-free potential (V vs Li/Li+).
    sweep_sign : (N,) ndarray of int
        −1 on cathodic (falling) sweeps, +1 on anodic ones; a vertex sample takes the sweep
        that starts there.
    cycle_index : (N,) ndarray of int
        0-based cycle each sample belongs to, by time (a cycle ends at its closing upper vertex).
    upper_vertex_times_s, lower_vertex_times_s : ndarray
        Times of the interior upper vertices (cycle boundaries) and of every lower vertex.
    bounds : list of (int, int)
        ``(start, stop)`` sample slices of each cycle, sharing boundary samples.
    lower_V : float
        Programmed lower vertex potential, V.
    scan_rate_V_s : float
        Sweep rate, V/s.
    """

    time_s: np.ndarray
    potential_V: np.ndarray
    sweep_sign: np.ndarray
    cycle_index: np.ndarray
    upper_vertex_times_s: np.ndarray
    lower_vertex_times_s: np.ndarray
    bounds: list[tuple[int, int]]
    lower_V: float
    scan_rate_V_s: float


def cv_waveform(
    *,
    cycles: int,
    upper_V: float,
    lower_V: float,
    scan_rate_V_s: float,
    sample_interval_s: float,
    start_V: float | None = None,
) -> CVWaveform:
    """Sample the triangular CV programme (see the module docstring)."""
    if int(cycles) != cycles or cycles < 1:
        raise ValueError(f"cycles must be a whole number ≥ 1, got {cycles!r}")
    if not upper_V > lower_V:
        raise ValueError(f"upper_V {upper_V} V must be above lower_V {lower_V} V")
    if not scan_rate_V_s > 0:
        raise ValueError(f"scan_rate_V_s {scan_rate_V_s} V/s must be above 0 V/s")
    start = upper_V if start_V is None else float(start_V)
    if not lower_V < start <= upper_V:
        raise ValueError(f"start_V {start} V must lie in ({lower_V}, {upper_V}] V")
    sweep_s = (upper_V - lower_V) / scan_rate_V_s
    if not 0 < sample_interval_s <= sweep_s / 50:
        raise ValueError(
            f"sample_interval_s {sample_interval_s} s must be above 0 s and at most 1/50 of a "
            f"sweep ({sweep_s / 50:g} s)"
        )
    cycles = int(cycles)
    knots_V = np.array([start] + [lower_V, upper_V] * cycles)
    knots_s = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(knots_V)) / scan_rate_V_s)])
    n = int(np.floor(knots_s[-1] / sample_interval_s + 1e-9)) + 1
    time_s = np.arange(n) * sample_interval_s
    potential_V = np.interp(time_s, knots_s, knots_V)
    segment = np.clip(np.searchsorted(knots_s, time_s, side="right") - 1, 0, knots_V.size - 2)
    sweep_sign = np.sign(np.diff(knots_V))[segment].astype(int)

    upper_times = knots_s[2:-1:2]  # interior upper vertices: the cycle boundaries
    lower_times = knots_s[1::2]
    cycle_index = np.searchsorted(upper_times, time_s, side="right")
    boundary = np.clip(np.rint(upper_times / sample_interval_s).astype(int), 0, n - 1)
    edges = [0, *boundary.tolist(), n - 1]
    bounds = [(a, b + 1) for a, b in itertools.pairwise(edges)]
    return CVWaveform(
        time_s,
        potential_V,
        sweep_sign,
        cycle_index,
        upper_times,
        lower_times,
        bounds,
        float(lower_V),
        float(scan_rate_V_s),
    )


@dataclass(frozen=True)
class CVComponents:
    """Noise-free currents of each process (A, cathodic negative) on a :class:`CVWaveform`.

    ``plating_A`` is Li metal deposition, ``stripping_A`` its oxidation; ``alloy_A`` and
    ``dealloy_A`` Li entering and leaving the Au film; ``sei_A`` irreversible SEI formation;
    ``capacitive_A`` double-layer charging. ``cycles`` holds the per-cycle truth records.
    """

    waveform: CVWaveform
    capacitive_A: np.ndarray
    sei_A: np.ndarray
    alloy_A: np.ndarray
    dealloy_A: np.ndarray
    plating_A: np.ndarray
    stripping_A: np.ndarray
    cycles: list[dict]

    @property
    def total_A(self) -> np.ndarray:
        """Sum of every process: the current the instrument would measure without noise."""
        return (
            self.capacitive_A
            + self.sei_A
            + self.alloy_A
            + self.dealloy_A
            + self.plating_A
            + self.stripping_A
        )

    def _running_charge_C(self, current_A: np.ndarray) -> np.ndarray:
        time_s = self.waveform.time_s
        steps = 0.5 * (current_A[1:] + current_A[:-1]) * np.diff(time_s)
        return np.concatenate([[0.0], np.cumsum(steps)])

    @property
    def li_metal_charge_C(self) -> np.ndarray:
        """(N,) Li metal on the surface (active + dead) vs time, as charge, C (≥ 0)."""
        return np.maximum(-self._running_charge_C(self.plating_A + self.stripping_A), 0.0)

    @property
    def alloy_charge_C(self) -> np.ndarray:
        """(N,) Li held in the Au film vs time, as charge, C."""
        return np.maximum(-self._running_charge_C(self.alloy_A + self.dealloy_A), 0.0)

    @property
    def sei_charge_C(self) -> np.ndarray:
        """(N,) charge spent on SEI formation up to each sample, C."""
        return -self._running_charge_C(self.sei_A)


def _finite_inventory_peak(x: np.ndarray) -> np.ndarray:
    """``exp(x − eˣ)``: unit-area peak of a finite inventory consumed at a Tafel rate."""
    x = np.minimum(x, 50.0)  # exp(50 − e⁵⁰) underflows to 0 already; avoids overflow
    return np.exp(x - np.exp(x))


def _logistic_peak(x: np.ndarray) -> np.ndarray:
    """Unit-area logistic density in x."""
    return 0.25 / np.cosh(0.5 * x) ** 2


def _waves(potential_V, centres_V, widths_V, weights, direction: int) -> np.ndarray:
    """Sum of unit-charge finite-inventory waves per volt (1/V); direction −1 for reductions."""
    total = np.zeros_like(potential_V)
    for centre, width, weight in zip(centres_V, widths_V, weights, strict=True):
        total += weight * _finite_inventory_peak(direction * (potential_V - centre) / width) / width
    return total / float(np.sum(weights))


def _cycle_charges(time_s, current_A, bounds) -> tuple[np.ndarray, np.ndarray]:
    """Qc and Qa (C) of each cycle by the analysis' definition."""
    positive, negative = signed_charges_C(time_s, current_A)
    first = np.array([b[0] for b in bounds])
    last = np.array([b[1] - 1 for b in bounds])
    return negative[last] - negative[first], positive[last] - positive[first]


def _component_charge_C(time_s, current_A, bounds) -> np.ndarray:
    """Integral of one process's current over each cycle, C (signed)."""
    steps = 0.5 * (current_A[1:] + current_A[:-1]) * np.diff(time_s)
    running = np.concatenate([[0.0], np.cumsum(steps)])
    return np.array([running[b - 1] - running[a] for a, b in bounds])


def _plating_density_mA_cm2(wave: CVWaveform, lower_V, reference_mA_cm2, kin, limit_mA_cm2):
    """Kinetic plating current density per sample (mA/cm², positive = plating)."""
    e = wave.potential_V
    k = wave.cycle_index
    scale = reference_mA_cm2 / np.expm1(
        (kin.plating_onset_V - kin.plating_reference_V) / kin.nucleation_slope_V
    )
    below_onset_V = np.maximum(kin.plating_onset_V - e, 0.0)
    nucleation = scale[k] * np.expm1(below_onset_V / kin.nucleation_slope_V)
    at_vertex = scale * np.expm1((kin.plating_onset_V - lower_V) / kin.nucleation_slope_V)
    growth_scale = at_vertex / np.expm1(-lower_V / kin.growth_slope_V)
    growth = growth_scale[k] * np.expm1(np.maximum(-e, 0.0) / kin.growth_slope_V)
    kinetic = np.where(wave.sweep_sign < 0, nucleation, growth)
    return kinetic * limit_mA_cm2 / (kinetic + limit_mA_cm2)


def cv_components(
    wave: CVWaveform,
    *,
    footprint_diameter_um: float,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    kinetics: CVKinetics = ARTICLE_CV_KINETICS,
) -> CVComponents:
    """Noise-free per-process currents with the stripped charge solved for the target CE.

    Raises
    ------
    ValueError
        If the lower vertex is not below the plating onset, or a cycle's target CE cannot be
        met (it would need more Li stripped than plated and more dealloyed than alloyed).
    """
    kin = kinetics
    lower_V = wave.lower_V
    if not lower_V < kin.plating_onset_V:
        raise ValueError(
            f"lower_V {lower_V:.3f} V must be below the Li plating onset "
            f"{kin.plating_onset_V} V: this model simulates plating/stripping CVs"
        )
    if not footprint_diameter_um > 0:
        raise ValueError(f"footprint_diameter_um {footprint_diameter_um} µm must be above 0 µm")
    area_cm2 = disc_area_cm2(footprint_diameter_um)
    mC_cm2_to_C = 1e-3 * area_cm2
    n_cycles = len(wave.bounds)
    cycle_no = np.arange(1, n_cycles + 1, dtype=float)
    t, e, k = wave.time_s, wave.potential_V, wave.cycle_index
    rate_V_s = wave.scan_rate_V_s
    cathodic = wave.sweep_sign < 0
    anodic = ~cathodic

    q_sei = kin.sei_first_cycle_mC_cm2 * np.exp(-(cycle_no - 1) / kin.sei_decay_cycles)
    q_sei = (q_sei + kin.sei_floor_mC_cm2) * mC_cm2_to_C
    q_alloy = np.full(n_cycles, kin.alloy_mC_cm2 * mC_cm2_to_C)
    q_alloy[0] *= kin.alloy_first_cycle_factor
    dealloy_fraction = kin.dealloy_fraction_limit - (
        kin.dealloy_fraction_limit - kin.dealloy_fraction_first
    ) * np.exp(-(cycle_no - 1) / kin.dealloy_rise_cycles)
    reference_mA_cm2 = kin.plating_reference_limit_mA_cm2 - (
        kin.plating_reference_limit_mA_cm2 - kin.plating_reference_first_mA_cm2
    ) * np.exp(-(cycle_no - 1) / kin.plating_rise_cycles)
    limit_mA_cm2 = lab_limiting_current_density_mA_cm2(footprint_diameter_um)

    capacitive = kin.double_layer_uF_cm2 * 1e-6 * area_cm2 * wave.sweep_sign * rate_V_s
    sei_shape = _logistic_peak((e - kin.sei_potential_V) / kin.sei_width_V) / kin.sei_width_V
    sei = -q_sei[k] * rate_V_s * sei_shape * cathodic
    alloy_shape = _waves(e, kin.alloy_potentials_V, kin.alloy_widths_V, kin.alloy_weights, -1)
    alloy = -q_alloy[k] * rate_V_s * alloy_shape * cathodic
    plating = -mC_cm2_to_C * _plating_density_mA_cm2(
        wave, lower_V, reference_mA_cm2, kin, limit_mA_cm2
    )
    strip_unit = (
        rate_V_s
        * anodic
        * _finite_inventory_peak((e - kin.stripping_potential_V) / kin.stripping_width_V)
        / kin.stripping_width_V
    )
    dealloy_unit = (
        rate_V_s
        * anodic
        * _waves(e, kin.dealloy_potentials_V, kin.dealloy_widths_V, kin.dealloy_weights, +1)
    )

    bounds = wave.bounds
    q_plated = -_component_charge_C(t, plating, bounds)
    q_alloyed = -_component_charge_C(t, alloy, bounds)
    base = capacitive + sei + alloy + plating
    strip_amount = np.zeros(n_cycles)
    dealloy_amount = np.zeros(n_cycles)
    for c, (a, b) in enumerate(bounds):
        target = float(physics.coulombic_efficiency(c + 1))
        # Stripping and dealloying flow on the anodic sweep only: the charges up to the last
        # cathodic sample m are fixed, and the solve integrates from there on.
        m = int(np.searchsorted(t, wave.lower_vertex_times_s[c], side="left")) - 1
        fixed_c, fixed_a = _cycle_charges(t[a : m + 1], base[a : m + 1], [(0, m + 1 - a)])
        seg = slice(m, b)
        strip_c = q_plated[c] * strip_unit[seg]
        dealloy_c = dealloy_fraction[c] * q_alloyed[c] * dealloy_unit[seg]

        def excess(
            s,
            u,
            seg=seg,
            strip_c=strip_c,
            dealloy_c=dealloy_c,
            target=target,
            fixed=(fixed_c[0], fixed_a[0]),
        ):
            current = base[seg] + s * strip_c + u * dealloy_c
            q_c, q_a = _cycle_charges(t[seg], current, [(0, current.size)])
            return float(fixed[1] + q_a[0] - target * (fixed[0] + q_c[0]))

        if excess(0.0, 1.0) > 0:  # dealloying alone overshoots: no Li stripped, less dealloyed
            s, u = 0.0, brentq(lambda u: excess(0.0, u), 0.0, 1.0, xtol=1e-14)
        elif excess(1.0, 1.0) < 0:  # all plated Li stripped is not enough: dealloy more
            u_max = 1.0 / dealloy_fraction[c]
            if excess(1.0, u_max) < 0:
                raise ValueError(
                    f"cycle {c + 1}: CE {target:.3f} is out of reach even with all plated Li "
                    "stripped and all alloyed Li dealloyed; choose a slower scan rate or a "
                    "lower_V further below the plating onset"
                )
            s, u = 1.0, brentq(lambda u: excess(1.0, u), 1.0, u_max, xtol=1e-14)
        else:
            s, u = brentq(lambda s: excess(s, 1.0), 0.0, 1.0, xtol=1e-14), 1.0
        strip_amount[c] = s * q_plated[c]
        dealloy_amount[c] = u * dealloy_fraction[c] * q_alloyed[c]

    stripping = strip_amount[k] * strip_unit
    dealloy = dealloy_amount[k] * dealloy_unit
    total = base + stripping + dealloy
    q_c, q_a = _cycle_charges(t, total, bounds)
    stripped = _component_charge_C(t, stripping, bounds)
    dealloyed = _component_charge_C(t, dealloy, bounds)
    sei_charge = -_component_charge_C(t, sei, bounds)
    dead = q_plated - stripped
    records = [
        {
            "cycle": c + 1,
            "q_c_C": float(q_c[c]),
            "q_a_C": float(q_a[c]),
            "ce": float(q_a[c] / q_c[c]),
            "ce_target": float(physics.coulombic_efficiency(c + 1)),
            "q_plated_C": float(q_plated[c]),
            "q_stripped_C": float(stripped[c]),
            "q_sei_C": float(sei_charge[c]),
            "q_alloyed_C": float(q_alloyed[c]),
            "q_dealloyed_C": float(dealloyed[c]),
            "dead_li_C": float(dead[c]),
            "dead_li_total_C": float(np.sum(dead[: c + 1])),
        }
        for c in range(n_cycles)
    ]
    return CVComponents(wave, capacitive, sei, alloy, dealloy, plating, stripping, records)


def simulate_cv(
    *,
    cycles: int = 10,
    upper_V: float = 1.47,
    lower_V: float = -0.27,
    scan_rate_V_s: float = 0.1,
    footprint_diameter_um: float = 10.0,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    seed: int | None = None,
    sample_interval_s: float | None = None,
    start_V: float | None = None,
    noise_A: float | None = None,
    kinetics: CVKinetics = ARTICLE_CV_KINETICS,
) -> SimulatedTrace:
    """Simulate a multi-cycle CV of Li plating/stripping at one SECCM spot.

    Parameters
    ----------
    cycles : int
        Number of full cycles; the record ends at the upper vertex.
    upper_V, lower_V : float
        Vertex potentials, V vs Li/Li+; ``lower_V`` must be below the plating onset (−0.13 V).
    scan_rate_V_s : float
        Sweep rate, V/s. With the default kinetics the CE law is reachable from about
        0.005 to 1 V/s; faster sweeps plate too little Li to strip back (ValueError).
    footprint_diameter_um : float
        Diameter of the wetted disc, µm.
    physics : PlatingPhysics
        Shared physical parameters: the CE law, the sample interval and the potential noise.
    seed : int, optional
        Seed of the noise generator.
    sample_interval_s : float, optional
        Sample spacing, s (default ``physics.sample_interval_s``, 2.57 ms).
    start_V : float, optional
        Starting potential, in (lower_V, upper_V]; the first sweep is cathodic. Default upper_V.
    noise_A : float, optional
        Gaussian current noise, A (1 sd); default ``DEFAULT_CURRENT_NOISE_A`` (1 pA).
    kinetics : CVKinetics
        Parameters of the current model.

    Returns
    -------
    SimulatedTrace
        ``trace``: time (s), potential with ``physics.potential_noise_V`` of noise (V), current
        with ``noise_A`` of noise (A, cathodic negative). ``truth``: ``cycles`` (per cycle
        ``q_c_C``, ``q_a_C``, ``ce`` of the noise-free current by the analysis' definition, plus
        ``ce_target``, plated/stripped/SEI/alloyed/dealloyed charges and dead Li),
        ``cycle_bounds``, ``upper_vertex_times_s``, ``lower_vertex_times_s``,
        ``footprint_area_cm2``, ``transport_limit_mA_cm2``, ``parameters``, ``kinetics``,
        ``physics`` and ``seed``.

    Raises
    ------
    ValueError
        On invalid parameters (message names the value, the limit and the unit) or when a
        cycle's target CE cannot be met by the model.
    """
    interval_s = physics.sample_interval_s if sample_interval_s is None else sample_interval_s
    noise = DEFAULT_CURRENT_NOISE_A if noise_A is None else float(noise_A)
    if not noise >= 0:
        raise ValueError(f"noise_A {noise_A} A must be at least 0 A")
    wave = cv_waveform(
        cycles=cycles,
        upper_V=upper_V,
        lower_V=lower_V,
        scan_rate_V_s=scan_rate_V_s,
        sample_interval_s=interval_s,
        start_V=start_V,
    )
    parts = cv_components(
        wave, footprint_diameter_um=footprint_diameter_um, physics=physics, kinetics=kinetics
    )
    rng = np.random.default_rng(seed)
    current_A = parts.total_A + rng.normal(0.0, noise, wave.time_s.size)
    potential_V = wave.potential_V + rng.normal(0.0, physics.potential_noise_V, wave.time_s.size)
    parameters = {
        "cycles": int(cycles),
        "upper_V": float(upper_V),
        "lower_V": float(lower_V),
        "scan_rate_V_s": float(scan_rate_V_s),
        "footprint_diameter_um": float(footprint_diameter_um),
        "sample_interval_s": float(interval_s),
        "start_V": float(upper_V if start_V is None else start_V),
        "noise_A": noise,
        "potential_noise_V": float(physics.potential_noise_V),
    }
    truth = {
        "kind": "cv",
        "cycles": parts.cycles,
        "cycle_bounds": [[int(a), int(b)] for a, b in wave.bounds],
        "upper_vertex_times_s": [float(x) for x in wave.upper_vertex_times_s],
        "lower_vertex_times_s": [float(x) for x in wave.lower_vertex_times_s],
        "footprint_area_cm2": disc_area_cm2(footprint_diameter_um),
        "transport_limit_mA_cm2": float(lab_limiting_current_density_mA_cm2(footprint_diameter_um)),
        "parameters": parameters,
        "kinetics": dataclasses.asdict(kinetics),
        "physics": dataclasses.asdict(physics),
        "seed": seed,
    }
    trace = Trace(
        time_s=wave.time_s,
        potential_V=potential_V,
        current_A=current_A,
        metadata={"source": "simulate_cv", "seed": seed, **parameters},
    )
    return SimulatedTrace(trace=trace, truth=truth)
