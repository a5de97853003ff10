"""Coulombic efficiency from IRM, CE(IRM): per-pixel I_a/I_c calibrated against CE.

For every CV cycle, I_c is the rise of IRM intensity over plating (cycle start → end of
plating, e.g. the cathodic vertex or the current's return through zero) and I_a the fall over
stripping (end of plating → cycle end). Their ratio I_a/I_c behaves like the Coulombic
efficiency: 1 when stripping removes all that plating added, lower when inactive Li stays. The
article (Martín-Yerga et al., ACS Nano 2024, Figure S5) fits a straight line between the
footprint-average I_a/I_c and the electrochemical CE of each cycle and applies it per pixel.

Pixels where plating does not raise the intensity (thick deposits invert the contrast, or
nothing deposits) give meaningless ratios: they are masked (NaN), not reported. "Raise" is
judged against the pixel's own temporal noise, measured from the movie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis.irm import frame_triple_weights
from core.errors import AnalysisError

#: frames read at a time for the noise pass (a multiple of 3: whole frame triples)
_NOISE_CHUNK_FRAMES = 63
#: default width of the frame average around each cycle bound, s (0: interpolate between the
#: two frames around it)
DEFAULT_AVERAGE_S = 0.0
#: default significance a pixel's I_c must reach to count, in noise sd
DEFAULT_MIN_SNR = 3.0


@dataclass(frozen=True)
class IaIc:
    """Intensity changes of each cycle (arrays of shape (cycles,) or (cycles, R, C)).

    Attributes
    ----------
    ic : ndarray
        I_c: intensity at the end of plating minus at the cycle start (counts).
    ia : ndarray
        I_a: intensity at the end of plating minus at the cycle end (counts, positive when
        stripping lowers the intensity).
    ratio : ndarray
        I_a / I_c; NaN where I_c is not a significant rise (maps) or not positive (series).
    """

    ic: np.ndarray
    ia: np.ndarray
    ratio: np.ndarray


@dataclass(frozen=True)
class CeCalibration:
    """Straight line CE = slope · (I_a/I_c) + intercept, fitted over cycles.

    Attributes
    ----------
    slope, intercept : float
        Line parameters (CE and I_a/I_c are both dimensionless).
    r2 : float
        Coefficient of determination of the fit.
    n_cycles : int
        Cycles used.
    """

    slope: float
    intercept: float
    r2: float
    n_cycles: int

    def apply(self, ratio):
        """CE(IRM) from I_a/I_c (any shape; NaN stays NaN)."""
        return self.slope * np.asarray(ratio) + self.intercept


def _check_bounds(cycle_bounds_s, times_s: np.ndarray) -> np.ndarray:
    bounds = np.asarray(cycle_bounds_s, dtype=np.float64)
    if bounds.ndim != 2 or bounds.shape[1] != 3 or bounds.shape[0] < 1:
        raise AnalysisError(
            "cycle_bounds_s must be (cycles, 3) rows of (start_s, plating_end_s, end_s); "
            f"got shape {bounds.shape}"
        )
    if np.any(np.diff(bounds, axis=1) <= 0):
        bad = int(np.flatnonzero(np.any(np.diff(bounds, axis=1) <= 0, axis=1))[0])
        raise AnalysisError(
            f"cycle {bad + 1} bounds {bounds[bad].tolist()} s are not start < plating end < end"
        )
    step = float(np.median(np.diff(times_s))) if times_s.size > 1 else 0.0
    low, high = times_s[0] - step, times_s[-1] + step
    if bounds.min() < low or bounds.max() > high:
        raise AnalysisError(
            f"cycle bounds {bounds.min():.4g}–{bounds.max():.4g} s fall outside the movie's "
            f"{times_s[0]:.4g}–{times_s[-1]:.4g} s"
        )
    return bounds


def _frame_weights(times_s: np.ndarray, at_s: float, average_s: float) -> tuple[int, np.ndarray]:
    """First frame and weights (sum 1) that estimate the intensity at ``at_s``.

    With ``average_s`` 0, linear interpolation between the two frames around ``at_s`` (no bias
    on a ramp, the nearest frame outside the movie); otherwise the mean of the frames within
    ± average_s/2 (or of the nearest frame if none is).
    """
    if average_s > 0:
        lo = int(np.searchsorted(times_s, at_s - average_s / 2.0, side="left"))
        hi = int(np.searchsorted(times_s, at_s + average_s / 2.0, side="right"))
        if hi > lo:
            return lo, np.full(hi - lo, 1.0 / (hi - lo))
        return int(np.argmin(np.abs(times_s - at_s))), np.ones(1)
    right = int(np.searchsorted(times_s, at_s, side="left"))
    if right == 0 or right == times_s.size:
        return min(right, times_s.size - 1), np.ones(1)
    fraction = (at_s - times_s[right - 1]) / (times_s[right] - times_s[right - 1])
    return right - 1, np.array([1.0 - fraction, fraction])


def _intensity_changes(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cycles, 3, ...) levels at (start, plating end, end) → (I_c, I_a)."""
    ic = levels[:, 1] - levels[:, 0]
    ia = levels[:, 1] - levels[:, 2]
    return ic, ia


def ia_ic_ratio(intensity, times_s, cycle_bounds_s, *,
                average_s: float = DEFAULT_AVERAGE_S) -> IaIc:
    """I_c, I_a and I_a/I_c of one intensity series (e.g. the footprint mean) per cycle.

    Parameters
    ----------
    intensity : (T,) array_like
        Intensity (counts), e.g. :attr:`core.analysis.irm.ProcessedMovie.mean_intensity`.
    times_s : (T,) array_like
        Frame (or group) times, s, increasing; same base as ``cycle_bounds_s``.
    cycle_bounds_s : (cycles, 3) array_like
        Per cycle: start, end of plating, end, s.
    average_s : float
        0 (default): the intensity at each bound is interpolated linearly between the frames
        around it; otherwise averaged over the frames within ± average_s/2 of it (at least
        the nearest frame). Averaging lowers noise but, around the intensity's maximum at
        the end of plating, biases I_c and I_a low.

    Returns
    -------
    IaIc
        Arrays of shape (cycles,); ratio NaN where I_c <= 0.
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    times_s = np.asarray(times_s, dtype=np.float64)
    if intensity.ndim != 1 or intensity.shape != times_s.shape:
        raise AnalysisError(
            f"intensity {intensity.shape} and times_s {times_s.shape} must be equal 1-D arrays"
        )
    bounds = _check_bounds(cycle_bounds_s, times_s)
    levels = np.empty(bounds.shape)
    for index, at_s in np.ndenumerate(bounds):
        first, weights = _frame_weights(times_s, at_s, average_s)
        levels[index] = weights @ intensity[first : first + weights.size]
    ic, ia = _intensity_changes(levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ic > 0, ia / ic, np.nan)
    return IaIc(ic=ic, ia=ia, ratio=ratio)


def calibrate_ce(footprint_ratio, ce_echem) -> CeCalibration:
    """Least-squares line CE = slope · (I_a/I_c) + intercept over cycles.

    Parameters
    ----------
    footprint_ratio : (cycles,) array_like
        Footprint-average I_a/I_c per cycle (e.g. ``ia_ic_ratio(...).ratio``).
    ce_echem : (cycles,) array_like
        Electrochemical CE = Q_a/Q_c of the same cycles.

    Returns
    -------
    CeCalibration
        Cycles with a non-finite value are left out; at least 2 must remain.
    """
    x = np.asarray(footprint_ratio, dtype=np.float64)
    y = np.asarray(ce_echem, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise AnalysisError(f"ratio {x.shape} and CE {y.shape} must be equal 1-D arrays")
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0:
        raise AnalysisError(
            f"{int(keep.sum())} cycles with finite, distinct I_a/I_c; the CE calibration needs "
            "at least 2"
        )
    slope, intercept = np.polyfit(x[keep], y[keep], 1)
    residual = y[keep] - (slope * x[keep] + intercept)
    ss_tot = float(np.sum((y[keep] - y[keep].mean()) ** 2))
    r2 = 1.0 - float(residual @ residual) / ss_tot if ss_tot > 0 else float("nan")
    return CeCalibration(
        slope=float(slope), intercept=float(intercept), r2=r2, n_cycles=int(keep.sum())
    )


def temporal_noise_sd(frames, times_s) -> np.ndarray:
    """Per-pixel white-noise sd of a movie, from non-overlapping triples of frames.

    Each triple gives the middle frame's residual from the straight line through its two
    neighbours (exact for any local slope and uneven frame times), normalised to the noise sd;
    the sd is the RMS over all triples. Read in chunks of whole triples.

    Parameters
    ----------
    frames : (T, R, C) array-like
        Movie, sliceable along time.
    times_s : (T,) array_like
        Frame times, s, strictly increasing.

    Returns
    -------
    (R, C) float32 ndarray
        Noise sd in the frames' intensity units.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    n_triples = times_s.size // 3
    if n_triples < 1:
        raise AnalysisError(f"{times_s.size} frames: noise needs at least 3")
    if np.any(np.diff(times_s) <= 0):
        raise AnalysisError("times_s must be strictly increasing")
    a, b, norm = frame_triple_weights(times_s)
    total = None
    for first in range(0, 3 * n_triples, _NOISE_CHUNK_FRAMES):
        last = min(3 * n_triples, first + _NOISE_CHUNK_FRAMES)
        chunk = np.asarray(frames[first:last], dtype=np.float32)
        x = chunk.reshape(-1, 3, *chunk.shape[1:])
        tri = slice(first // 3, last // 3)
        shape = (-1,) + (1,) * (x.ndim - 2)
        residual = (
            x[:, 1] - a[tri].reshape(shape) * x[:, 0] - b[tri].reshape(shape) * x[:, 2]
        ) / norm[tri].reshape(shape)
        squares = np.sum(residual * residual, axis=0, dtype=np.float64)
        total = squares if total is None else total + squares
    return np.sqrt(total / n_triples).astype(np.float32)


def ia_ic_maps(
    frames,
    times_s,
    cycle_bounds_s,
    *,
    mask: np.ndarray | None = None,
    average_s: float = DEFAULT_AVERAGE_S,
    min_snr: float = DEFAULT_MIN_SNR,
    noise_sd: np.ndarray | None = None,
) -> IaIc:
    """Per-pixel I_c, I_a and I_a/I_c maps for every cycle.

    Parameters
    ----------
    frames : (T, R, C) array-like
        Movie (raw or processed; differences make the background cancel), sliceable in time.
    times_s : (T,) array_like
        Frame times, s, strictly increasing; same base as ``cycle_bounds_s``.
    cycle_bounds_s : (cycles, 3) array_like
        Per cycle: start, end of plating, end, s.
    mask : (R, C) bool ndarray, optional
        Footprint; pixels outside it are NaN.
    average_s : float
        As in :func:`ia_ic_ratio`.
    min_snr : float
        I_c must exceed ``min_snr`` times its noise sd (from ``noise_sd`` and the weights of
        the frames that make each level) for the pixel's ratio to be reported.
    noise_sd : (R, C) ndarray, optional
        Per-pixel temporal noise sd; measured with :func:`temporal_noise_sd` when omitted.

    Returns
    -------
    IaIc
        float32 arrays of shape (cycles, R, C); ``ratio`` is NaN outside the mask and where
        I_c is not a significant rise (inverted contrast or no deposit).
    """
    shape = tuple(getattr(frames, "shape", ()))
    if len(shape) != 3:
        raise AnalysisError(f"movie must be a (T, R, C) array; got shape {shape}")
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.shape != (shape[0],):
        raise AnalysisError(f"times_s has {times_s.size} values for {shape[0]} frames")
    bounds = _check_bounds(cycle_bounds_s, times_s)
    if noise_sd is None:
        noise_sd = temporal_noise_sd(frames, times_s)

    levels = np.empty((*bounds.shape, *shape[1:]))
    noise_factor = np.empty(bounds.shape)  # sd of a level per unit frame noise
    for index, at_s in np.ndenumerate(bounds):
        first, weights = _frame_weights(times_s, at_s, average_s)
        stack = np.asarray(frames[first : first + weights.size], dtype=np.float64)
        levels[index] = np.tensordot(weights, stack, axes=1)
        noise_factor[index] = np.sqrt(np.sum(weights**2))
    ic, ia = _intensity_changes(levels)

    ic_noise = np.asarray(noise_sd, dtype=np.float64)[np.newaxis] * np.hypot(
        noise_factor[:, 0], noise_factor[:, 1]
    ).reshape(-1, 1, 1)
    rises = ic > min_snr * ic_noise
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != shape[1:]:
            raise AnalysisError(f"mask shape {mask.shape} differs from the frames' {shape[1:]}")
        rises &= mask[np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rises, ia / ic, np.nan)
    return IaIc(ic=ic.astype(np.float32), ia=ia.astype(np.float32), ratio=ratio.astype(np.float32))


def ce_irm_maps(
    frames,
    times_s,
    cycle_bounds_s,
    calibration: CeCalibration,
    *,
    mask: np.ndarray | None = None,
    average_s: float = DEFAULT_AVERAGE_S,
    min_snr: float = DEFAULT_MIN_SNR,
    noise_sd: np.ndarray | None = None,
) -> np.ndarray:
    """CE(IRM) maps: the calibration applied to each pixel's I_a/I_c, per cycle.

    Parameters
    ----------
    frames, times_s, cycle_bounds_s, mask, average_s, min_snr, noise_sd
        As in :func:`ia_ic_maps`.
    calibration : CeCalibration
        From :func:`calibrate_ce` on the footprint-average response.

    Returns
    -------
    (cycles, R, C) float32 ndarray
        CE(IRM) (dimensionless); NaN outside the mask and where I_c is not a significant rise.
    """
    maps = ia_ic_maps(
        frames,
        times_s,
        cycle_bounds_s,
        mask=mask,
        average_s=average_s,
        min_snr=min_snr,
        noise_sd=noise_sd,
    )
    return calibration.apply(maps.ratio).astype(np.float32)
