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
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
from sqlalchemy import select

from core.analysis.irm_movie import analyse_irm_movie
from core.errors import AnalysisError
from core.results.metrics import GALVANOSTATIC, IRM, IRM_MAPS
from core.results.record import UnknownSpot, record_analysis
from core.storage.db import session_scope
from core.storage.models import Analysis, Measurement, Spot
from core.storage.spot_files import SpotMovie, read_spot_file
from core.traces import Trace

#: side of the t_nuc(IRM) map's blocks, nm (the article's 14 px at 40 nm/px)
T_NUC_MAP_BLOCK_NM = 560.0


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


def analyse_spot_movie(url: str, data_dir: str | Path, spot_id: int) -> dict[str, int]:
    """Analyse the movie of a measured galvanostatic spot and store ``irm`` and ``irm_maps``.

    Uses the latest stored galvanostatic t_nuc (None if not analysed yet or not nucleated).
    Returns kind → stored version; empty for a spot without a movie or without data.
    """
    with session_scope(url) as session:
        spot = session.get(Spot, spot_id)
        if spot is None:
            raise UnknownSpot(f"spot {spot_id} does not exist")
        path = session.scalar(select(Measurement.path).where(Measurement.spot_id == spot_id))
        grid = spot.run.grid or {}
        footprint_um = grid.get("footprint_diameter_um") or grid.get("pipette_diameter_um")
        galvanostatic = session.scalar(
            select(Analysis.results)
            .where(Analysis.spot_id == spot_id, Analysis.kind == GALVANOSTATIC)
            .order_by(Analysis.version.desc()).limit(1))
        is_galvanostatic = spot.technique.get("technique") == "galvanostatic"
    if path is None or not is_galvanostatic:
        return {}
    record = read_spot_file(Path(data_dir) / path)
    if record.movie is None or len(record.movie.times_s) < 2:
        return {}
    t_nuc_s = (galvanostatic or {}).get("t_nuc_s")
    analyses = analyse_movie(record.movie, t_nuc_echem_s=t_nuc_s,
                             footprint_diameter_um=footprint_um, trace=record.trace)
    return {kind: record_analysis(url, spot_id, kind, parameters=parameters, results=results)
            for kind, (parameters, results) in analyses.items()}


def _options(function, **given) -> dict:
    """Every keyword-only option of ``function``: its default, or the value given."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is not inspect.Parameter.empty
    }
    return {**defaults, **given}
