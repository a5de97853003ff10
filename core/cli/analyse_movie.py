"""``python -m core analyse movie FILE [--trace FILE --current-density J] [--tnuc-map OUT.npy]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.command import Command, CommandError
from core.cli.formatting import MISSING, fixed, print_report, table
from core.cli.options import add_json_flag, positive_float, whole_number
from core.errors import AnalysisError

#: side of the t_nuc(IRM) map's blocks by default, nm: the article's 14 px at 40 nm/px
DEFAULT_BLOCK_NM = 560.0

DESCRIPTION = """\
Analyse the IRM movie of one galvanostatic landing: the landing frame (first frame showing
the contact step, t = 0), the footprint, the optical nucleation time t_nuc(IRM) (peak of dI/dt
of the footprint's raw mean intensity) and a t_nuc(IRM) map. With the spot's E–t record
(--trace, analysed as 'analyse galvanostatic' does) the searches end at the electrochemical
t_nuc, and the processed intensity is fitted against the plated charge (I = α·V_M·Q/F).

Movies: multi-page TIFF, OME-TIFF, Micro-Manager, ImageJ or AVI. Frame times come from
--frame-times (a frame,time_s CSV), else the file's metadata, else a nominal 0.23 s; the pixel
size from --pixel-size-nm, else the file's calibration.

examples:
  python -m core analyse movie spot.ome.tif
  python -m core analyse movie spot.ome.tif --trace spot.csv --current-density 0.78 --json
  python -m core analyse movie camera.tif --frame-times times.csv --pixel-size-nm 40 \\
      --block-px 1 --tnuc-map tnuc.npy
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="movie file (TIFF, OME-TIFF, Micro-Manager, AVI)")
    parser.add_argument(
        "--frame-times",
        type=Path,
        metavar="CSV",
        dest="frame_times",
        help="frame,time_s CSV with every frame's time (overrides the file's times)",
    )
    parser.add_argument(
        "--pixel-size-nm",
        type=positive_float("nm"),
        metavar="N",
        dest="pixel_size_nm",
        help="pixel size in the sample plane, nm (overrides the file's calibration)",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        metavar="FILE",
        help="the spot's E–t record (trace file, time from contact); needs --current-density",
    )
    parser.add_argument(
        "--current-density",
        type=positive_float("mA/cm²"),
        metavar="MA_CM2",
        dest="current_density_mA_cm2",
        help="applied plating current density of --trace (magnitude), mA/cm²",
    )
    parser.add_argument(
        "--footprint-um",
        type=positive_float("µm"),
        metavar="D",
        dest="footprint_diameter_um",
        help="expected footprint diameter, µm (picks the footprint among other regions)",
    )
    parser.add_argument(
        "--block-px",
        type=whole_number(1),
        metavar="N",
        dest="block_px",
        help=f"t_nuc(IRM) map blocks of N × N px; 1 for per pixel (default: ≈ "
        f"{DEFAULT_BLOCK_NM:g} nm, the article's 14 px at 40 nm/px)",
    )
    parser.add_argument(
        "--tnuc-map",
        type=Path,
        metavar="OUT.npy",
        dest="tnuc_map",
        help="write the t_nuc(IRM) map: float32, the frame's shape, s from landing, NaN "
        "outside the footprint and where no rise was found",
    )
    add_json_flag(parser)


def check_output_folder(path: Path | None, option: str) -> None:
    """Fail before the analysis when an output file could not be written afterwards."""
    if path is None:
        return
    if path.is_dir():
        raise CommandError(f"{path}: {option} is a folder; give a file name")
    if not path.parent.is_dir():
        raise CommandError(
            f"{path}: cannot write {option}: folder {str(path.parent)!r} does not exist"
        )


def analyse_trace(path: Path, current_density_mA_cm2: float):
    """The spot's E–t record and its galvanostatic features."""
    from core.analysis.galvanostatic import analyse_galvanostatic
    from core.io.traces import read_trace

    trace = read_trace(path, require_current=False)
    try:
        features = analyse_galvanostatic(
            trace.time_s, trace.potential_V, current_density_mA_cm2=current_density_mA_cm2
        )
    except AnalysisError as exc:
        raise CommandError(f"{path}: cannot analyse: {exc}") from exc
    return trace, features


def analyse_file(args: argparse.Namespace):
    """Open and analyse the movie of ``args``; return (report, analysis)."""
    # Imported here, not at the top, and the analysis only once the movie opened: scipy is
    # slow to import, and `--help` and a bad file should answer at once.
    import numpy as np

    from core.io.movies import open_movie

    path = args.file
    with open_movie(
        path, frame_times_csv=args.frame_times, pixel_size_nm=args.pixel_size_nm
    ) as movie:
        if movie.pixel_size_nm is None:
            raise CommandError(
                f"{path}: the file records no pixel size; give it with --pixel-size-nm"
            )
        from core.analysis.irm_movie import analyse_irm_movie

        trace = features = None
        if args.trace is not None:
            trace, features = analyse_trace(args.trace, args.current_density_mA_cm2)
        # the current gives α; a potential-only record gives t_nuc but no charge
        has_current = trace is not None and bool(np.all(np.isfinite(trace.current_A)))
        block_px = args.block_px or max(1, round(DEFAULT_BLOCK_NM / movie.pixel_size_nm))
        try:
            analysis = analyse_irm_movie(
                movie,
                movie.times_s,
                pixel_size_nm=movie.pixel_size_nm,
                t_nuc_echem_s=None if features is None else features.t_nuc_s,
                expected_diameter_um=args.footprint_diameter_um,
                block_px=block_px,
                trace_time_s=trace.time_s if has_current else None,
                trace_current_A=trace.current_A if has_current else None,
            )
        except AnalysisError as exc:
            raise CommandError(f"{path}: cannot analyse: {exc}") from exc
        report = {
            "file": str(path),
            "analysis": "movie",
            **analysis.to_dict(),
            "shape": list(movie.shape),
            "duration_s": float(movie.times_s[-1]),
            "time_source": movie.time_source,
            "time_detail": movie.time_detail,
            "pixel_size_source": movie.pixel_size_source,
            "footprint_diameter_um": analysis.footprint.diameter_um(analysis.pixel_size_nm),
            "t_nuc_map": {**analysis.map_summary(), "file": _str_or_none(args.tnuc_map)},
            "trace": None,
            "alpha": analysis.alpha_dict(),
        }
    if features is not None:
        report["trace"] = {
            "file": str(args.trace),
            "current_density_mA_cm2": args.current_density_mA_cm2,
            "current_recorded": has_current,
            **features.to_dict(),
        }
    return report, analysis


def _str_or_none(path: Path | None) -> str | None:
    return None if path is None else str(path)


def format_report(report: dict) -> str:
    """The human-readable form of the report."""
    frames, rows, cols = report["shape"]
    x, y = report["footprint"]["center_px"]
    title = (
        f"{report['file']}: IRM movie, {frames} frames of {cols} × {rows} px over "
        f"{report['duration_s']:.2f} s"
    )
    t_map = report["t_nuc_map"]
    rows_out = [
        ("landing frame", str(report["landing_frame"]), ""),
        ("t_nuc(IRM)", fixed(report["t_nuc_irm_s"], 3), "s from landing"),
        ("footprint centre", f"{x:.1f}, {y:.1f}", "px (x, y)"),
        ("footprint diameter", fixed(report["footprint_diameter_um"], 2), "µm"),
        ("frames", str(report["frames"]), ""),
        ("pixel size", f"{report['pixel_size_nm']:g}", f"nm ({report['pixel_size_source']})"),
        ("time source", report["time_source"], report["time_detail"]),
        (
            f"t_nuc map ({t_map['block_px']} px blocks)",
            fixed(t_map["median_s"], 3),
            f"s median, {100 * t_map['valid_fraction']:.0f} % of the footprint",
        ),
    ]
    trace = report["trace"]
    if trace is not None:
        rows_out.append(("t_nuc(echem)", fixed(trace["t_nuc_s"], 3), "s (the searches end here)"))
        alpha = report["alpha"]
        if alpha is None:
            rows_out.append(("α", MISSING, "the record has no current"))
        else:
            rows_out.append(
                ("α", f"{alpha['alpha_per_um3']:.4g}", f"counts/µm³ (r² {alpha['r2']:.3f})")
            )
    lines = [title, table(("quantity", "value", "unit"), rows_out, align="lrl")]
    if t_map["file"] is not None:
        lines.append(f"t_nuc(IRM) map written to {t_map['file']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.trace is not None and args.current_density_mA_cm2 is None:
        args.parser.error("--trace needs --current-density (the applied mA/cm² of that record)")
    if args.trace is None and args.current_density_mA_cm2 is not None:
        args.parser.error("--current-density applies to --trace; give the record too")
    check_output_folder(args.tnuc_map, "--tnuc-map")
    report, analysis = analyse_file(args)
    if args.tnuc_map is not None:
        # written only now, after everything succeeded, and atomically
        from core.io.image_writers import write_npy

        write_npy(args.tnuc_map, analysis.t_nuc_map)
    return print_report(report, format_report, as_json=args.json)


COMMAND = Command(
    path=("analyse", "movie"),
    help="landing, footprint, t_nuc(IRM) and its map of an IRM movie (+ α with the E–t record)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
