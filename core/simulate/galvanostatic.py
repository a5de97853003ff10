"""Digital twin of a galvanostatic (chronopotentiometric) landing: the E–t curve and its truth.

The curve is written in the passed areal charge ``q = j·t`` (µAh/cm²), because the SEI/alloy
stage, nucleation and growth are all charge controlled (see :mod:`core.simulate.physics`).
With ``d = |q − Q_nuc|``::

    E(q)  = A(q) + w(q)·(B(q) − A(q)) + (E_oc − E_sei)·exp(−q / q_drop)
    A(q)  = E_sei − (E_sei − E_nuc)·h_k(1 − min(d / Q_nuc, 1))       SEI / Li–Au alloy branch
    B(q)  = E_growth − η·(1 + s)·exp(−s),  s = d / q_relax            nucleation-growth branch
    w(q)  = 1 / (1 + exp(−(q − Q_nuc) / q_blend))                     current taken by nuclei

- ``E_oc`` (``open_circuit_V``) is where the electrode sits on contact; the fast exponential
  drop uses ``q_drop = initial_drop_charge_fraction·Q_nuc`` (double layer and first SEI).
- ``E_sei = alloy_plateau_V + E_growth_law(j)``: the alloy plateau shifted by the same
  ohmic-like drop that sets the growth potential.
- ``h_k(x) = (k+1)·x^k − k·x^(k+1)`` rises from 0 to 1 with zero slope at ``x = 1``; the shape
  exponent ``k`` (keyword ``sei_shape_exponent``) gives a slowly falling stretch that dips into
  the minimum.
- After nucleation the potential relaxes (critically damped) to the plateau ``E_growth`` over
  ``q_relax = growth_relaxation_uAh_cm2``; ``η = E_growth − E_nuc > 0`` is the overshoot.
- Both branches are written in ``d`` (mirrored about Q_nuc) so each has its minimum E_nuc at
  Q_nuc; the smooth hand-over ``w`` (width ``q_blend = nucleation_blend_fraction·q_relax``)
  therefore keeps the minimum exactly there while the curvature changes continuously from the
  SEI side to the growth side, as nuclei take the current over gradually (a switch at Q_nuc
  would leave a kink in curvature that no real curve has).

Spot-to-spot scatter, drawn from the seed: ``Q_nuc`` log-normal with ``q_nuc_scatter_rel``; one
common offset of all potentials with ``potential_scatter_V`` (QRCE drift between landings,
which keeps ``E_growth > E_nuc``); ``η`` log-normal with ``overshoot_scatter_rel``. Gaussian
white noise (``potential_noise_V``) is added at every sample.

Ground truth (``SimulatedTrace.truth``) is measured on the noise-free curve actually generated:
``e_nuc_V``/``t_nuc_s`` are its numerical minimum (a zooming grid plus a parabola);
``e_growth_V`` follows the analysis definition (:data:`core.analysis.galvanostatic.
GROWTH_WINDOW_FRACTION`): the time average of the potential over the last fraction of the
time between the minimum and the last sample. ``nucleated`` is True when the minimum lies
before the last sample; otherwise the feature values are ``None``. A minimum just before the
end is ``nucleated`` here but may be too shallow to see in noise: ``recovery_V`` says how far
the curve has come back up by the last sample.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from core.analysis.galvanostatic import GROWTH_WINDOW_FRACTION
from core.errors import MeniscusError
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.simulate.records import SimulatedTrace
from core.traces import Trace
from core.units import UAH_PER_CM2_IN_MC_PER_CM2, disc_area_cm2

#: Default exponent of the SEI/alloy stage shape h_k (k = 2: a smoothstep into the minimum).
SEI_SHAPE_EXPONENT = 2.0
#: Width of the hand-over from the SEI/alloy branch to the growth branch around Q_nuc, as a
#: fraction of the growth relaxation charge (nuclei take the current over gradually).
NUCLEATION_BLEND_FRACTION = 0.5
#: Default spot-to-spot relative scatter (1 sd, log-normal) of the nucleation overshoot η.
OVERSHOOT_SCATTER_REL = 0.10

# Grids on the noise-free curve that measure the truth: the minimum is found by zooming a
# 17-point grid 5 times (each round narrows the bracket 8-fold: 0.1·t_nuc → 3e-6·t_nuc); the
# growth window average uses Simpson's rule on 129 points (odd, as Simpson needs).
_ZOOM_POINTS = 17
_ZOOM_ROUNDS = 5
_GROWTH_GRID_POINTS = 129
_CHUNK_CURVES = 256
_EXPONENT_CAP = 60.0


class GalvanostaticBatch(NamedTuple):
    """Many simulated landings sharing one time axis.

    Attributes
    ----------
    time_s : (T,) ndarray
        Sample times, s from contact.
    potential_V : (N, T) ndarray
        Potentials, V vs Li/Li+, one row per landing (noise included).
    truth : list of dict
        Ground truth per landing, same keys as :func:`simulate_galvanostatic`'s truth.
    """

    time_s: np.ndarray
    potential_V: np.ndarray
    truth: list


@dataclass(frozen=True)
class _Spots:
    """Per-landing curve parameters, each an (N,) array (charges µAh/cm², potentials V)."""

    j_mA_cm2: np.ndarray
    q_nuc_uAh_cm2: np.ndarray
    e_oc_V: np.ndarray
    e_sei_V: np.ndarray
    e_nuc_V: np.ndarray
    e_growth_V: np.ndarray
    q_drop_uAh_cm2: np.ndarray
    q_relax_uAh_cm2: float
    q_blend_uAh_cm2: float
    shape_exponent: float

    def potential_V(self, time_s: np.ndarray) -> np.ndarray:
        """Noise-free potential at ``time_s`` ((T,) shared or (N, K) per landing), (N, ·)."""
        t = np.asarray(time_s, dtype=float)

        def col(per_spot):
            return per_spot[:, None]

        q = col(self.j_mA_cm2 / UAH_PER_CM2_IN_MC_PER_CM2) * t
        distance = np.abs(q - col(self.q_nuc_uAh_cm2))
        # Each branch is mirrored about Q_nuc (and bounded) so both are defined everywhere,
        # both have their minimum E_nuc at Q_nuc, and the blend below keeps it there.
        x = 1.0 - np.minimum(distance / col(self.q_nuc_uAh_cm2), 1.0)
        k = self.shape_exponent
        h = x**k * ((k + 1.0) - k * x)
        sei = col(self.e_sei_V) - col(self.e_sei_V - self.e_nuc_V) * h
        # Exponents are capped: e^-60 is nothing in volts, and underflow to subnormal numbers
        # would make the arithmetic ~100x slower.
        s = np.minimum(distance / self.q_relax_uAh_cm2, _EXPONENT_CAP)
        growth = col(self.e_growth_V) - col(self.e_growth_V - self.e_nuc_V) * (1.0 + s) * np.exp(-s)
        blend = (q - col(self.q_nuc_uAh_cm2)) / self.q_blend_uAh_cm2
        growing = expit(np.clip(blend, -_EXPONENT_CAP, _EXPONENT_CAP))
        drop_decay = np.exp(-np.minimum(q / col(self.q_drop_uAh_cm2), _EXPONENT_CAP))
        drop = col(self.e_oc_V - self.e_sei_V) * drop_decay
        return sei + growing * (growth - sei) + drop

    def rows(self, selection: slice) -> _Spots:
        """The same parameters for a subset of landings."""
        return replace(
            self,
            **{
                name: getattr(self, name)[selection]
                for name in (
                    "j_mA_cm2",
                    "q_nuc_uAh_cm2",
                    "e_oc_V",
                    "e_sei_V",
                    "e_nuc_V",
                    "e_growth_V",
                    "q_drop_uAh_cm2",
                )
            },
        )


def simulate_galvanostatic(
    current_density_mA_cm2: float,
    duration_s: float,
    *,
    footprint_diameter_um: float = 6.0,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    seed: int | None = None,
    noise_V: float | None = None,
    sample_interval_s: float | None = None,
    sei_shape_exponent: float = SEI_SHAPE_EXPONENT,
    overshoot_scatter_rel: float = OVERSHOOT_SCATTER_REL,
    nucleation_blend_fraction: float = NUCLEATION_BLEND_FRACTION,
) -> SimulatedTrace:
    """Simulate one galvanostatic landing: constant plating current, potential recorded.

    Parameters
    ----------
    current_density_mA_cm2 : float
        Plating current density magnitude, mA/cm² (> 0).
    duration_s : float
        Length of the measurement, s; samples run from 0 (contact) to ``duration_s``.
    footprint_diameter_um : float
        Diameter of the wetted disc, µm; sets the current ``-j·area``.
    physics : PlatingPhysics
        The shared physical model.
    seed : int, optional
        Seed of the spot scatter and noise. When None a fresh seed is drawn and recorded in the
        truth, so every trace can be reproduced.
    noise_V : float, optional
        Noise sd on the potential, V; defaults to ``physics.potential_noise_V``.
    sample_interval_s : float, optional
        Sampling interval, s; defaults to ``physics.sample_interval_s`` (2.57 ms).
    sei_shape_exponent : float
        Shape exponent k of the SEI/alloy stage (≥ 1; see the module docstring).
    overshoot_scatter_rel : float
        Relative spot-to-spot scatter (1 sd, log-normal) of the nucleation overshoot.
    nucleation_blend_fraction : float
        Width of the hand-over from the SEI branch to the growth branch, as a fraction of
        ``physics.growth_relaxation_uAh_cm2`` (> 0).

    Returns
    -------
    SimulatedTrace
        ``trace`` with (T,) ``time_s``, ``potential_V`` and constant negative ``current_A``;
        ``truth`` (JSON-serialisable):

        - ``nucleated``, ``e_nuc_V``, ``t_nuc_s``, ``q_nuc_uAh_cm2``, ``e_growth_V`` (the
          noise-free curve's features, see the module docstring) and ``recovery_V`` (its
          rise from E_nuc to the last sample: how visible the minimum is); the last five are
          None unless nucleated;
        - ``e_growth_plateau_V`` (the asymptote), ``spot_q_nuc_uAh_cm2`` and ``spot_t_nuc_s``
          (this spot's nucleation charge and time, also when they lie beyond the run: what
          the movie and SEM simulators need);
        - ``current_density_mA_cm2``, ``current_A``, ``duration_s``,
          ``footprint_diameter_um``, ``footprint_area_cm2``, ``sample_interval_s``,
          ``noise_V``, ``seed``, ``batch_index`` and ``growth_window_fraction``.
    """
    batch = simulate_galvanostatic_batch(
        np.array([current_density_mA_cm2], dtype=float),
        duration_s,
        footprint_diameter_um=footprint_diameter_um,
        physics=physics,
        seed=seed,
        noise_V=noise_V,
        sample_interval_s=sample_interval_s,
        sei_shape_exponent=sei_shape_exponent,
        overshoot_scatter_rel=overshoot_scatter_rel,
        nucleation_blend_fraction=nucleation_blend_fraction,
    )
    truth = batch.truth[0]
    current_A = np.full(batch.time_s.shape, truth["current_A"])
    # Conditions only: the answers stay in ``truth``, never in the record an analysis reads.
    conditions = ("current_density_mA_cm2", "current_A", "duration_s", "footprint_diameter_um",
                  "sample_interval_s", "seed")
    metadata = {"source": "simulate_galvanostatic", **{k: truth[k] for k in conditions}}
    trace = Trace(batch.time_s, batch.potential_V[0], current_A, metadata)
    return SimulatedTrace(trace=trace, truth=truth)


def simulate_galvanostatic_batch(
    current_densities_mA_cm2,
    duration_s: float,
    *,
    seed: int | None,
    footprint_diameter_um: float = 6.0,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    noise_V: float | None = None,
    sample_interval_s: float | None = None,
    sei_shape_exponent: float = SEI_SHAPE_EXPONENT,
    overshoot_scatter_rel: float = OVERSHOOT_SCATTER_REL,
    nucleation_blend_fraction: float = NUCLEATION_BLEND_FRACTION,
) -> GalvanostaticBatch:
    """Simulate N landings at once (vectorised), all of the same duration and sampling.

    Parameters
    ----------
    current_densities_mA_cm2 : (N,) array_like
        Plating current density magnitudes, mA/cm² (> 0).
    duration_s, footprint_diameter_um, physics, noise_V, sample_interval_s,
    sei_shape_exponent, overshoot_scatter_rel, nucleation_blend_fraction
        As in :func:`simulate_galvanostatic`.
    seed : int or None
        One seed for the whole batch (None draws one and records it). Row ``i`` of a batch
        equals :func:`simulate_galvanostatic` with the same seed only for N = 1.

    Returns
    -------
    GalvanostaticBatch
        ``time_s`` (T,), ``potential_V`` (N, T), ``truth`` (list of N dicts, each also with
        ``batch_index``).
    """
    j = np.atleast_1d(np.asarray(current_densities_mA_cm2, dtype=float))
    noise_V = physics.potential_noise_V if noise_V is None else float(noise_V)
    dt = physics.sample_interval_s if sample_interval_s is None else float(sample_interval_s)
    _check_inputs(j, duration_s, dt, noise_V, footprint_diameter_um, sei_shape_exponent)
    if not nucleation_blend_fraction > 0:
        raise MeniscusError(f"nucleation blend fraction {nucleation_blend_fraction} must be > 0")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    rng = np.random.default_rng(seed)

    time_s = np.arange(int(np.floor(duration_s / dt + 1e-9)) + 1) * dt
    spots = _draw_spots(
        j, physics, rng, sei_shape_exponent, overshoot_scatter_rel, nucleation_blend_fraction
    )
    potential_V = noise_V * rng.standard_normal((j.size, time_s.size))
    for start in range(0, j.size, _CHUNK_CURVES):  # bounded temporaries, not a per-curve loop
        rows = slice(start, start + _CHUNK_CURVES)
        potential_V[rows] += spots.rows(rows).potential_V(time_s)

    t_min, e_min = _true_minimum(spots, time_s[-1])
    nucleated = t_min < time_s[-1]
    e_growth = _true_growth_potential(spots, t_min, time_s[-1], GROWTH_WINDOW_FRACTION)
    recovery = spots.potential_V(np.full((j.size, 1), time_s[-1]))[:, 0] - e_min
    area_cm2 = disc_area_cm2(footprint_diameter_um)
    spot_t_nuc = spots.q_nuc_uAh_cm2 * UAH_PER_CM2_IN_MC_PER_CM2 / j
    truths = []
    for i in range(j.size):  # building the per-landing dicts, not a numerical loop
        hit = bool(nucleated[i])
        truths.append(
            {
                "nucleated": hit,
                "e_nuc_V": float(e_min[i]) if hit else None,
                "t_nuc_s": float(t_min[i]) if hit else None,
                "q_nuc_uAh_cm2": float(j[i] * t_min[i] / UAH_PER_CM2_IN_MC_PER_CM2)
                if hit
                else None,
                "e_growth_V": float(e_growth[i]) if hit else None,
                "recovery_V": float(recovery[i]) if hit else None,
                "e_growth_plateau_V": float(spots.e_growth_V[i]),
                "spot_q_nuc_uAh_cm2": float(spots.q_nuc_uAh_cm2[i]),
                "spot_t_nuc_s": float(spot_t_nuc[i]),
                "current_density_mA_cm2": float(j[i]),
                "current_A": float(-j[i] * 1e-3 * area_cm2),
                "duration_s": float(duration_s),
                "footprint_diameter_um": float(footprint_diameter_um),
                "footprint_area_cm2": float(area_cm2),
                "sample_interval_s": dt,
                "noise_V": noise_V,
                "seed": int(seed),
                "batch_index": i,
                "growth_window_fraction": GROWTH_WINDOW_FRACTION,
            }
        )
    return GalvanostaticBatch(time_s=time_s, potential_V=potential_V, truth=truths)


def _check_inputs(j, duration_s, dt, noise_V, footprint_diameter_um, shape_exponent) -> None:
    if j.ndim != 1 or j.size == 0 or not np.all(np.isfinite(j)) or np.any(j <= 0):
        raise MeniscusError(
            f"current densities must be a non-empty 1-D array of finite values > 0 mA/cm², "
            f"got {np.array2string(j, threshold=6)}"
        )
    if not (np.isfinite(dt) and dt > 0):
        raise MeniscusError(f"sample interval {dt} s must be > 0 s")
    if not (np.isfinite(duration_s) and duration_s >= 2 * dt):
        raise MeniscusError(
            f"duration {duration_s} s must be at least two sample intervals ({2 * dt} s)"
        )
    if not (np.isfinite(noise_V) and noise_V >= 0):
        raise MeniscusError(f"noise {noise_V} V must be ≥ 0 V")
    if not (np.isfinite(footprint_diameter_um) and footprint_diameter_um > 0):
        raise MeniscusError(f"footprint diameter {footprint_diameter_um} µm must be > 0 µm")
    if not shape_exponent >= 1.0:
        raise MeniscusError(f"SEI shape exponent {shape_exponent} must be ≥ 1")


def _draw_spots(j, physics, rng, shape_exponent, overshoot_scatter_rel, blend_fraction) -> _Spots:
    z_q, z_offset, z_overshoot = rng.standard_normal((3, j.size))
    q_nuc = physics.q_nuc_uAh_cm2(j) * np.exp(physics.q_nuc_scatter_rel * z_q)
    offset = physics.potential_scatter_V * z_offset
    e_growth = physics.e_growth_V(j) + offset
    overshoot = physics.nucleation_overshoot_V(j) * np.exp(overshoot_scatter_rel * z_overshoot)
    return _Spots(
        j_mA_cm2=j,
        q_nuc_uAh_cm2=q_nuc,
        e_oc_V=np.full(j.shape, physics.open_circuit_V),
        e_sei_V=physics.alloy_plateau_V + physics.e_growth_V(j) + offset,
        e_nuc_V=e_growth - overshoot,
        e_growth_V=e_growth,
        q_drop_uAh_cm2=physics.initial_drop_charge_fraction * q_nuc,
        q_relax_uAh_cm2=physics.growth_relaxation_uAh_cm2,
        q_blend_uAh_cm2=blend_fraction * physics.growth_relaxation_uAh_cm2,
        shape_exponent=float(shape_exponent),
    )


def _true_minimum(spots: _Spots, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Numerical minimum of each noise-free curve on [0, end_s]: (time s, potential V), (N,).

    Zooms a grid in on the lowest point, starting ±5 % around the modelled nucleation time
    (or the run's end, if that comes first), then fits a parabola through the last three.
    """
    t_model = spots.q_nuc_uAh_cm2 * UAH_PER_CM2_IN_MC_PER_CM2 / spots.j_mA_cm2
    centre = np.minimum(t_model, end_s)
    lo = np.maximum(0.95 * centre, 0.0)
    hi = np.minimum(1.05 * centre, end_s)
    rows = np.arange(centre.size)
    fractions = np.linspace(0.0, 1.0, _ZOOM_POINTS)
    for _ in range(_ZOOM_ROUNDS):
        step = (hi - lo) / (_ZOOM_POINTS - 1)
        grid = lo[:, None] + (hi - lo)[:, None] * fractions
        e = spots.potential_V(grid)
        k = np.argmin(e, axis=1)
        lo, hi = np.maximum(grid[rows, k] - step, lo), np.minimum(grid[rows, k] + step, hi)
    t_best, e_best = grid[rows, k], e[rows, k]
    interior = (k > 0) & (k < _ZOOM_POINTS - 1)
    kc = np.clip(k, 1, _ZOOM_POINTS - 2)
    e_left, e_right = e[rows, kc - 1], e[rows, kc + 1]
    curvature = e_left - 2.0 * e[rows, kc] + e_right
    usable = interior & (curvature > 0)
    shift = np.where(usable, 0.5 * (e_left - e_right) / np.where(usable, curvature, 1.0), 0.0)
    t_min = t_best + shift * step
    e_min = spots.potential_V(t_min[:, None])[:, 0]
    # The parabola can only improve on the grid point; keep the grid point if it does not.
    better = e_min <= e_best
    return np.where(better, t_min, t_best), np.where(better, e_min, e_best)


def _true_growth_potential(spots: _Spots, t_min, end_s: float, fraction: float) -> np.ndarray:
    """Time average (V) of each noise-free curve over its growth window (Simpson's rule)."""
    start = end_s - fraction * np.maximum(end_s - t_min, 0.0)
    grid = start[:, None] + (end_s - start)[:, None] * np.linspace(0, 1, _GROWTH_GRID_POINTS)
    weights = np.ones(_GROWTH_GRID_POINTS)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return (spots.potential_V(grid) @ weights) / weights.sum()
