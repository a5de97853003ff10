"""Features of galvanostatic (chronopotentiometric) E–t curves: E_nuc, t_nuc, Q_nuc, E_growth.

Definitions (shared with the digital twin's ground truth):

- **Nucleation** is the lowest point of the curve that the potential both falls into and
  recovers from by more than the significance level: ``significance_sigma`` times the noise
  of the smoothed curve, and at least ``min_dip_V``. The noise is measured on the record itself
  (median absolute second difference, which assumes white noise: drift or mains pick-up call
  for a larger ``significance_sigma`` or ``min_dip_V``). A curve that only falls, or whose last
  points are its lowest, has not nucleated: "no nucleation reached", and no feature values.
- **E_nuc, t_nuc** are the minimum of a cubic fitted to the samples around that point, over
  the stretch where the smoothed curve stays within a level above its minimum (4 noise sd,
  kept between 5 % and ``fit_depth_fraction`` of the dip depth, the smaller of fall and
  recovery). The moving average only finds the dip; the fit keeps it from flattening E_nuc and
  frees t_nuc from the sampling grid. **Q_nuc** = j·t_nuc in µAh/cm², with times counted from
  the start of the current.
- **E_growth** is the time average of the potential over the growth window: the last
  ``growth_window_fraction`` (:data:`GROWTH_WINDOW_FRACTION`) of the time between t_nuc and the
  last sample. It is the quasi-plateau the curve has reached when the run ends.

Curves are resampled onto a uniform grid (median step) first, so uneven or jittery sampling and
any sampling interval work; every window is given in seconds. Smoothing uses a moving average:
its kernel is positive, so a monotonic curve (such as the fast drop after contact) stays
monotonic and cannot grow a false minimum. Samples before ``time_s = settle_s`` (instrument
settling, double-layer charging; also any pre-trigger samples at negative times) are never
taken as the minimum, and the fall into a minimum is only counted from there on; neither are
the first and last half smoothing window, where the average leans on few samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis._nucleation import analyse_block
from core.analysis._sampling import check_time_axis
from core.errors import AnalysisError
from core.units import charge_density_uAh_cm2

#: Part of the time from t_nuc to the end of the run over which E_growth is averaged.
GROWTH_WINDOW_FRACTION = 0.2

_MIN_SAMPLES = 8
_CHUNK_CURVES = 256  # rows per vectorised pass: keeps temporaries in cache, memory bounded


@dataclass(frozen=True)
class GalvanostaticResult:
    """Features of one E–t curve (potentials V vs the record's reference, times s).

    Attributes
    ----------
    nucleated : bool
        A significant minimum was found before the run ended.
    e_nuc_V, t_nuc_s, q_nuc_uAh_cm2, e_growth_V : float or None
        Nucleation potential, time, charge density and growth potential; None when not
        nucleated.
    noise_V : float
        White-noise sd of the potential estimated from the data, V.
    significance_V : float
        Fall and recovery a minimum needed to count as nucleation, V.
    descent_V, recovery_V : float or None
        Fall into and recovery from the minimum on the smoothed curve, V (None if none).
    """

    nucleated: bool
    e_nuc_V: float | None
    t_nuc_s: float | None
    q_nuc_uAh_cm2: float | None
    e_growth_V: float | None
    noise_V: float
    significance_V: float
    descent_V: float | None
    recovery_V: float | None

    def to_dict(self) -> dict:
        """The features only: ``nucleated``, ``e_nuc_V``, ``t_nuc_s``, ``q_nuc_uAh_cm2``,
        ``e_growth_V``."""
        return {
            "nucleated": self.nucleated,
            "e_nuc_V": self.e_nuc_V,
            "t_nuc_s": self.t_nuc_s,
            "q_nuc_uAh_cm2": self.q_nuc_uAh_cm2,
            "e_growth_V": self.e_growth_V,
        }


def e_q_curve(time_s, current_density_mA_cm2):
    """Areal charge passed at constant current density (the E–Q view's abscissa).

    Parameters
    ----------
    time_s : array_like
        Times from the start of the current, s.
    current_density_mA_cm2 : float or array_like
        Current density, mA/cm²; the sign is ignored (plating magnitude). Broadcasts against
        ``time_s`` (e.g. (N, 1) densities with (T,) times give (N, T)).

    Returns
    -------
    ndarray
        Charge density, µAh/cm².
    """
    j = np.abs(np.asarray(current_density_mA_cm2, dtype=float))
    return charge_density_uAh_cm2(j, np.asarray(time_s, dtype=float))


def analyse_galvanostatic(
    time_s,
    potential_V,
    *,
    current_density_mA_cm2: float,
    smoothing_s: float = 0.05,
    settle_s: float = 0.05,
    significance_sigma: float = 10.0,
    min_dip_V: float = 1e-3,
    fit_depth_fraction: float = 0.5,
    growth_window_fraction: float = GROWTH_WINDOW_FRACTION,
) -> GalvanostaticResult:
    """Find nucleation and growth features of one galvanostatic E–t curve.

    Parameters
    ----------
    time_s : (T,) array_like
        Sample times from the start of the current (contact), s; strictly increasing, any
        (also uneven) spacing.
    potential_V : (T,) array_like
        Working-electrode potential, V.
    current_density_mA_cm2 : float
        Applied current density, mA/cm² (sign ignored); used for Q_nuc.
    smoothing_s : float
        Width of the moving average used to find the minimum, s.
    settle_s : float
        No minimum is accepted before this time (from the start of the current), s.
    significance_sigma : float
        Fall and recovery needed, in sd of the smoothed curve's noise.
    min_dip_V : float
        Smallest fall and recovery accepted whatever the noise, V (covers noise-free or
        quantised records).
    fit_depth_fraction : float
        Widest fit window: where the smoothed curve is within this fraction of the dip depth
        (the smaller of fall and recovery) above its minimum (0 < fraction < 1).
    growth_window_fraction : float
        Part of the time from t_nuc to the last sample averaged for E_growth (0 < f ≤ 1).

    Returns
    -------
    GalvanostaticResult
    """
    values = np.asarray(potential_V, dtype=float)
    if values.ndim != 1:
        raise AnalysisError(f"potential_V must be 1-D, got shape {values.shape}")
    batch = analyse_galvanostatic_batch(
        time_s,
        values[None, :],
        [current_density_mA_cm2],
        smoothing_s=smoothing_s,
        settle_s=settle_s,
        significance_sigma=significance_sigma,
        min_dip_V=min_dip_V,
        fit_depth_fraction=fit_depth_fraction,
        growth_window_fraction=growth_window_fraction,
    )

    def scalar(name):
        value = float(batch[name][0])
        return value if np.isfinite(value) else None

    return GalvanostaticResult(
        nucleated=bool(batch["nucleated"][0]),
        e_nuc_V=scalar("e_nuc_V"),
        t_nuc_s=scalar("t_nuc_s"),
        q_nuc_uAh_cm2=scalar("q_nuc_uAh_cm2"),
        e_growth_V=scalar("e_growth_V"),
        noise_V=float(batch["noise_V"][0]),
        significance_V=float(batch["significance_V"][0]),
        descent_V=scalar("descent_V"),
        recovery_V=scalar("recovery_V"),
    )


def analyse_galvanostatic_batch(
    time_s,
    potentials_V,
    current_densities_mA_cm2,
    *,
    smoothing_s: float = 0.05,
    settle_s: float = 0.05,
    significance_sigma: float = 10.0,
    min_dip_V: float = 1e-3,
    fit_depth_fraction: float = 0.5,
    growth_window_fraction: float = GROWTH_WINDOW_FRACTION,
) -> dict:
    """Vectorised :func:`analyse_galvanostatic` over curves sharing one time axis.

    Parameters
    ----------
    time_s : (T,) array_like
        Shared sample times, s.
    potentials_V : (N, T) array_like
        One curve per row, V.
    current_densities_mA_cm2 : (N,) array_like
        Current density of each curve, mA/cm² (sign ignored).
    smoothing_s, settle_s, significance_sigma, min_dip_V, fit_depth_fraction,
    growth_window_fraction
        As in :func:`analyse_galvanostatic`.

    Returns
    -------
    dict of (N,) ndarrays
        ``nucleated`` (bool), ``e_nuc_V``, ``t_nuc_s``, ``q_nuc_uAh_cm2``, ``e_growth_V``,
        ``descent_V``, ``recovery_V`` (NaN where not nucleated), ``noise_V`` and
        ``significance_V``. Row ``i`` equals :func:`analyse_galvanostatic` on curve ``i``.
    """
    values = np.asarray(potentials_V, dtype=float)
    if values.ndim != 2:
        raise AnalysisError(f"potentials_V must be 2-D (curves, samples), got {values.shape}")
    j = np.abs(np.asarray(current_densities_mA_cm2, dtype=float).reshape(-1))
    if j.size != values.shape[0]:
        raise AnalysisError(
            f"{j.size} current densities given for {values.shape[0]} curves; need one each"
        )
    if not np.all(np.isfinite(j) & (j > 0)):
        raise AnalysisError("current densities must be finite and non-zero, mA/cm²")
    if not np.all(np.isfinite(values)):
        raise AnalysisError("potentials contain NaN or infinite values; remove them first")
    t = check_time_axis(time_s, values.shape[1], min_samples=_MIN_SAMPLES)
    _check_options(
        smoothing_s,
        settle_s,
        significance_sigma,
        min_dip_V,
        fit_depth_fraction,
        growth_window_fraction,
    )
    options = {
        "smoothing_s": smoothing_s,
        "settle_s": settle_s,
        "significance_sigma": significance_sigma,
        "min_dip_V": min_dip_V,
        "fit_depth_fraction": fit_depth_fraction,
        "growth_window_fraction": growth_window_fraction,
    }
    parts = [
        analyse_block(t, values[start : start + _CHUNK_CURVES], **options)
        for start in range(0, values.shape[0], _CHUNK_CURVES)
    ]
    result = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    result["q_nuc_uAh_cm2"] = charge_density_uAh_cm2(j, result["t_nuc_s"])
    return result


def _check_options(
    smoothing_s, settle_s, significance_sigma, min_dip_V, fit_depth_fraction, growth_window_fraction
) -> None:
    if not smoothing_s >= 0:
        raise AnalysisError(f"smoothing_s {smoothing_s} s must be ≥ 0 s")
    if not settle_s >= 0:
        raise AnalysisError(f"settle_s {settle_s} s must be ≥ 0 s")
    if not significance_sigma > 0:
        raise AnalysisError(f"significance_sigma {significance_sigma} must be > 0")
    if not min_dip_V >= 0:
        raise AnalysisError(f"min_dip_V {min_dip_V} V must be ≥ 0 V")
    if not 0 < fit_depth_fraction < 1:
        raise AnalysisError(f"fit_depth_fraction {fit_depth_fraction} must lie in (0, 1)")
    if not 0 < growth_window_fraction <= 1:
        raise AnalysisError(f"growth_window_fraction {growth_window_fraction} must lie in (0, 1]")
