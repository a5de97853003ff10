"""Sampling helpers shared by trace analyses: uniform resampling and robust noise estimates."""

from __future__ import annotations

import numpy as np

from core.errors import AnalysisError

#: Relative spread of the time steps below which a record counts as uniformly sampled (times
#: written to a file with a few digits jitter by far less than 0.1 % of a step).
_UNIFORM_STEP_TOLERANCE = 1e-3
#: 1 / Φ⁻¹(3/4): turns a median absolute deviation into a Gaussian standard deviation.
_MAD_TO_SD = 1.482602218505602


def check_time_axis(time_s, n_samples: int, *, min_samples: int) -> np.ndarray:
    """Validate a time axis: 1-D, finite, strictly increasing, as long as the samples.

    Parameters
    ----------
    time_s : (T,) array_like
        Sample times, s.
    n_samples : int
        Number of samples each signal has along its last axis.
    min_samples : int
        Fewest samples an analysis can work with.

    Returns
    -------
    (T,) ndarray of float64
    """
    t = np.asarray(time_s, dtype=float)
    if t.ndim != 1:
        raise AnalysisError(f"time_s must be 1-D, got shape {t.shape}")
    if t.size != n_samples:
        raise AnalysisError(f"time_s has {t.size} samples but the signal has {n_samples}")
    if t.size < min_samples:
        raise AnalysisError(f"{t.size} samples is too few; at least {min_samples} are needed")
    if not np.all(np.isfinite(t)):
        raise AnalysisError("time_s contains NaN or infinite values")
    steps = np.diff(t)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0))
        raise AnalysisError(
            f"time_s must increase strictly; sample {k + 1} at {t[k + 1]!r} s follows {t[k]!r} s"
        )
    return t


def resample_uniform(time_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linearly resample signals onto a uniform grid spanning the same times.

    The grid step is the median step of ``time_s`` (so dropped samples or jitter do not change
    the resolution), and the first and last times are kept exactly. Uniformly sampled input is
    returned unchanged (no copy).

    Parameters
    ----------
    time_s : (T,) ndarray
        Strictly increasing sample times, s.
    values : (..., T) ndarray
        Signals sampled at ``time_s`` (last axis).

    Returns
    -------
    grid_s : (U,) ndarray
        Uniform times, s.
    resampled : (..., U) ndarray
        ``values`` interpolated at ``grid_s``.
    """
    steps = np.diff(time_s)
    step = float(np.median(steps))
    if np.max(np.abs(steps - step)) <= _UNIFORM_STEP_TOLERANCE * step:
        return time_s, values
    n = round((time_s[-1] - time_s[0]) / step) + 1
    grid_s = np.linspace(time_s[0], time_s[-1], n)
    right = np.clip(np.searchsorted(time_s, grid_s, side="right"), 1, time_s.size - 1)
    left = right - 1
    weight = (grid_s - time_s[left]) / (time_s[right] - time_s[left])
    resampled = values[..., left] * (1.0 - weight) + values[..., right] * weight
    return grid_s, resampled


def white_noise_sd(values: np.ndarray, *, max_points: int = 1024) -> np.ndarray:
    """Robust sd of white noise on smooth signals, from second differences of the samples.

    For white noise of sd σ the second difference ``x[i+1] − 2x[i] + x[i-1]`` has sd
    ``σ·√6``, while a signal that is smooth on the scale of a few samples contributes almost
    nothing; the median absolute value ignores the few samples at steps and spikes.

    Parameters
    ----------
    values : (..., T) ndarray
        Signals along the last axis (T ≥ 3).
    max_points : int
        At most this many second differences, every k-th over the whole record, are used
        (the median of 1024 gives σ within a few %; more only costs time on long records).

    Returns
    -------
    (...,) ndarray
        Noise sd, same unit as ``values``.
    """
    stride = -(-(values.shape[-1] - 2) // max_points)  # ceiling division
    second = values[..., 2::stride] + values[..., :-2:stride]
    second -= 2.0 * values[..., 1:-1:stride][..., : second.shape[-1]]
    return _MAD_TO_SD * np.median(np.abs(second), axis=-1) / np.sqrt(6.0)
