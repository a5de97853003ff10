"""One IRM movie of a galvanostatic landing, end to end: landing, footprint, t_nuc(IRM), α.

The steps of the article's Methods (Martín-Yerga et al., ACS Nano 2024) chained on a raw
movie, each done by its own function:

1. :func:`~core.analysis.irm.detect_landing`: the first frame showing the contact step
   (t = 0 of the electrochemical record), read in chunks along time;
2. :func:`~core.analysis.irm.process_movie`: footprint, crop around it, and the processed
   (landing-subtracted, group-averaged, Gaussian-filtered) footprint-mean intensity;
3. the raw crop from the landing frame on, in the camera's dtype: its footprint mean gives
   t_nuc(IRM) with :func:`~core.analysis.irm_nucleation.optical_nucleation_time`, and every
   pixel (or block) of it the t_nuc(IRM) map with
   :func:`~core.analysis.irm_nucleation.nucleation_time_map`; both search up to the
   electrochemical t_nuc when it is known, as the optical onset precedes the potential minimum;
4. with the electrochemical record's current, α of I = α·V_M·Q/(n·F) from the processed
   intensity against the cumulative charge (:func:`~core.analysis.irm.fit_alpha`).

The movie is never converted whole to floating point: landing detection and processing read
chunks, and only the crop (native dtype) is held, so a :class:`core.io.movies.Movie` opened
lazily can be passed as ``frames``. Times are seconds from the landing frame; positions
``(x, y)`` are (column, row) in full-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis.irm import (
    DEFAULT_CHUNK_FRAMES,
    AlphaFit,
    Footprint,
    cumulative_charge_at,
    detect_landing,
    fit_alpha,
    process_movie,
)
from core.analysis.irm_nucleation import nucleation_time_map, optical_nucleation_time
from core.errors import AnalysisError

__all__ = ["IntensityCurve", "MovieAnalysis", "analyse_irm_movie"]


@dataclass(frozen=True)
class IntensityCurve:
    """Footprint-mean intensity against time.

    Attributes
    ----------
    times_s : (N,) float64 ndarray
        s from the landing frame.
    mean : (N,) float64 ndarray
        Mean over the footprint, camera counts.
    """

    times_s: np.ndarray
    mean: np.ndarray


@dataclass(frozen=True)
class MovieAnalysis:
    """What :func:`analyse_irm_movie` found in one movie.

    Attributes
    ----------
    landing_frame : int
        Index of the landing frame (t = 0).
    t_nuc_irm_s : float or None
        Optical nucleation time, s from landing; None without a significant rise.
    footprint : Footprint
        Footprint in full-frame pixels (``center_px`` (x, y), ``radius_px``, ``mask``).
    frames : int
        Frames in the movie.
    pixel_size_nm : float
        Pixel size used, nm.
    intensity : IntensityCurve
        Processed footprint mean (landing frame subtracted, frames group-averaged, Gaussian
        filtered), at the groups' mean times.
    raw_intensity : IntensityCurve
        Raw footprint mean of every frame from the landing on (what t_nuc(IRM) is taken from).
    t_nuc_map : (R, C) float32 ndarray
        t_nuc(IRM) per pixel (or per block), s from landing, full frame; NaN outside the
        footprint and where no significant rise was found.
    block_px : int
        Block side of the map, pixels (blocks anchored at the crop's corner).
    crop : tuple of int
        ``(row0, row1, col0, col1)`` of the crop the map and intensities come from.
    t_nuc_echem_s : float or None
        Electrochemical t_nuc that bounded the searches, s.
    alpha : AlphaFit or None
        Intensity against deposited volume, when the current was given.
    time_source : str or None
        Where the frame times came from (a :class:`~core.io.movies.Movie`'s
        ``time_source``), carried through for reports.
    """

    landing_frame: int
    t_nuc_irm_s: float | None
    footprint: Footprint
    frames: int
    pixel_size_nm: float
    intensity: IntensityCurve
    raw_intensity: IntensityCurve
    t_nuc_map: np.ndarray
    block_px: int
    crop: tuple[int, int, int, int]
    t_nuc_echem_s: float | None = None
    alpha: AlphaFit | None = None
    time_source: str | None = None

    def to_dict(self) -> dict:
        """The headline values, JSON-ready: ``landing_frame``, ``t_nuc_irm_s`` (or None),
        ``footprint`` (``center_px`` [x, y], ``radius_px``), ``frames``, ``pixel_size_nm``."""
        x, y = self.footprint.center_px
        return {
            "landing_frame": int(self.landing_frame),
            "t_nuc_irm_s": None if self.t_nuc_irm_s is None else float(self.t_nuc_irm_s),
            "footprint": {
                "center_px": [float(x), float(y)],
                "radius_px": float(self.footprint.radius_px),
            },
            "frames": int(self.frames),
            "pixel_size_nm": float(self.pixel_size_nm),
        }

    def map_summary(self) -> dict:
        """The t_nuc(IRM) map in numbers: ``block_px``, ``valid_fraction`` (footprint pixels
        with a time), ``median_s`` and ``sd_s`` (ddof = 1) of those times, or None."""
        inside = self.t_nuc_map[self.footprint.mask].astype(np.float64)
        times = inside[np.isfinite(inside)]
        return {
            "block_px": int(self.block_px),
            "valid_fraction": float(times.size / inside.size) if inside.size else 0.0,
            "median_s": float(np.median(times)) if times.size else None,
            "sd_s": float(times.std(ddof=1)) if times.size > 1 else None,
        }

    def alpha_dict(self) -> dict | None:
        """α fit as plain numbers (``alpha_per_um3``, ``intercept``, ``r2``,
        ``through_origin``), or None without a current."""
        if self.alpha is None:
            return None
        return {
            "alpha_per_um3": float(self.alpha.alpha_per_um3),
            "intercept": float(self.alpha.intercept),
            "r2": float(self.alpha.r2),
            "through_origin": bool(self.alpha.through_origin),
        }


def analyse_irm_movie(
    frames,
    times_s,
    *,
    pixel_size_nm: float,
    t_nuc_echem_s: float | None = None,
    expected_diameter_um: float | None = None,
    block_px: int = 1,
    window_s: float | None = None,
    trace_time_s=None,
    trace_current_A=None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
) -> MovieAnalysis:
    """Analyse the raw IRM movie of one galvanostatic landing (see the module docstring).

    Parameters
    ----------
    frames : (T, R, C) array-like
        Raw movie in the camera's dtype, sliceable along time: ndarray, memmap, h5py dataset
        or :class:`core.io.movies.Movie` (read lazily; its ``time_source`` is carried).
    times_s : (T,) array_like
        Real time of every frame, s (any origin; uneven intervals allowed).
    pixel_size_nm : float
        Pixel size, nm.
    t_nuc_echem_s : float, optional
        Electrochemical nucleation time, s from landing: t_nuc(IRM) and the map are sought
        up to it (the optical onset precedes the potential minimum).
    expected_diameter_um : float, optional
        Footprint (pipette) diameter, µm; picks the footprint among bright/dark regions.
    block_px : int
        1 for a per-pixel t_nuc(IRM) map, else the side of square blocks averaged first
        (e.g. 14 px ≈ 560 nm at 40 nm/px, the article's).
    window_s : float, optional
        Savitzky–Golay window for dI/dt, s (default: see
        :func:`~core.analysis.irm_nucleation.optical_nucleation_time`).
    trace_time_s, trace_current_A : (N,) array_like, optional
        The electrochemical record (s from landing; A, cathodic negative). Both or neither;
        given, α is fitted over the processed frames within the record's time span.
    chunk_frames : int
        Frames read at a time for landing detection and processing.

    Returns
    -------
    MovieAnalysis

    Raises
    ------
    AnalysisError
        No landing step, no footprint, a record too short for the derivative filter, only
        one of ``trace_time_s`` and ``trace_current_A``, or a current that cannot give α.
    """
    shape = tuple(getattr(frames, "shape", ()))
    if len(shape) != 3:
        raise AnalysisError(f"movie must be a (T, R, C) array; got shape {shape}")
    if (trace_time_s is None) != (trace_current_A is None):
        raise AnalysisError("trace_time_s and trace_current_A must be given together")
    if block_px < 1:
        raise AnalysisError(f"block_px must be >= 1 pixel; got {block_px}")
    times_s = np.asarray(times_s, dtype=np.float64)

    landing = detect_landing(frames, chunk_frames=chunk_frames)
    processed = process_movie(
        frames,
        times_s,
        pixel_size_nm=pixel_size_nm,
        landing_frame=landing,
        expected_diameter_um=expected_diameter_um,
        chunk_frames=chunk_frames,
    )
    row0, row1, col0, col1 = processed.crop
    raw = np.asarray(frames[landing:, row0:row1, col0:col1])  # camera dtype, crop only
    since_landing = times_s[landing:] - times_s[landing]
    raw_mean = _masked_means(raw, processed.mask, chunk_frames)
    t_nuc_irm = optical_nucleation_time(
        raw_mean, since_landing, window_s=window_s, t_nuc_echem_s=t_nuc_echem_s
    )
    crop_map = nucleation_time_map(
        raw,
        since_landing,
        block_px=block_px,
        window_s=window_s,
        mask=processed.mask,
        t_nuc_echem_s=t_nuc_echem_s,
    )
    t_map = np.full(shape[1:], np.nan, dtype=np.float32)
    t_map[row0:row1, col0:col1] = crop_map

    alpha = None
    if trace_time_s is not None:
        alpha = _alpha_fit(
            processed.times_s, processed.mean_intensity, trace_time_s, trace_current_A
        )
    return MovieAnalysis(
        landing_frame=int(landing),
        t_nuc_irm_s=t_nuc_irm,
        footprint=processed.footprint,
        frames=int(shape[0]),
        pixel_size_nm=float(pixel_size_nm),
        intensity=IntensityCurve(processed.times_s, processed.mean_intensity),
        raw_intensity=IntensityCurve(since_landing, raw_mean),
        t_nuc_map=t_map,
        block_px=int(block_px),
        crop=processed.crop,
        t_nuc_echem_s=None if t_nuc_echem_s is None else float(t_nuc_echem_s),
        alpha=alpha,
        time_source=getattr(frames, "time_source", None),
    )


def _masked_means(raw: np.ndarray, mask: np.ndarray, chunk_frames: int) -> np.ndarray:
    """(T,) float64 mean of each frame of (T, r, c) ``raw`` over ``mask``, a chunk at a time
    (the masked copy of one chunk only, never of the whole crop)."""
    means = np.empty(raw.shape[0], dtype=np.float64)
    for start in range(0, raw.shape[0], chunk_frames):
        means[start : start + chunk_frames] = raw[start : start + chunk_frames][:, mask].mean(
            axis=1, dtype=np.float64
        )
    return means


def _alpha_fit(group_times_s, intensity, trace_time_s, trace_current_A) -> AlphaFit:
    """α over the processed frames inside the record: after it the charge stops, while the
    image may still change (the pipette lifts off)."""
    trace_time_s = np.asarray(trace_time_s, dtype=np.float64)
    charge_C = cumulative_charge_at(group_times_s, trace_time_s, trace_current_A)
    inside = (group_times_s >= trace_time_s[0]) & (group_times_s <= trace_time_s[-1])
    return fit_alpha(intensity[inside], charge_C[inside])
