"""Minimum of a local polynomial fit, vectorised over many signals with windows of their own."""

from __future__ import annotations

import numpy as np


def ragged_windows(
    values: np.ndarray, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gather each row's inclusive sample window ``first[r]..last[r]`` into one flat array.

    Work and memory grow with the total window length, not with rows × samples.

    Parameters
    ----------
    values : (N, T) ndarray
    first, last : (N,) int ndarray
        Inclusive windows, ``first ≤ last``.

    Returns
    -------
    flat : (L,) ndarray
        The windows' samples, row after row.
    row : (L,) int ndarray
        Row of each flat sample.
    index : (L,) int ndarray
        Sample index of each flat sample within its row.
    starts : (N,) int ndarray
        Where each row's window starts in ``flat`` (for ``np.add.reduceat``).
    """
    lengths = (last - first + 1).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    row = np.repeat(np.arange(values.shape[0]), lengths)
    index = np.arange(int(lengths.sum())) - starts[row] + first[row]
    return values[row, index], row, index, starts


def local_minimum_fit(
    values: np.ndarray, first: np.ndarray, last: np.ndarray, centre: np.ndarray, *, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a polynomial to each row over its own sample window and return the fit's minimum.

    Least squares on samples ``first[r] ≤ i ≤ last[r]`` of row ``r`` of a uniformly sampled
    signal. Only rows whose fitted polynomial has a minimum inside the window are valid.

    Parameters
    ----------
    values : (N, T) ndarray
        Signals on a uniform grid (last axis).
    first, last : (N,) int ndarray
        Inclusive sample windows (rows with fewer than ``degree + 1`` samples are invalid).
    centre : (N,) int ndarray
        A sample inside each window, used as the origin of the fit (conditioning).
    degree : int
        2 (parabola) or 3 (cubic, for minima whose two sides curve differently).

    Returns
    -------
    position : (N,) ndarray
        Fractional sample index of the fitted minimum.
    value : (N,) ndarray
        Fitted value there (unit of ``values``).
    valid : (N,) bool ndarray
        The fit has a minimum strictly inside its window.
    """
    flat, row, index, starts = ragged_windows(values, first, last)
    half_width = np.maximum(np.maximum(centre - first, last - centre), 1).astype(float)
    offset = values[np.arange(values.shape[0]), centre]
    u = (index - centre[row]) / half_width[row]
    y = flat - offset[row]

    power = np.ones_like(u)
    moments_u = [np.add.reduceat(power, starts)]
    moments_y = [np.add.reduceat(y, starts)]
    for k in range(1, 2 * degree + 1):
        power *= u
        moments_u.append(np.add.reduceat(power, starts))
        if k <= degree:
            moments_y.append(np.add.reduceat(y * power, starts))
    moments_u = np.stack(moments_u, axis=1)  # (N, 2·degree + 1)
    normal = np.stack([moments_u[:, k : k + degree + 1] for k in range(degree + 1)], axis=1)
    # Windows with too few samples for the polynomial get a harmless system and are invalid.
    enough = (last - first) >= degree
    normal[~enough] = np.eye(degree + 1)
    coef = np.linalg.solve(normal, np.stack(moments_y, axis=1)[:, :, None])[:, :, 0]

    u_first = (first - centre) / half_width
    u_last = (last - centre) / half_width
    u_min = _polynomial_minimum(coef, degree)
    valid = enough & np.isfinite(u_min) & (u_min > u_first) & (u_min < u_last)
    u_min = np.where(valid, u_min, 0.0)
    fitted = sum(coef[:, k] * u_min**k for k in range(degree + 1))
    position = centre + u_min * half_width
    return position, offset + fitted, valid


def _polynomial_minimum(coef: np.ndarray, degree: int) -> np.ndarray:
    """Abscissa of the local minimum of c0 + c1·u + c2·u² (+ c3·u³) per row; NaN if none."""
    c1, c2 = coef[:, 1], coef[:, 2]
    c3 = coef[:, 3] if degree == 3 else np.zeros_like(c1)
    # p'(u) = c1 + 2·c2·u + 3·c3·u²; the minimum is the root where p'' = 2·c2 + 6·c3·u > 0:
    # u = (−c2 + √(c2² − 3·c1·c3)) / (3·c3), written in the form that stays exact as c3 → 0
    # (then it is the parabola's vertex −c1 / (2·c2)).
    disc = c2**2 - 3.0 * c1 * c3
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.where(disc >= 0, disc, np.nan))
        return -c1 / (c2 + root)
