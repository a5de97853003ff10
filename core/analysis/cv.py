"""Cyclic voltammetry of Li plating: cycles, cathodic and anodic charges, Coulombic efficiency.

Cycle definition (shared with :mod:`core.simulate.cv`, whose ground truth uses it):

- The **vertices** are the turning points of the potential sweep, found as local extrema of the
  potential whose topographic prominence is at least ``min_amplitude_V`` (after a 5-sample median
  filter that removes isolated spikes). Prominence does not depend on the sampling rate or the
  time stamps, and noise wiggles never reach it (white potential noise must stay below
  ``min_amplitude_V / 5`` sd, which is checked). A hold at a vertex is split at its most extreme
  sample. The potential is V vs Li/Li+, so plating happens at the low end.
- A **cycle** is one plating sweep followed by its stripping sweep: it runs from an upper vertex
  (or the start of the record, if the record starts on a cathodic sweep) down through exactly one
  lower vertex and back up to the next upper vertex (or to the end of the record, if the record
  ends on the anodic sweep within ``min_amplitude_V`` of the potential the cycle started at).
  Consecutive cycles share their boundary sample, so their charges tile the record.
- A record that starts on an anodic sweep (at the lower vertex or mid-way up) has no plating
  before its first upper vertex: those samples belong to no cycle. A record that stops before
  the last anodic sweep is back up (stripping unfinished) drops that partial cycle, because its
  CE would be meaningless. Cycles are numbered 1, 2, ... from the first complete one.
- Cycles are split at upper vertices, where the current of a Li-plating CV is small (double
  layer only); which sample near the vertex is picked therefore hardly changes the charges.

Charges (the sign of the current, not the sweep direction, assigns charge): with cathodic current
negative, over one cycle

    Qc = ∫ max(−I, 0) dt,   Qa = ∫ max(I, 0) dt,   CE = Qa / Qc,

integrated exactly for the piecewise-linear interpolant of the samples (trapezoids, split at zero
crossings), on the real, possibly uneven, time stamps. Splitting by sweep direction instead would
be wrong for Li: plating goes on during the reverse sweep until the current crosses zero (the
nucleation loop), and that charge is plated Li that the stripping then recovers. Using the sign
follows the Li-metal CE convention (charge stripped / charge plated, Adams et al., Adv. Energy
Mater. 2018) as the article does (Qa/Qc per cycle). Qc includes SEI and Li–Au alloy formation and
Qa includes dealloying: they belong to the cycle's losses and recovery. Double-layer charge is a
small symmetric contribution and is not subtracted. A cycle with Qc = 0 has CE = NaN (undefined).

The max() rectifies current noise: where the true current is near zero, noise of sd σ adds about
0.4·σ per second to both Qa and Qc (1 pA over a 35 s cycle: ~14 fC, against nC of plating).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import find_peaks, peak_prominences

from core.errors import AnalysisError

#: Default smallest potential swing (V) that counts as a turning point of the sweep.
DEFAULT_MIN_AMPLITUDE_V = 0.1
#: Width (samples) of the median filter applied to the potential before finding vertices.
_DESPIKE_SAMPLES = 5
#: min_amplitude_V must be at least this many potential-noise sds.
_NOISE_MARGIN = 5.0


@dataclass(frozen=True)
class CycleCharges:
    """Charges of one CV cycle.

    Attributes
    ----------
    cycle : int
        Cycle number, 1-based.
    q_c_C : float
        Cathodic charge, C (positive magnitude).
    q_a_C : float
        Anodic charge, C (positive magnitude).
    ce : float
        Coulombic efficiency Qa/Qc; NaN when Qc is 0.
    """

    cycle: int
    q_c_C: float
    q_a_C: float
    ce: float

    def to_dict(self) -> dict:
        return {"cycle": self.cycle, "q_c_C": self.q_c_C, "q_a_C": self.q_a_C, "ce": self.ce}


@dataclass(frozen=True)
class CVResult:
    """Per-cycle charges of a CV.

    Attributes
    ----------
    cycles : list of CycleCharges
        One entry per complete cycle, in order.
    bounds : list of (int, int)
        ``(start, stop)`` sample indices of each cycle, as from :func:`split_cycles`.
    """

    cycles: list[CycleCharges]
    bounds: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``{"cycles": [{"cycle": 1, "q_c_C": ..., "q_a_C": ..., "ce": ...}, ...]}``."""
        return {"cycles": [c.to_dict() for c in self.cycles]}


def _as_samples(name: str, values, n: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise AnalysisError(f"{name} must be 1-D, got shape {array.shape}")
    if n is not None and array.size != n:
        raise AnalysisError(f"{name} has {array.size} samples but time_s has {n}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise AnalysisError(f"{name}[{bad[0]}] is {array[bad[0]]}; every sample must be finite")
    return array


def _check_time(time_s: np.ndarray) -> None:
    if time_s.size < 3:
        raise AnalysisError(f"a CV needs at least 3 samples, got {time_s.size}")
    steps = np.diff(time_s)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = bad[0]
        raise AnalysisError(
            f"time_s must increase strictly: time_s[{i + 1}] = {time_s[i + 1]:g} s follows "
            f"time_s[{i}] = {time_s[i]:g} s"
        )


def _quarter_swing_samples(potential_V: np.ndarray, min_amplitude_V: float) -> int:
    """Largest power-of-two lag over which the fast sweeps move by at most min_amplitude_V / 8.

    Uses the 90th percentile of |E[i + 2·lag] − E[i]| (on at most ~20,000 pairs), so holds,
    slow segments and noise do not lengthen it.
    """
    lag = 1
    while 2 * lag < potential_V.size:
        stride = max(1, (potential_V.size - 2 * lag) // 20_000)
        swing = np.abs(potential_V[2 * lag :: stride] - potential_V[: -2 * lag : stride])
        if np.percentile(swing, 90) > min_amplitude_V / 4:
            break
        lag *= 2
    return lag


def _noise_sd_V(potential_V: np.ndarray) -> float:
    """Robust sd of sample-to-sample potential noise, V.

    Second differences cancel a sweep of any rate (a piecewise-linear waveform has none except
    at vertices); for white noise their variance is 6σ². The median absolute deviation ignores
    vertices, steps of a staircase waveform and spikes.
    """
    second = potential_V[2:] - 2.0 * potential_V[1:-1] + potential_V[:-2]
    mad = np.median(np.abs(second - np.median(second)))
    return float(1.4826 * mad / np.sqrt(6.0))


def _vertices(potential_V: np.ndarray, min_amplitude_V: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the upper and lower vertices of the sweep, alternating.

    A vertex is a local extremum whose topographic prominence on the despiked potential is at
    least ``min_amplitude_V``. Computing the prominence of every noise wiggle would scan each
    one out to the next vertex, so candidates come from block means (``block`` samples, over
    which the fast sweeps move by ≤ ~min_amplitude_V / 8: a vertex keeps ≥ 3/4 of its
    prominence), with a threshold of half the minimum. Each candidate is refined to the extreme
    of the despiked potential within half the distance to its neighbouring candidates, kept
    only if its exact prominence reaches ``min_amplitude_V``, then moved to the extreme raw
    sample within the despiking window (exact on noise-free data).
    """
    smooth = median_filter(potential_V, size=_DESPIKE_SAMPLES, mode="nearest")
    block = _quarter_swing_samples(smooth, min_amplitude_V)
    n_blocks = smooth.size // block
    coarse = smooth[: n_blocks * block].reshape(n_blocks, block).mean(axis=1)
    upper_c, _ = find_peaks(coarse, prominence=0.5 * min_amplitude_V)
    lower_c, _ = find_peaks(-coarse, prominence=0.5 * min_amplitude_V)
    centres = np.concatenate([upper_c, lower_c]) * block + block // 2
    kinds = np.concatenate([np.ones(upper_c.size, int), -np.ones(lower_c.size, int)])
    order = np.argsort(centres, kind="stable")
    centres, kinds = centres[order], kinds[order]

    last = smooth.size - 1
    half_reach = _DESPIKE_SAMPLES // 2
    signed = {1: smooth, -1: -smooth}
    kept_i: list[int] = []
    kept_k: list[int] = []
    # A loop over vertices (a few per cycle), never over samples.
    for n, (centre, kind) in enumerate(zip(centres.tolist(), kinds.tolist(), strict=True)):
        gaps = [abs(centres[m] - centre) for m in (n - 1, n + 1) if 0 <= m < centres.size]
        reach = max(min(gaps, default=smooth.size) // 2, block)
        lo, hi = max(centre - reach, 0), min(centre + reach + 1, smooth.size)
        index = lo + int(np.argmax(signed[kind][lo:hi]))
        if index in (0, last, lo, hi - 1):
            continue  # a record end, or still climbing at the window's edge: not a vertex
        if peak_prominences(signed[kind], [index])[0][0] < min_amplitude_V:
            continue
        lo, hi = max(index - half_reach, 0), min(index + half_reach + 1, smooth.size)
        index = lo + int(np.argmax(kind * potential_V[lo:hi]))
        if kept_k and kept_k[-1] == kind:  # two of a kind in a row: keep the more extreme
            if kind * potential_V[index] > kind * potential_V[kept_i[-1]]:
                kept_i[-1] = index
            continue
        kept_i.append(index)
        kept_k.append(kind)
    kept = np.asarray(kept_i, dtype=int)
    is_upper = np.asarray(kept_k, dtype=int) == 1
    return kept[is_upper], kept[~is_upper]


def split_cycles(
    time_s, potential_V, *, min_amplitude_V: float = DEFAULT_MIN_AMPLITUDE_V
) -> list[tuple[int, int]]:
    """Split a CV record into plating/stripping cycles at the upper vertices of the sweep.

    See the module docstring for the cycle definition (start and end of the record, partial
    cycles). Vertices come from the potential waveform, never from sample counts, so uneven
    sampling and holds do not matter, and white potential noise up to ``min_amplitude_V / 5``
    (sd) creates no vertex.

    Parameters
    ----------
    time_s : (N,) array_like
        Sample times, s, strictly increasing (spacing may be uneven).
    potential_V : (N,) array_like
        Working-electrode potential, V vs Li/Li+.
    min_amplitude_V : float
        Smallest swing (topographic prominence), V, that makes a turning point a vertex:
        default 0.1 V; it must be at least 5× the potential noise sd and below the CV's
        amplitude.

    Returns
    -------
    list of (int, int)
        ``(start, stop)`` per complete cycle: the cycle is ``slice(start, stop)``; ``stop - 1``
        is the next cycle's ``start``. Empty if the record holds no complete cycle.

    Raises
    ------
    AnalysisError
        On mismatched lengths, non-finite samples, time not strictly increasing, a
        non-positive ``min_amplitude_V``, or potential noise (robust sd of the
        sample-to-sample noise) above ``min_amplitude_V / 5``.
    """
    time = _as_samples("time_s", time_s)
    potential = _as_samples("potential_V", potential_V, time.size)
    _check_time(time)
    if not (np.isfinite(min_amplitude_V) and min_amplitude_V > 0):
        raise AnalysisError(f"min_amplitude_V {min_amplitude_V!r} V must be above 0 V")
    noise_V = _noise_sd_V(potential)
    if min_amplitude_V < _NOISE_MARGIN * noise_V:
        raise AnalysisError(
            f"potential noise of {noise_V * 1e3:.3g} mV (sd) is too large for min_amplitude_V "
            f"{min_amplitude_V:g} V: it must be at least {_NOISE_MARGIN}× the noise "
            f"({_NOISE_MARGIN * noise_V:.3g} V) so noise cannot pass for a vertex"
        )
    upper, lower = _vertices(potential, min_amplitude_V)
    last = time.size - 1

    starts = upper.tolist()
    # A record that begins on a cathodic sweep: its first lower vertex comes before any upper one.
    if lower.size and (upper.size == 0 or lower[0] < upper[0]):
        starts.insert(0, 0)
    bounds = [(start, stop + 1) for start, stop in itertools.pairwise(starts)]
    if starts:
        start = starts[-1]
        has_lower_after = lower.size and lower[-1] > start
        back_up = potential[last] >= potential[start] - min_amplitude_V
        if has_lower_after and back_up and last > lower[-1]:
            bounds.append((start, last + 1))
    return bounds


def signed_charges_C(time_s: np.ndarray, current_A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative positive and negative charge of a sampled current, C.

    Integrates ``max(I, 0)`` and ``max(−I, 0)`` exactly for the piecewise-linear interpolant of
    the samples: a segment whose current changes sign is split at its zero crossing, so the
    two parts add up to the trapezoid of I and do not depend on where samples fall near zero.

    Parameters
    ----------
    time_s : (N,) ndarray
        Sample times, s, strictly increasing.
    current_A : (N,) ndarray
        Current, A.

    Returns
    -------
    positive_C, negative_C : (N,) ndarray
        Running integrals from the first sample (both start at 0 and never decrease); the
        charge between samples i and j is ``q[j] - q[i]``.
    """
    dt = np.diff(time_s)
    i0 = current_A[:-1]
    i1 = current_A[1:]
    same_sign = i0 * i1 >= 0
    span = np.abs(i1 - i0)
    safe_span = np.where(same_sign, 1.0, span)
    pos0, pos1 = np.maximum(i0, 0.0), np.maximum(i1, 0.0)
    neg0, neg1 = np.maximum(-i0, 0.0), np.maximum(-i1, 0.0)
    positive = np.where(same_sign, 0.5 * (pos0 + pos1), 0.5 * (pos0**2 + pos1**2) / safe_span) * dt
    negative = np.where(same_sign, 0.5 * (neg0 + neg1), 0.5 * (neg0**2 + neg1**2) / safe_span) * dt
    zero = np.zeros(1)
    return np.concatenate([zero, np.cumsum(positive)]), np.concatenate([zero, np.cumsum(negative)])


def analyse_cv(
    time_s,
    potential_V,
    current_A,
    *,
    cathodic_current_negative: bool = True,
    min_amplitude_V: float = DEFAULT_MIN_AMPLITUDE_V,
) -> CVResult:
    """Cathodic and anodic charge and Coulombic efficiency of every complete CV cycle.

    Parameters
    ----------
    time_s : (N,) array_like
        Sample times, s, strictly increasing (uneven spacing is integrated as recorded).
    potential_V : (N,) array_like
        Working-electrode potential, V vs Li/Li+.
    current_A : (N,) array_like
        Current, A.
    cathodic_current_negative : bool
        True (default, this project's convention) when reduction/plating current is recorded
        negative; False for instruments that record cathodic current positive.
    min_amplitude_V : float
        Passed to :func:`split_cycles`.

    Returns
    -------
    CVResult
        ``cycles[k]`` holds Qc, Qa (positive magnitudes, C) and CE = Qa/Qc of cycle k + 1,
        defined in the module docstring; CE is NaN where Qc is 0.

    Raises
    ------
    AnalysisError
        On malformed input (see :func:`split_cycles`) or when no complete cycle is found.
    """
    time = _as_samples("time_s", time_s)
    potential = _as_samples("potential_V", potential_V, time.size)
    current = _as_samples("current_A", current_A, time.size)
    bounds = split_cycles(time, potential, min_amplitude_V=min_amplitude_V)
    if not bounds:
        raise AnalysisError(
            f"no complete CV cycle: the potential spans {potential.min():.3g} to "
            f"{potential.max():.3g} V and never goes down through a lower vertex and back up "
            f"by at least min_amplitude_V = {min_amplitude_V:g} V"
        )
    positive, negative = signed_charges_C(time, current)
    anodic, cathodic = (positive, negative) if cathodic_current_negative else (negative, positive)
    start = np.array([b[0] for b in bounds])
    last = np.array([b[1] - 1 for b in bounds])
    q_a = anodic[last] - anodic[start]
    q_c = cathodic[last] - cathodic[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = np.where(q_c > 0, q_a / np.where(q_c > 0, q_c, 1.0), np.nan)
    cycles = [
        CycleCharges(cycle=k + 1, q_c_C=float(q_c[k]), q_a_C=float(q_a[k]), ce=float(ce[k]))
        for k in range(len(bounds))
    ]
    return CVResult(cycles=cycles, bounds=bounds)
