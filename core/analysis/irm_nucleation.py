"""Optical nucleation time t_nuc(IRM): from a region's mean intensity and as a map.

Following the article (Martín-Yerga et al., ACS Nano 2024, Methods), the raw intensity of a
region is differentiated in time with a Savitzky–Golay filter and the local maximum of dI/dt
that comes just before the electrochemical t_nuc is the optical nucleation time; repeated per
pixel (or per small block, e.g. 14 × 14 px ≈ 560 nm) it gives a t_nuc(IRM) map.

Uneven frame times. The camera's frame interval varies frame by frame (≈230 ± 10 ms) while a
Savitzky–Golay filter assumes even sampling. Both the intensity and the frame times are
filtered in frame-index space and divided, dI/dt = (dI/dk)/(dt/dk) (the chain rule): the
filter is linear, so for any signal that is locally linear in time the ratio is exact whatever
the spacing, and the errors for curved signals are second order, like those of resampling onto
a uniform grid; unlike resampling, nothing is interpolated, the derivative stays on the real
frame times, and the filter is one short antisymmetric stencil shared by every pixel. Peaks are
refined with a parabola through the real (uneven) times of the three samples around them.

Speed. Maps run on all pixels at once: the stencil is a few whole-array subtractions along
time, peaks are taken with ``argmax`` along time, and the image is cut into tiles of a few
hundred pixels so each tile's working arrays stay in the processor's cache; the noise and the
baseline rate, which read only a few frames per pixel, are measured on groups of several tiles'
rows at once so their many small steps are not repeated per tile. No loop runs over pixels.

Significance. A pixel (or region) is reported only when its peak dI/dt exceeds the typical
(median) dI/dt of the record by ``min_snr`` times the noise of the derivative; a rise is a peak
above the slow SEI/alloy or growth rate, and a dip (inverted contrast) is no rise. The noise is
measured from the data: the white-noise level of the intensity comes from non-overlapping
triples of frames (the middle sample's residual from the straight line through its neighbours,
exact for any local slope and any frame spacing; their median absolute value, so a sharp burst
bending a few triples does not count), and is propagated through the filter's coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_coeffs

from core.analysis.irm import frame_triple_weights
from core.errors import AnalysisError

#: working-set budget of one tile (raw samples, float32 copy, derivative, scratch), bytes: about
#: the size of a core's L2 cache, where whole-array numpy passes run several times faster
DEFAULT_TILE_BYTES = 4 * 2**20
#: bytes of raw movie read at a time (a band of image rows) before it is cut into tiles
_BAND_BYTES = 64 * 2**20
#: frame triples used to measure each series' noise (odd)
_NOISE_TRIPLES = 41
#: derivative samples whose median is the baseline rate a peak must stand out of (odd)
_BASELINE_SAMPLES = 31
#: rows per block in the two-stage argmax along time
_ARGMAX_BLOCK = 16
#: tiles' worth of pixels whose noise and baseline are measured at once (they read about a
#: sixth of the frames, so a group's working set is about that of one tile)
_GROUP_TILES = 4


# --- the derivative ------------------------------------------------------------------------
@dataclass(frozen=True)
class _NoiseTriples:
    """Frame triples used to measure each series' white noise, and their line weights."""

    frames: np.ndarray  # (3·n,) frame indices, triple by triple
    a: np.ndarray  # (n, 1) float32 weights of the first frame
    b: np.ndarray  # (n, 1) float32 weights of the third frame
    norm: np.ndarray  # (n, 1) float32 residual normalisation


def _noise_triples(times_s: np.ndarray) -> _NoiseTriples:
    """An odd number (at most _NOISE_TRIPLES) of triples spread evenly over the record."""
    a, b, norm = frame_triple_weights(times_s)
    count = min(a.size, _NOISE_TRIPLES)
    count -= 1 - count % 2  # odd: the median is one order statistic
    chosen = np.unique(np.linspace(0, a.size - 1, count).round().astype(int))
    return _NoiseTriples(
        frames=(3 * chosen[:, None] + np.arange(3)).ravel(),
        a=a[chosen].astype(np.float32)[:, None],
        b=b[chosen].astype(np.float32)[:, None],
        norm=norm[chosen].astype(np.float32)[:, None],
    )


@dataclass(frozen=True)
class _Derivative:
    """Savitzky–Golay dI/dt at the interior frames k = half … T − half − 1.

    Row r of a derivative array is centred on frame ``r + half``; its time is that frame's, moved
    by the asymmetry of the intervals around it so the derivative of any quadratic is exact
    there (left at the frame's time if the moved times would fall out of order, which takes
    intervals far more uneven than a camera's). Built once per call from the frame times and
    shared by every pixel.
    """

    row_times_s: np.ndarray  # (T − 2·half,) times of the derivative's rows, s
    half: int  # half window, frames
    relative_stencil: np.ndarray  # (half,) weights of x[k + m] − x[k − m] over the first's
    per_second: np.ndarray  # (T − 2·half, 1) float32: first weight / (dt/dk), the chain rule
    noise_gain: np.ndarray  # (T − 2·half,) derivative noise sd per unit intensity noise sd
    search: tuple[int, int]  # rows [start, stop) where peaks are sought
    baseline_rows: np.ndarray  # (odd,) rows whose median is the baseline rate
    noise: _NoiseTriples

    def apply(
        self,
        samples: np.ndarray,
        out: np.ndarray | None = None,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """(T, P) float32 samples → (T − 2·half, P) float32 dI/dt, intensity units per s.

        ``out`` and ``scratch`` (same shape) may be given to reuse memory across tiles.
        """
        n_frames = samples.shape[0]
        h = self.half
        n_rows = n_frames - 2 * h
        out = np.subtract(samples[h + 1 : h + 1 + n_rows], samples[h - 1 : h - 1 + n_rows], out)
        if h > 1 and scratch is None:
            scratch = np.empty_like(out)
        for m in range(2, h + 1):
            np.subtract(samples[h + m : h + m + n_rows], samples[h - m : h - m + n_rows], scratch)
            scratch *= self.relative_stencil[m - 1]
            out += scratch
        out *= self.per_second  # holds the stencil's first weight too: one pass fewer
        return out

    def at_rows(self, series: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(T, P) series of any numeric dtype → (rows.size, P) float32 dI/dt at ``rows`` only.

        The same float32 operations in the same order as :meth:`apply`, so the values are
        identical to those rows of its result, at the cost of reading 2·half + 1 frames per
        row instead of filtering the whole record.
        """
        h = self.half
        frames = (rows[:, None] + np.arange(2 * h + 1)).ravel()
        x = np.asarray(series[frames], dtype=np.float32).reshape(rows.size, 2 * h + 1, -1)
        out = np.subtract(x[:, h + 1], x[:, h - 1])
        for m in range(2, h + 1):
            scratch = np.subtract(x[:, h + m], x[:, h - m])
            scratch *= self.relative_stencil[m - 1]
            out += scratch
        out *= self.per_second[rows]
        return out


def _window_samples(window_s: float, dt_s: float, polyorder: int) -> int:
    """Odd window length in samples closest to ``window_s``, at least polyorder + 1."""
    n = round(window_s / dt_s)
    if n % 2 == 0:
        n += 1
    minimum = polyorder + 1 + (polyorder % 2 == 1)
    return max(n, minimum)


def _build_derivative(
    times_s: np.ndarray, *, window_s: float, polyorder: int, search: tuple[float, float]
) -> _Derivative:
    """The filter for ``times_s`` and the rows within ``search`` = (start_s, end_s)."""
    n_frames = times_s.size
    steps = np.diff(times_s)
    if n_frames < 3 or np.any(steps <= 0) or not np.all(np.isfinite(times_s)):
        raise AnalysisError(
            f"times_s must hold at least 3 finite, strictly increasing times; got {n_frames}"
        )
    dt_s = float(np.median(steps))
    if polyorder < 1:
        raise AnalysisError(f"polyorder {polyorder} must be >= 1")
    window = _window_samples(window_s, dt_s, polyorder)
    if window > n_frames:
        raise AnalysisError(
            f"window {window_s:.4g} s ({window} frames of {dt_s:.4g} s) is longer than the "
            f"{n_frames}-frame record ({times_s[-1] - times_s[0]:.4g} s)"
        )
    half = window // 2
    # derivative weights at the window's centre in index units; antisymmetric for deriv=1
    weights = savgol_coeffs(window, polyorder, deriv=1, use="dot")
    stencil = weights[half + 1 :]
    row_times = times_s[half : n_frames - half]
    dt_dk = np.zeros(row_times.size)
    spread = np.zeros(row_times.size)
    for m in range(1, half + 1):
        later = times_s[half + m : n_frames - half + m]
        earlier = times_s[half - m : n_frames - half - m]
        dt_dk += stencil[m - 1] * (later - earlier)
        spread += stencil[m - 1] * ((later - row_times) ** 2 - (earlier - row_times) ** 2)
    per_second = 1.0 / dt_dk
    # (dI/dk)/(dt/dk) of a quadratic is its exact slope at t_k + spread/(2·dt/dk), which only
    # differs from t_k where the intervals around t_k differ: that is the row's time
    effective_times = row_times + spread * per_second / 2.0
    if np.all(np.diff(effective_times) > 0):
        row_times = effective_times
    noise_gain = np.sqrt(2.0 * np.sum(stencil**2)) * per_second

    # peaks are sought only where the whole window fits (rows are interior frames anyway)
    start_s, end_s = search
    rows = (
        int(np.searchsorted(row_times, start_s - 1e-9 * dt_s, side="left")),
        int(np.searchsorted(row_times, end_s + 1e-9 * dt_s, side="right")),
    )
    if rows[1] - rows[0] < 3:
        raise AnalysisError(
            f"search window {start_s:.4g}–{end_s:.4g} s holds {max(0, rows[1] - rows[0])} "
            f"frames at least half a filter window ({half * dt_s:.4g} s) from the record's "
            "ends; 3 are needed to find a maximum: shorten window_s or widen the search"
        )
    picks = np.unique(np.linspace(0, row_times.size - 1, _BASELINE_SAMPLES).round().astype(int))
    picks = picks[: picks.size - 1 + picks.size % 2]  # odd: the median is one order statistic
    return _Derivative(
        row_times_s=row_times,
        half=half,
        relative_stencil=(stencil / stencil[0]).astype(np.float32),
        per_second=(stencil[0] * per_second).astype(np.float32)[:, None],
        noise_gain=noise_gain,
        search=rows,
        baseline_rows=picks,
        noise=_noise_triples(times_s),
    )


def _search_interval(
    times_s: np.ndarray,
    t_nuc_echem_s: float | None,
    search_start_s: float | None,
    search_end_s: float | None,
) -> tuple[float, float]:
    """(start, end) in s: from the first frame to t_nuc (echem) or the end, unless given.

    Ending at t_nuc, the window keeps one frame interval beyond it: a maximum on the last sample
    before t_nuc is only recognised as one next to the sample after it (a maximum on the
    window's edge never counts).
    """
    start = float(times_s[0]) if search_start_s is None else float(search_start_s)
    if search_end_s is not None:
        end = float(search_end_s)
    elif t_nuc_echem_s is not None:
        end = float(t_nuc_echem_s) + float(np.median(np.diff(times_s)))
    else:
        end = float(times_s[-1])
    if end <= start:
        raise AnalysisError(f"search window ends ({end:.4g} s) before it starts ({start:.4g} s)")
    return start, end


# --- noise and peaks -----------------------------------------------------------------------
def _noise_sigma(samples: np.ndarray, triples: _NoiseTriples) -> np.ndarray:
    """(T, ...) series of any numeric dtype → (P,) float32 white-noise sd of each of the P
    series (line residuals of frame triples).

    The sd is the median absolute residual / 0.6745: a nucleation burst sharper than a frame
    bends a few triples, and a median ignores them (short records have only a handful of
    triples). At most ``_NOISE_TRIPLES`` triples are used: 41 pin the sd to about 12 %, plenty
    for a significance threshold.
    """
    n_triples = triples.a.shape[0]
    x = np.asarray(samples[triples.frames], dtype=np.float32).reshape(n_triples, 3, -1)
    residual = x[:, 1] - triples.a * x[:, 0]
    residual -= triples.b * x[:, 2]
    residual /= triples.norm
    np.abs(residual, out=residual)
    return _column_median(residual) / np.float32(0.6745)


def _column_median(values: np.ndarray) -> np.ndarray:
    """Median of each column of (n, P) ``values``, n odd (partitioning contiguous rows of the
    transposed copy is faster than numpy's partition along the first axis)."""
    rows = np.ascontiguousarray(values.T)
    middle = values.shape[0] // 2
    return np.partition(rows, middle, axis=1)[:, middle]


def _argmax_rows(window: np.ndarray) -> np.ndarray:
    """First row of the maximum of each column of (L, P) ``window``.

    Two stages, because numpy's argmax along a non-contiguous axis copies the array: maxima of
    blocks of _ARGMAX_BLOCK rows (a fast reduction), then argmax within each column's best
    block only, gathered by flat index (cheaper than ``take_along_axis`` on small arrays).
    """
    n_rows, n_series = window.shape
    n_blocks = -(-n_rows // _ARGMAX_BLOCK)
    full = n_rows // _ARGMAX_BLOCK * _ARGMAX_BLOCK
    block_max = np.empty((n_blocks, n_series), dtype=window.dtype)
    block_max[: full // _ARGMAX_BLOCK] = window[:full].reshape(-1, _ARGMAX_BLOCK, n_series).max(1)
    if full < n_rows:
        block_max[-1] = window[full:].max(axis=0)
    first = block_max.argmax(axis=0) * _ARGMAX_BLOCK
    rows = np.minimum(first + np.arange(_ARGMAX_BLOCK)[:, None], n_rows - 1)
    within = _gather_rows(window, rows).argmax(axis=0)
    return first + within


def _gather_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(k, P) values ``values[rows[i, j], j]`` of (L, P) ``values`` (one flat fancy index)."""
    n_series = values.shape[1]
    flat = np.ascontiguousarray(values).reshape(-1)
    return flat[rows * n_series + np.arange(n_series)]


def _tile_peaks(
    samples: np.ndarray, derivative: _Derivative
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The heavy, per-sample part of peak picking for each column of (T, P) float32 ``samples``.

    Returns the search-window row of the peak (−1 without a local maximum), dI/dt over the
    filter window around it (2·half + 1, P), the baseline rate (P,) and the intensity noise sd
    (P,).
    """
    rate = derivative.apply(samples)  # (rows, P)
    peak, neighbours = _rate_peaks(rate, derivative)
    baseline = _baseline_rate(rate[derivative.baseline_rows])
    return peak, neighbours, baseline, _noise_sigma(samples, derivative.noise)


def _baseline_rate(rate_rows: np.ndarray) -> np.ndarray:
    """(n, P) dI/dt at ``_Derivative.baseline_rows`` → (P,) typical rate of each series.

    The typical rate (SEI/alloy, growth) is the median dI/dt of the whole record: a median, so
    a dip (inverted contrast) or the peak itself does not move it, and the whole record, as a
    search window ending at t_nuc may hold little besides the rise; from at most
    _BASELINE_SAMPLES evenly spread rows, which pins it well below the noise.
    """
    return _column_median(rate_rows)


def _rate_peaks(rate: np.ndarray, derivative: _Derivative) -> tuple[np.ndarray, np.ndarray]:
    """Search-window row of the peak of each column of (rows, P) C-ordered dI/dt ``rate`` (−1
    without a local maximum) and dI/dt over the filter window around it, (2·half + 1, P)."""
    start, stop = derivative.search
    window = rate[start:stop]
    n_rows = window.shape[0]
    peak = _argmax_rows(window)
    at_edge = (peak == 0) | (peak == n_rows - 1)
    if at_edge.any():
        # the largest value sits on the window's edge: take the largest interior local maximum
        sub = window[:, at_edge]
        inner = sub[1:-1]
        is_local_max = (inner >= sub[:-2]) & (inner >= sub[2:])
        masked = np.where(is_local_max, inner, -np.inf)
        peak[at_edge] = np.where(np.isfinite(masked.max(axis=0)), masked.argmax(axis=0) + 1, -1)
    # dI/dt over one filter window around each peak (edge rows repeated), for the refinement
    h = derivative.half
    rows = start + np.maximum(peak, 1) + np.arange(-h, h + 1)[:, None]
    np.clip(rows, 0, rate.shape[0] - 1, out=rows)
    return peak, _gather_rows(rate, rows)


def _finish_peaks(
    peak: np.ndarray,
    neighbours: np.ndarray,
    baseline: np.ndarray,
    sigma: np.ndarray,
    derivative: _Derivative,
    *,
    min_snr: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Peak time (s, NaN if none or not significant) and significance from :func:`_tile_peaks`,
    for many series at once (cheap per series, so done on whole bands)."""
    found = peak > 0
    row = derivative.search[0] + np.maximum(peak, 1)
    y = neighbours.astype(np.float64)
    h = derivative.half
    y1 = y[h]
    offset = _vertex_offset(y, row, derivative.row_times_s.size)
    times = derivative.row_times_s
    t_peak = np.interp(row + offset, np.arange(times.size), times)  # real, uneven row times
    baseline = baseline.astype(np.float64)
    rise = y1 - baseline
    # floor at float32 resolution so noiseless input cannot make rounding look significant
    floor = 1e-6 * (np.abs(y1) + np.abs(baseline))
    noise = np.maximum(sigma.astype(np.float64) * derivative.noise_gain[row], floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = rise / noise
    significant = found & (snr > min_snr)
    return np.where(significant, t_peak, np.nan), np.where(found, snr, np.nan)


def _vertex_offset(y: np.ndarray, row: np.ndarray, n_rows: int) -> np.ndarray:
    """Offset (rows) of the top of a least-squares parabola through (2h + 1, P) values ``y``
    centred on each peak row.

    Fitting over the whole filter window, rather than through three points, keeps a broad,
    flat-topped dI/dt peak (nucleation spread over seconds) from following its ripples. Rows
    within h of the record's ends use the three central points. Offsets stay within the fit.
    """
    h = (y.shape[0] - 1) // 2
    u = np.arange(-h, h + 1, dtype=np.float64)[:, None]
    centred = u * u - np.mean(u * u)
    linear = np.sum(u * y, axis=0) / np.sum(u * u)
    curvature = np.sum(centred * y, axis=0) / np.sum(centred * centred)
    y0, y1, y2 = y[h - 1], y[h], y[h + 1]
    near_end = (row < h) | (row > n_rows - 1 - h)
    linear = np.where(near_end, 0.5 * (y2 - y0), linear)
    curvature = np.where(near_end, 0.5 * (y0 + y2) - y1, curvature)
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, -linear / (2.0 * curvature), 0.0)
    reach = np.where(near_end, 0.5, float(h))
    return np.clip(offset, -reach, reach)


def _peak_times(
    samples: np.ndarray, derivative: _Derivative, *, min_snr: float
) -> tuple[np.ndarray, np.ndarray]:
    """Peak time (s, NaN if none) and its significance for each column of (T, P) ``samples``."""
    stats = _tile_peaks(samples, derivative)
    return _finish_peaks(*stats, derivative, min_snr=min_snr)


def _default_window_s(
    window_s: float | None, t_nuc_echem_s: float | None, times_s: np.ndarray
) -> float:
    """The window given; else 5 frame intervals, or with t_nuc known a tenth of it, kept
    between 5 frame intervals and a third of t_nuc.

    Five samples are the fewest that average noise in a quadratic derivative filter. Nucleation
    spreads over a time that grows with t_nuc (the article's t_nuc(IRM) maps span seconds at
    0.2 mA/cm² and fractions of a second at 3.82 mA/cm²), so a window in proportion to t_nuc
    smooths the dI/dt peak alike at every current density; a third of t_nuc at most keeps the
    peak before t_nuc resolvable in short runs (the filter then has at least 3 samples).
    """
    if window_s is not None:
        return float(window_s)
    five_frames_s = 5.0 * float(np.median(np.diff(times_s)))
    if t_nuc_echem_s is None:
        return five_frames_s
    t_nuc = float(t_nuc_echem_s)
    return min(max(0.1 * t_nuc, five_frames_s), t_nuc / 3.0)


def _check_times(times_s, n_frames: int) -> np.ndarray:
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.shape != (n_frames,):
        raise AnalysisError(f"times_s has {times_s.size} values for {n_frames} frames")
    return times_s


# --- public API -----------------------------------------------------------------------------
def intensity_derivative(
    intensity, times_s, *, window_s: float | None = None, polyorder: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Savitzky–Golay dI/dt of one series, as used for peak picking (e.g. for a plot).

    Parameters
    ----------
    intensity : (T,) array_like
        Region-mean intensity (counts).
    times_s : (T,) array_like
        Real frame times, s, strictly increasing (uneven spacing allowed).
    window_s : float, optional
        Savitzky–Golay window, s (converted with the median frame interval, made odd);
        default 5 frame intervals.
    polyorder : int
        Polynomial order of the filter.

    Returns
    -------
    row_times_s : (T − window + 1,) ndarray
        Times of the frames the whole window fits around, s.
    dI_dt : (T − window + 1,) ndarray
        Derivative there, intensity units per s.
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    times_s = _check_times(times_s, intensity.size)
    window_s = _default_window_s(window_s, None, times_s)
    derivative = _build_derivative(
        times_s, window_s=window_s, polyorder=polyorder, search=(times_s[0], times_s[-1])
    )
    centred = (intensity - intensity.mean()).astype(np.float32)[:, None]
    return derivative.row_times_s.copy(), derivative.apply(centred)[:, 0].astype(np.float64)


def optical_nucleation_time(
    intensity,
    times_s,
    *,
    window_s: float | None = None,
    polyorder: int = 2,
    t_nuc_echem_s: float | None = None,
    search_start_s: float | None = None,
    search_end_s: float | None = None,
    min_snr: float = 5.0,
) -> float | None:
    """t_nuc(IRM) of a region: the local maximum of dI/dt just before the electrochemical t_nuc.

    The search runs from ``search_start_s`` (default: the first frame, i.e. the landing when
    the series starts there) to ``search_end_s`` (default: ``t_nuc_echem_s`` when known, as the
    optical onset precedes the lagging potential minimum, plus the one frame interval that
    lets a maximum on the last sample before it be recognised; else the end of the record),
    but not within half a filter window of the record's ends, where the filter does not fit.
    The largest local maximum of dI/dt inside that window is taken (a maximum on the window's
    edge is not a local maximum: the rise peaks outside it) and refined between frames with a
    least-squares parabola over the filter window around it, mapped onto the real frame times.

    Parameters
    ----------
    intensity : (T,) array_like
        Mean raw intensity of the region (counts), from the landing frame on.
    times_s : (T,) array_like
        Real frame times, s, strictly increasing; same time base as ``t_nuc_echem_s``
        (seconds from landing = start of the electrochemical record).
    window_s : float, optional
        Savitzky–Golay window, s (made an odd number of samples, at least 3). Default: 5 frame
        intervals; with ``t_nuc_echem_s``, a tenth of it (the dI/dt peak widens with t_nuc)
        kept between 5 frame intervals and a third of t_nuc.
    polyorder : int
        Savitzky–Golay polynomial order.
    t_nuc_echem_s : float, optional
        Electrochemical nucleation time, s.
    search_start_s, search_end_s : float, optional
        Override the search window, s.
    min_snr : float
        Peak dI/dt above the record's median dI/dt (the slow SEI/alloy or growth rate), in
        units of the derivative's noise sd, needed to report a time.

    Returns
    -------
    float or None
        t_nuc(IRM) in s on the ``times_s`` scale, or None without a significant rise.
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    if intensity.ndim != 1:
        raise AnalysisError(f"intensity must be 1-D (T,); got shape {intensity.shape}")
    times_s = _check_times(times_s, intensity.size)
    search = _search_interval(times_s, t_nuc_echem_s, search_start_s, search_end_s)
    window_s = _default_window_s(window_s, t_nuc_echem_s, times_s)
    derivative = _build_derivative(times_s, window_s=window_s, polyorder=polyorder, search=search)
    # remove the offset before float32 so large counts keep their small changes
    centred = (intensity - intensity.mean()).astype(np.float32)[:, None]
    t_peak, _ = _peak_times(centred, derivative, min_snr=min_snr)
    return None if np.isnan(t_peak[0]) else float(t_peak[0])


def nucleation_time_map(
    frames,
    times_s,
    *,
    block_px: int = 1,
    window_s: float | None = None,
    polyorder: int = 2,
    mask: np.ndarray | None = None,
    t_nuc_echem_s: float | None = None,
    search_start_s: float | None = None,
    search_end_s: float | None = None,
    min_snr: float = 5.0,
    tile_bytes: int = DEFAULT_TILE_BYTES,
) -> np.ndarray:
    """Map of t_nuc(IRM) per pixel or per block, all pixels at once.

    Same rule as :func:`optical_nucleation_time`, applied to every pixel (``block_px=1``) or to
    the mean of every ``block_px`` × ``block_px`` block's pixels inside the mask (blocks on a
    grid anchored at pixel (0, 0); edge blocks may be smaller). The image is processed in tiles
    of a few hundred pixels whose working arrays stay within ``tile_bytes`` (cache-sized), read
    in bands of rows; only the mask's bounding box is read.

    Parameters
    ----------
    frames : (T, R, C) array-like
        Raw movie from the landing frame on, any numeric dtype (uint16), sliceable
        (ndarray, memmap, h5py dataset).
    times_s : (T,) array_like
        Real frame times, s, from the landing (same base as ``t_nuc_echem_s``).
    block_px : int
        1 for a per-pixel map, e.g. 14 for ≈560 nm blocks at 40 nm/px.
    window_s, polyorder, t_nuc_echem_s, search_start_s, search_end_s, min_snr
        As in :func:`optical_nucleation_time`.
    mask : (R, C) bool ndarray, optional
        Pixels to analyse (the footprint); a block is analysed when any of its pixels is in
        it, from the mean of those pixels only.
    tile_bytes : int
        Working-set budget for one tile, bytes (the result does not depend on it).

    Returns
    -------
    (R, C) float32 ndarray
        t_nuc(IRM), s on the ``times_s`` scale; NaN outside the mask and where no significant
        rise was found. In block mode every pixel of a block carries the block's time.
    """
    shape = tuple(getattr(frames, "shape", ()))
    if len(shape) != 3:
        raise AnalysisError(f"movie must be a (T, R, C) array; got shape {shape}")
    n_frames, n_rows, n_cols = shape
    times_s = _check_times(times_s, n_frames)
    if block_px < 1:
        raise AnalysisError(f"block_px must be >= 1 pixel; got {block_px}")
    if mask is None:
        mask = np.ones((n_rows, n_cols), dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (n_rows, n_cols):
        raise AnalysisError(f"mask shape {mask.shape} differs from the frames' {(n_rows, n_cols)}")
    t_map = np.full((n_rows, n_cols), np.nan, dtype=np.float32)
    if not mask.any():
        return t_map
    search = _search_interval(times_s, t_nuc_echem_s, search_start_s, search_end_s)
    window_s = _default_window_s(window_s, t_nuc_echem_s, times_s)
    derivative = _build_derivative(times_s, window_s=window_s, polyorder=polyorder, search=search)

    # bounding box of the mask, aligned to the block grid
    rows_in, cols_in = np.any(mask, axis=1), np.any(mask, axis=0)
    row0 = int(np.argmax(rows_in)) // block_px * block_px
    row1 = min(n_rows, -(-(n_rows - int(np.argmax(rows_in[::-1]))) // block_px) * block_px)
    col0 = int(np.argmax(cols_in)) // block_px * block_px
    col1 = min(n_cols, -(-(n_cols - int(np.argmax(cols_in[::-1]))) // block_px) * block_px)
    width = col1 - col0

    # series per tile: raw sample, float32 copy, derivative and scratch per frame
    itemsize = np.dtype(getattr(frames, "dtype", np.float64)).itemsize
    series_per_tile = max(16, tile_bytes // (n_frames * (itemsize + 12)))
    band_rows = max(1, _BAND_BYTES // (n_frames * width * itemsize))
    band_rows = -(-band_rows // block_px) * block_px

    for r0 in range(row0, row1, band_rows):
        r1 = min(row1, r0 + band_rows)
        band = np.asarray(frames[:, r0:r1, col0:col1])
        if block_px == 1:
            values = _pixel_times(band, derivative, series_per_tile, min_snr=min_snr)
        else:
            values = _block_times(
                band,
                mask[r0:r1, col0:col1],
                block_px,
                derivative,
                series_per_tile,
                min_snr=min_snr,
            )
        t_map[r0:r1, col0:col1] = values
    t_map[~mask] = np.nan
    return t_map


def _pixel_times(
    band: np.ndarray, derivative: _Derivative, series_per_tile: int, *, min_snr: float
) -> np.ndarray:
    """(T, r, c) raw band → (r, c) float32 peak times.

    The derivative and its peak run tile by tile (whole or part rows, cache-sized) on a float32
    copy of the tile; the noise and the baseline, which read only a few frames per pixel, run
    straight on the raw band for groups of whole rows, and the cheap per-pixel finish once for
    the band, so their many small steps are not repeated per tile.
    """
    n_frames, n_rows, n_cols = band.shape
    # whole rows when they fit, else each row cut into equal parts (no sliver tiles)
    cols_per_tile = -(-n_cols // -(-n_cols // series_per_tile))
    rows_per_tile = max(1, series_per_tile // n_cols) if cols_per_tile == n_cols else 1
    peak = np.empty((n_rows, n_cols), dtype=np.intp)
    neighbours = np.empty((2 * derivative.half + 1, n_rows, n_cols), dtype=np.float32)
    baseline = np.empty((n_rows, n_cols), dtype=np.float32)
    sigma = np.empty((n_rows, n_cols), dtype=np.float32)

    rows_per_group = max(1, _GROUP_TILES * series_per_tile // n_cols)
    for r0 in range(0, n_rows, rows_per_group):
        r1 = min(n_rows, r0 + rows_per_group)
        group = band[:, r0:r1]
        rate_rows = derivative.at_rows(group, derivative.baseline_rows)
        baseline[r0:r1] = _baseline_rate(rate_rows).reshape(r1 - r0, n_cols)
        sigma[r0:r1] = _noise_sigma(group, derivative.noise).reshape(r1 - r0, n_cols)

    # working arrays reused from tile to tile: fresh cache-sized arrays would be mapped and
    # page-faulted again for every tile, which costs more than the arithmetic
    buffers: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    n_rates = derivative.per_second.shape[0]
    for r0 in range(0, n_rows, rows_per_tile):
        r1 = min(n_rows, r0 + rows_per_tile)
        for c0 in range(0, n_cols, cols_per_tile):
            c1 = min(n_cols, c0 + cols_per_tile)
            shape = (r1 - r0, c1 - c0)
            if shape not in buffers:
                size = shape[0] * shape[1]
                buffers[shape] = (
                    np.empty((n_frames, size), dtype=np.float32),
                    np.empty((n_rates, size), dtype=np.float32),
                    np.empty((n_rates, size), dtype=np.float32),
                )
            samples, rate, scratch = buffers[shape]
            np.copyto(samples.reshape(n_frames, *shape), band[:, r0:r1, c0:c1], casting="unsafe")
            p, y = _rate_peaks(derivative.apply(samples, rate, scratch), derivative)
            peak[r0:r1, c0:c1] = p.reshape(shape)
            neighbours[:, r0:r1, c0:c1] = y.reshape(-1, *shape)
    t_peak, _ = _finish_peaks(
        peak.ravel(),
        neighbours.reshape(neighbours.shape[0], -1),
        baseline.ravel(),
        sigma.ravel(),
        derivative,
        min_snr=min_snr,
    )
    return t_peak.reshape(n_rows, n_cols).astype(np.float32)


def _block_times(
    band: np.ndarray,
    band_mask: np.ndarray,
    block_px: int,
    derivative: _Derivative,
    series_per_tile: int,
    *,
    min_snr: float,
) -> np.ndarray:
    """(T, r, c) raw band → (r, c) float32 peak times of its blocks, each block's pixels
    carrying its time."""
    means, inside = _block_means_in_mask(band, band_mask, block_px)
    blocks = np.full(inside.size, np.nan, dtype=np.float32)
    chosen = np.flatnonzero(inside)
    for start in range(0, chosen.size, series_per_tile):
        part = chosen[start : start + series_per_tile]
        blocks[part], _ = _peak_times(
            np.ascontiguousarray(means[:, part]), derivative, min_snr=min_snr
        )
    blocks = blocks.reshape(inside.shape)
    expanded = np.repeat(np.repeat(blocks, block_px, axis=0), block_px, axis=1)
    return expanded[: band.shape[1], : band.shape[2]]


def _block_means_in_mask(
    tile: np.ndarray, tile_mask: np.ndarray, block_px: int
) -> tuple[np.ndarray, np.ndarray]:
    """(T, r, c) tile → (T, blocks) float32 means over each block's masked pixels, and the
    (block rows, block cols) bool of blocks holding any masked pixel.

    Only masked pixels are averaged, so a block on the footprint's edge is not diluted by the
    bare electrode beside it. Blocks at the tile's far edges may be smaller than block_px.
    """
    row_starts = np.arange(0, tile.shape[1], block_px)
    col_starts = np.arange(0, tile.shape[2], block_px)
    weights = tile_mask.astype(np.float32)
    counts = np.add.reduceat(np.add.reduceat(weights, row_starts, axis=0), col_starts, axis=1)
    if tile_mask.all():
        weighted = tile
    else:
        weighted = tile * weights  # float32: uint16 × float32
    sums = np.add.reduceat(weighted, row_starts, axis=1, dtype=np.float32)
    sums = np.add.reduceat(sums, col_starts, axis=2, dtype=np.float32)
    inside = counts > 0
    means = sums / np.where(inside, counts, 1.0)
    return means.reshape(tile.shape[0], -1), inside


@dataclass(frozen=True)
class EarliestRegion:
    """The block of a t_nuc(IRM) map that nucleates first.

    Attributes
    ----------
    center_px : tuple of float
        Centre ``(x, y)`` = (column, row) of the block, pixels.
    rows, cols : tuple of int
        Half-open pixel ranges of the block.
    t_nuc_s : float
        Mean t_nuc(IRM) of the block's valid pixels, s.
    valid_fraction : float
        Fraction of the block's pixels with a time.
    """

    center_px: tuple[float, float]
    rows: tuple[int, int]
    cols: tuple[int, int]
    t_nuc_s: float
    valid_fraction: float


def earliest_region(
    t_map: np.ndarray, *, block_px: int, min_valid_fraction: float = 0.9
) -> EarliestRegion | None:
    """Block of ``block_px`` × ``block_px`` pixels (any position) with the earliest mean t_nuc.

    The mean over every block position is computed at once with box filters that ignore NaN;
    positions where fewer than ``min_valid_fraction`` of the pixels have a time, or that stick
    out of the image, are not considered.

    Parameters
    ----------
    t_map : (R, C) ndarray
        t_nuc(IRM) map, s (NaN where none), e.g. from :func:`nucleation_time_map`.
    block_px : int
        Block side, pixels.
    min_valid_fraction : float
        Minimum fraction of valid pixels in a block.

    Returns
    -------
    EarliestRegion or None
        None when no block position has enough valid pixels.
    """
    t_map = np.asarray(t_map, dtype=np.float64)
    if t_map.ndim != 2:
        raise AnalysisError(f"t_map must be (R, C); got shape {t_map.shape}")
    n_rows, n_cols = t_map.shape
    if not 1 <= block_px <= min(n_rows, n_cols):
        raise AnalysisError(f"block_px {block_px} must be between 1 and the map size {t_map.shape}")
    valid = np.isfinite(t_map)
    if not valid.any():
        return None
    # box sums for every top-left corner from integral images (NaN counts as absent)
    centred = np.where(valid, t_map - np.nanmean(t_map), 0.0)  # centred: accurate box means
    box_sum = _box_sums(centred, block_px)
    box_count = _box_sums(valid.astype(np.float64), block_px)
    usable = box_count >= min_valid_fraction * block_px**2 - 1e-9
    if not usable.any():
        return None
    box_mean = np.where(usable, box_sum / np.maximum(box_count, 1.0), np.inf)
    r, c = np.unravel_index(int(np.argmin(box_mean)), box_mean.shape)
    block = t_map[r : r + block_px, c : c + block_px]
    return EarliestRegion(
        center_px=(float(c + (block_px - 1) / 2.0), float(r + (block_px - 1) / 2.0)),
        rows=(int(r), int(r + block_px)),
        cols=(int(c), int(c + block_px)),
        t_nuc_s=float(np.nanmean(block)),
        valid_fraction=float(np.isfinite(block).mean()),
    )


def _box_sums(image: np.ndarray, side: int) -> np.ndarray:
    """Sums over every side × side window fully inside ``image``, indexed by top-left corner."""
    integral = np.zeros((image.shape[0] + 1, image.shape[1] + 1))
    integral[1:, 1:] = image.cumsum(axis=0).cumsum(axis=1)
    return (
        integral[side:, side:]
        - integral[:-side, side:]
        - integral[side:, :-side]
        + integral[:-side, :-side]
    )
