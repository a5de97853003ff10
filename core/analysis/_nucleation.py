"""The steps behind :func:`core.analysis.galvanostatic.analyse_galvanostatic_batch`.

Works on a block of curves (rows) that share one time axis; every step is vectorised over
rows. See the public module for the definitions of the features.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from core.analysis._sampling import resample_uniform, white_noise_sd
from core.analysis._vertex import local_minimum_fit, ragged_windows

#: The minimum is fitted with a cubic, which follows a dip whose two sides curve differently.
FIT_DEGREE = 3
#: Fit window level above the minimum: this many noise sd (enough samples to average the
#: noise), but at least this fraction of the dip depth (resolution on clean records) and at
#: most ``fit_depth_fraction`` of it (so the cubic still describes the dip).
FIT_NOISE_SIGMA = 4.0
FIT_MIN_DEPTH_FRACTION = 0.05


def analyse_block(
    time_s,
    raw,
    *,
    smoothing_s,
    settle_s,
    significance_sigma,
    min_dip_V,
    fit_depth_fraction,
    growth_window_fraction,
) -> dict:
    """Features of each row of ``raw`` (n, T) sampled at ``time_s`` (T,).

    Returns a dict of (n,) arrays: ``nucleated``, ``e_nuc_V``, ``t_nuc_s``, ``e_growth_V``,
    ``descent_V``, ``recovery_V`` (NaN where not nucleated), ``noise_V``, ``significance_V``.
    """
    n = raw.shape[0]
    noise = white_noise_sd(raw)
    t, values = resample_uniform(time_s, raw)
    step_s = (t[-1] - t[0]) / (t.size - 1)
    # odd, so the average stays centred; at most about half the record
    width = min(max(1, round(smoothing_s / step_s) | 1), 2 * (t.size // 4) + 1)
    significance = np.maximum(significance_sigma * noise / np.sqrt(width), min_dip_V)

    # Only samples whose whole averaging window lies inside the record are searched: at the
    # edges a moving average leans on a few samples and its noise grows.
    half = width // 2
    start = min(max(int(np.searchsorted(t, settle_s)), half), t.size - half - 1)
    stop = t.size - half
    # The search runs in float32 (0.1 µV resolution here is plenty) to halve memory traffic;
    # the fit below uses the float64 samples.
    smooth = uniform_filter1d(values.astype(np.float32), width, axis=-1, mode="nearest")
    seg = smooth[:, start:stop]
    descent = np.maximum.accumulate(seg, axis=1)
    descent -= seg
    recovery = np.maximum.accumulate(seg[:, ::-1], axis=1)[:, ::-1]
    recovery -= seg
    threshold = significance.astype(np.float32)[:, None]
    candidate = descent > threshold
    candidate &= recovery > threshold
    nucleated = candidate.any(axis=1)

    out = {
        name: np.full(n, np.nan)
        for name in ("e_nuc_V", "t_nuc_s", "e_growth_V", "descent_V", "recovery_V")
    }
    out.update(nucleated=nucleated, noise_V=noise, significance_V=significance)
    rows = np.flatnonzero(nucleated)
    if rows.size == 0:
        return out
    seg, candidate = seg[rows], candidate[rows]
    m = np.argmin(np.where(candidate, seg, np.inf), axis=1)
    depth_fall, depth_rise = descent[rows, m], recovery[rows, m]
    level = np.clip(
        FIT_NOISE_SIGMA * noise[rows],
        FIT_MIN_DEPTH_FRACTION * np.minimum(depth_fall, depth_rise),
        fit_depth_fraction * np.minimum(depth_fall, depth_rise),
    )
    first, last = _fit_windows(seg, m, level)
    position, e_nuc, valid = local_minimum_fit(
        values[rows, start:], first, last, m, degree=FIT_DEGREE
    )
    # A fit without an interior minimum (a kinked or flat-bottomed dip) falls back to the
    # smoothed minimum, which is still a bounded estimate.
    position = np.where(valid, position, m)
    e_nuc = np.where(valid, e_nuc, seg[np.arange(rows.size), m])
    t_nuc = t[start] + position * step_s

    out["e_nuc_V"][rows] = e_nuc
    out["t_nuc_s"][rows] = t_nuc
    out["descent_V"][rows] = depth_fall
    out["recovery_V"][rows] = depth_rise
    out["e_growth_V"][rows] = _growth_potential(t, values[rows], t_nuc, growth_window_fraction)
    return out


def _fit_windows(seg, m, level_V) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive windows around each minimum ``m`` where ``seg`` stays below min + ``level_V``.

    Widened to at least ±2 samples (a cubic needs 4 points) and clipped to the segment.
    """
    n_rows, n_samples = seg.shape
    index = np.arange(n_samples)
    above = seg > (seg[np.arange(n_rows), m] + level_V).astype(seg.dtype)[:, None]
    before = above & (index < m[:, None])
    after = above & (index > m[:, None])
    # last sample above the level before m, first one after it (argmax finds the first True)
    first = np.where(before.any(axis=1), n_samples - np.argmax(before[:, ::-1], axis=1), 0)
    last = np.where(after.any(axis=1), np.argmax(after, axis=1) - 1, n_samples - 1)
    first = np.clip(np.minimum(first, m - 2), 0, None)
    last = np.clip(np.maximum(last, m + 2), None, n_samples - 1)
    return first, last


def _growth_potential(t, values, t_nuc, fraction) -> np.ndarray:
    """Mean of each row over its last ``fraction`` of the time after t_nuc (uniform grid)."""
    window_start = t[-1] - fraction * np.maximum(t[-1] - t_nuc, 0.0)
    first = np.minimum(np.searchsorted(t, window_start), t.size - 1)
    last = np.full(first.shape, t.size - 1)
    flat, _, _, starts = ragged_windows(values, first, last)
    return np.add.reduceat(flat, starts) / (last - first + 1)
