"""The IRM movie analysis of a measured galvanostatic spot, stored as two analysis kinds.

The electrochemical analyses (``galvanostatic``, ``cv``) are the analysis workers' job
(``workers.analysis_task``); this module runs the article's movie pipeline
(:func:`core.analysis.irm_movie.analyse_irm_movie`) with the stored galvanostatic t_nuc and
stores it as two kinds:

- ``irm``: ``t_nuc_irm_s`` (the dI/dt peak of the raw movie's footprint mean just before the
  electrochemical t_nuc), ``landing_frame``, ``footprint`` (``center_px`` [x, y],
  ``radius_px``, ``diameter_um``), ``crop``, ``frames``, ``pixel_size_nm``,
  ``t_nuc_echem_s``, the t_nuc(IRM) map's ``t_nuc_map_median_s``/``t_nuc_map_sd_s``/
  ``t_nuc_map_valid_fraction``, and ``alpha`` (I = α·V_M·Q/(n·F) fit);
- ``irm_maps`` (same version and parameters): ``intensity`` and ``raw_intensity``
  (footprint-mean intensity vs time, processed and raw) and ``t_nuc_map`` (one value per
  block of the crop: ``block_px``, ``row0_px``, ``col0_px``, ``values_s`` rows × cols,
  ``None`` where no rise was found).

The arrays live in their own kind so that a heatmap of t_nuc(IRM) over 10,000 spots never
makes the database parse them. A movie the pipeline cannot handle stores ``{"error": ...}``.
Parameters record every option used (defaults included).

A filmed CV spot gets CE(IRM) per cycle (:func:`analyse_cv_movie`, the article's Figure S5
method from :mod:`core.analysis.ce_irm`), stored the same way as two kinds:

- ``ce_irm``: the calibration CE = slope·(I_a/I_c) + intercept (``calibration``: ``slope``,
  ``intercept``, ``r2``, ``n_cycles``), the footprint and, per cycle (``cycles``): ``cycle``,
  ``bounds_s`` (start, end of plating, end; s on the trace's clock), ``ia_ic`` (footprint
  mean), ``ce`` (electrochemical), ``ce_irm_median`` and ``masked_fraction`` (footprint
  pixels without a significant plating rise: inverted contrast or no deposit);
- ``ce_irm_maps``: ``maps``: the CE(IRM) maps block-averaged to at most
  :data:`CE_MAP_MAX_SIDE` cells a side and quantised to :data:`CE_MAP_STEP` (``values``:
  cycles × rows × cols integers, CE = value × ``step``; ``None`` where masked), with
  ``block_px``, ``pixel_size_nm`` and ``cycles`` (the cycle numbers).
"""

from __future__ import annotations

import inspect

import numpy as np

from core.analysis.ce_irm import (
    DEFAULT_AVERAGE_S,
    DEFAULT_MIN_SNR,
    calibrate_ce,
    ia_ic_maps,
    ia_ic_ratio,
)
from core.analysis.cv import analyse_cv, signed_charges_C
from core.analysis.irm import process_movie
from core.analysis.irm_movie import analyse_irm_movie
from core.errors import AnalysisError
from core.results.metrics import CE_IRM, CE_IRM_MAPS, IRM, IRM_MAPS
from core.storage.spot_files import SpotMovie
from core.traces import Trace

#: side of the t_nuc(IRM) map's blocks, nm (the article's 14 px at 40 nm/px)
T_NUC_MAP_BLOCK_NM = 560.0
#: most cells a side of a stored CE(IRM) map (the crop is block-averaged down to this)
CE_MAP_MAX_SIDE = 48
#: quantisation step of stored CE(IRM) values (dimensionless)
CE_MAP_STEP = 0.001


def analyse_movie(
    movie: SpotMovie,
    *,
    t_nuc_echem_s: float | None,
    footprint_diameter_um: float | None,
    trace: Trace | None = None,
) -> dict[str, tuple[dict, dict]]:
    """Run the IRM pipeline (:func:`core.analysis.irm_movie.analyse_irm_movie`) on a movie.

    Parameters
    ----------
    movie : frames (T, R, C), frame times (s) and pixel size (nm).
    t_nuc_echem_s : electrochemical nucleation time, s (bounds the optical search).
    footprint_diameter_um : expected footprint diameter, µm (picks the footprint).
    trace : the electrochemical record; given, α of I = α·V_M·Q/(n·F) is fitted too.

    Returns
    -------
    dict
        ``{"irm": (parameters, results), "irm_maps": (parameters, results)}``.
    """
    pixel_nm = movie.pixel_size_nm
    block_px = max(1, round(T_NUC_MAP_BLOCK_NM / pixel_nm)) if pixel_nm else 1
    options = _options(analyse_irm_movie, pixel_size_nm=pixel_nm, t_nuc_echem_s=t_nuc_echem_s,
                       expected_diameter_um=footprint_diameter_um, block_px=block_px)
    for data in ("trace_time_s", "trace_current_A"):  # data, not options
        options.pop(data, None)
    parameters = {**options, "alpha_fitted": trace is not None}
    if not pixel_nm:
        message = "the movie has no pixel size (pixel_size_nm)"
        return {IRM: (parameters, {"error": message}), IRM_MAPS: (parameters, {"error": message})}
    record = {} if trace is None else {"trace_time_s": trace.time_s,
                                       "trace_current_A": trace.current_A}
    try:
        found = analyse_irm_movie(movie.frames, movie.times_s, **options, **record)
    except AnalysisError as error:
        return {IRM: (parameters, {"error": str(error)}),
                IRM_MAPS: (parameters, {"error": str(error)})}
    summary = found.map_summary()
    headline = found.to_dict()
    headline["footprint"]["diameter_um"] = 2 * found.footprint.radius_px * pixel_nm * 1e-3
    scalars = {
        **headline,
        "crop": list(found.crop),
        "t_nuc_echem_s": found.t_nuc_echem_s,
        "t_nuc_map_median_s": summary["median_s"],
        "t_nuc_map_sd_s": summary["sd_s"],
        "t_nuc_map_valid_fraction": summary["valid_fraction"],
        "alpha": found.alpha_dict(),
    }
    row0, row1, col0, col1 = found.crop
    blocks = found.t_nuc_map[row0:row1:block_px, col0:col1:block_px].astype(np.float64)
    arrays = {
        "intensity": {"times_s": found.intensity.times_s, "mean_counts": found.intensity.mean},
        "raw_intensity": {"times_s": found.raw_intensity.times_s,
                          "mean_counts": found.raw_intensity.mean},
        "t_nuc_map": {"block_px": block_px, "row0_px": row0, "col0_px": col0,
                      "values_s": np.round(blocks, 4)},
    }
    return {IRM: (parameters, scalars), IRM_MAPS: (parameters, arrays)}


def _options(function, **given) -> dict:
    """Every keyword-only option of ``function``: its default, or the value given."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is not inspect.Parameter.empty
    }
    return {**defaults, **given}


def cycle_bounds_s(trace: Trace, *, cathodic_current_negative: bool = True,
                   min_amplitude_V: float | None = None) -> tuple[list[dict], np.ndarray]:
    """The CV's cycles (:func:`core.analysis.cv.analyse_cv`) and, per cycle, (start, end of
    plating, end) in s on the trace's clock.

    The end of plating is where the cycle's net plated charge (cathodic minus anodic, from
    the cycle start) peaks: the current's return through zero after the lower vertex. Being
    the maximum of an integral, it does not jitter with current noise around zero.
    """
    options = {} if min_amplitude_V is None else {"min_amplitude_V": min_amplitude_V}
    result = analyse_cv(trace.time_s, trace.potential_V, trace.current_A,
                        cathodic_current_negative=cathodic_current_negative, **options)
    time_s = np.asarray(trace.time_s, dtype=np.float64)
    positive, negative = signed_charges_C(time_s, np.asarray(trace.current_A, dtype=float))
    cathodic, anodic = (negative, positive) if cathodic_current_negative else (positive,
                                                                                negative)
    bounds = []
    for start, stop in result.bounds:
        net = (cathodic[start:stop] - cathodic[start]) - (anodic[start:stop] - anodic[start])
        bounds.append((time_s[start], time_s[start + int(np.argmax(net))], time_s[stop - 1]))
    return [cycle.to_dict() for cycle in result.cycles], np.array(bounds, dtype=np.float64)


def analyse_cv_movie(
    movie: SpotMovie,
    trace: Trace,
    *,
    footprint_diameter_um: float | None = None,
    average_s: float = DEFAULT_AVERAGE_S,
    min_snr: float = DEFAULT_MIN_SNR,
) -> dict[str, tuple[dict, dict]]:
    """CE(IRM) maps per cycle of a filmed CV (see the module docstring).

    The movie is processed as the article does (landing-subtracted, frames averaged in pairs,
    Gaussian σ = 1 µm; :func:`core.analysis.irm.process_movie`), the landing being the first
    frame at or after t = 0 of the trace's clock. The footprint-mean I_a/I_c of each cycle is
    fitted against the electrochemical CE (:func:`core.analysis.ce_irm.calibrate_ce`) and the
    line applied per pixel (:func:`core.analysis.ce_irm.ia_ic_maps`). Cycles not wholly
    inside the movie are left out.

    Parameters
    ----------
    movie : frames (T, R, C), times (s, the trace's clock) and pixel size (nm).
    trace : the CV record (s, V vs Li/Li+, A with cathodic current negative).
    footprint_diameter_um : expected footprint diameter, µm (picks the footprint).
    average_s, min_snr : as in :func:`core.analysis.ce_irm.ia_ic_maps` (s; noise sd).

    Returns
    -------
    dict
        ``{"ce_irm": (parameters, results), "ce_irm_maps": (parameters, results)}``; both
        results are ``{"error": ...}`` when the movie or the CV cannot give maps.
    """
    parameters = {"average_s": average_s, "min_snr": min_snr,
                  "footprint_diameter_um": footprint_diameter_um}
    try:
        scalars, arrays = _ce_irm(movie, trace, parameters)
    except AnalysisError as error:
        return {CE_IRM: (parameters, {"error": str(error)}),
                CE_IRM_MAPS: (parameters, {"error": str(error)})}
    return {CE_IRM: (parameters, scalars), CE_IRM_MAPS: (parameters, arrays)}


def _ce_irm(movie: SpotMovie, trace: Trace, parameters: dict) -> tuple[dict, dict]:
    if not movie.pixel_size_nm:
        raise AnalysisError("the movie has no pixel size (pixel_size_nm)")
    times_s = np.asarray(movie.times_s, dtype=np.float64)
    after = np.flatnonzero(times_s >= 0.0)
    if after.size < 2:
        raise AnalysisError(f"the movie ({times_s[0]:.3g}–{times_s[-1]:.3g} s) holds fewer "
                            "than 2 frames from the landing (t = 0) on")
    cycles, bounds = cycle_bounds_s(trace)
    processed = process_movie(movie.frames, times_s, pixel_size_nm=movie.pixel_size_nm,
                              landing_frame=int(after[0]),
                              expected_diameter_um=parameters["footprint_diameter_um"])
    group_times = processed.times_s + times_s[after[0]]  # back on the trace's clock
    # as core.analysis.ce_irm accepts: bounds up to one frame interval beyond the movie
    step = float(np.median(np.diff(group_times))) if group_times.size > 1 else 0.0
    inside = ((bounds[:, 0] >= group_times[0] - step)
              & (bounds[:, 2] <= group_times[-1] + step))
    if inside.sum() < 2:
        raise AnalysisError(
            f"{int(inside.sum())} of {len(cycles)} CV cycles lie within the movie's "
            f"{group_times[0]:.3g}–{group_times[-1]:.3g} s; the CE calibration needs 2")
    cycles = [cycle for cycle, keep in zip(cycles, inside, strict=True) if keep]
    bounds = bounds[inside]
    footprint = ia_ic_ratio(processed.mean_intensity, group_times, bounds,
                            average_s=parameters["average_s"])
    calibration = calibrate_ce(footprint.ratio, [cycle["ce"] for cycle in cycles])
    # per block of the raw crop (at most CE_MAP_MAX_SIDE a side): the processing's 1 µm
    # blur would hide inverted pixels, single pixels are too noisy to pass min_snr
    row0, row1, col0, col1 = processed.crop
    block_px = max(1, -(-max(row1 - row0, col1 - col0) // CE_MAP_MAX_SIDE))
    blocks = block_means(movie.frames, after[0], processed.crop, block_px)
    block_mask = block_means(processed.mask[np.newaxis], 0, (0, *processed.mask.shape[:1], 0,
                                                           processed.mask.shape[1]),
                             block_px)[0] >= 0.5
    maps = ia_ic_maps(blocks, times_s[after[0]:], bounds, mask=block_mask,
                      average_s=parameters["average_s"], min_snr=parameters["min_snr"])
    ce_maps = calibration.apply(maps.ratio)
    inside_mask = ce_maps[:, block_mask]
    per_cycle = [
        {"cycle": cycle["cycle"], "bounds_s": [round(float(b), 4) for b in bound],
         "ia_ic": float(ratio), "ce": cycle["ce"],
         "ce_irm_median": float(np.nanmedian(values)) if np.isfinite(values).any() else None,
         "masked_fraction": float(np.mean(~np.isfinite(values)))}
        for cycle, bound, ratio, values in zip(cycles, bounds, footprint.ratio, inside_mask,
                                               strict=True)
    ]
    scalars = {
        "calibration": {"slope": calibration.slope, "intercept": calibration.intercept,
                        "r2": calibration.r2, "n_cycles": calibration.n_cycles},
        "footprint": {"center_px": list(processed.footprint.center_px),
                      "radius_px": processed.footprint.radius_px,
                      "diameter_um": processed.footprint.diameter_um(movie.pixel_size_nm)},
        "crop": list(processed.crop),
        "cycles": per_cycle,
    }
    arrays = {"maps": {
        "cycles": [cycle["cycle"] for cycle in cycles], "block_px": block_px,
        "pixel_size_nm": float(movie.pixel_size_nm), "step": CE_MAP_STEP,
        "values": quantise(ce_maps, CE_MAP_STEP),
    }}
    return scalars, arrays


def block_means(frames, first: int, crop: tuple[int, int, int, int], block_px: int,
                *, chunk_frames: int = 64) -> np.ndarray:
    """(T − first, rows, cols) float32 means of ``block_px`` × ``block_px`` blocks of the
    ``crop`` (row0, row1, col0, col1) of ``frames[first:]``, read ``chunk_frames`` at a time;
    a ragged last row or column of blocks averages the pixels it has."""
    row0, row1, col0, col1 = crop
    n_rows, n_cols = -(-(row1 - row0) // block_px), -(-(col1 - col0) // block_px)
    n_frames = frames.shape[0] - first
    out = np.empty((n_frames, n_rows, n_cols), dtype=np.float32)
    pad = ((0, 0), (0, n_rows * block_px - (row1 - row0)), (0, n_cols * block_px - (col1 - col0)))
    count = np.pad(np.ones((row1 - row0, col1 - col0), np.float32), pad[1:])
    count = count.reshape(n_rows, block_px, n_cols, block_px).sum(axis=(1, 3))
    for start in range(0, n_frames, chunk_frames):
        stop = min(n_frames, start + chunk_frames)
        chunk = np.asarray(frames[first + start:first + stop, row0:row1, col0:col1],
                           dtype=np.float32)
        chunk = np.pad(chunk, pad)
        sums = chunk.reshape(stop - start, n_rows, block_px, n_cols, block_px).sum(axis=(2, 4))
        out[start:stop] = sums / count
    return out


def quantise(values: np.ndarray, step: float) -> list:
    """``values / step`` rounded to integers, as nested lists with None for NaN."""
    scaled = np.round(np.asarray(values, dtype=np.float64) / step)
    out = scaled.astype(object)
    finite = np.isfinite(scaled)
    out[finite] = scaled[finite].astype(np.int64)
    out[~finite] = None
    return out.tolist()
