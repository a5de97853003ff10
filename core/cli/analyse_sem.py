"""``python -m core analyse sem FILE [--footprint-circle X,Y,R] [--overlay OUT.png] [--json]``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from core.cli.analyse_movie import check_output_folder
from core.cli.command import Command, CommandError
from core.cli.formatting import MISSING, fixed, print_report, table
from core.cli.options import add_json_flag, positive_float
from core.errors import AnalysisError

DESCRIPTION = """\
Count and size the Li particles of one SECCM footprint in an SEM image: particle count, areal
density, mean and sd of the equivalent diameters, for the whole footprint, its edge ring (outer
20 % of the radius) and its centre. Particles over 0.1 µm² are excluded (not Li nanoparticles).
The footprint is detected unless --footprint-circle gives it.

Images: TIFF from FEI/Thermo (pixel size from its metadata, data bar removed), Zeiss SmartSEM,
or any TIFF with a resolution in pixels per cm or inch; --pixel-size-nm overrides them.

examples:
  python -m core analyse sem footprint.tif
  python -m core analyse sem footprint.tif --footprint-circle 6.1,6.0,5 --overlay qa.png --json
  python -m core analyse sem dark_particles.tif --pixel-size-nm 4.88 --polarity dark
"""


def footprint_circle(text: str) -> tuple[float, float, float]:
    """Option type: ``X_UM,Y_UM,R_UM``, three finite numbers of µm with R above 0."""
    parts = text.split(",")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not X_UM,Y_UM,R_UM (three numbers of µm, e.g. 6.1,6.0,5)"
        )
    if not values[2] > 0:
        raise argparse.ArgumentTypeError(f"radius must be above 0 µm, got {parts[2].strip()}")
    return values


footprint_circle.__name__ = "X_UM,Y_UM,R_UM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="SEM image (TIFF)")
    parser.add_argument(
        "--pixel-size-nm",
        type=positive_float("nm"),
        metavar="N",
        dest="pixel_size_nm",
        help="pixel size, nm (overrides the file's calibration)",
    )
    parser.add_argument(
        "--footprint-circle",
        type=footprint_circle,
        metavar="X_UM,Y_UM,R_UM",
        dest="footprint_circle",
        help="footprint centre and radius, µm, x along columns and y along rows from the "
        "centre of the top-left pixel (default: detected)",
    )
    parser.add_argument(
        "--polarity",
        choices=("bright", "dark"),
        default="bright",
        help="particles brighter (secondary electrons, default) or darker than the film",
    )
    parser.add_argument(
        "--overlay",
        type=Path,
        metavar="OUT.png",
        help="write a QA picture: counted particles outlined in green, excluded in red, the "
        "footprint in yellow, the edge/centre border in cyan",
    )
    add_json_flag(parser)


def analyse_file(args: argparse.Namespace):
    """Read and analyse the image of ``args``; return (report, image, result)."""
    # Imported here, not at the top, and the analysis only once the image is read: scipy and
    # scikit-image are slow to import, and `--help` and a bad file should answer at once.
    from core.io.sem_images import read_sem_image

    path = args.file
    sem = read_sem_image(path, pixel_size_nm=args.pixel_size_nm)
    if sem.pixel_size_nm is None:
        raise CommandError(f"{path}: the file records no pixel size; give it with --pixel-size-nm")
    from core.analysis.sem import Circle, analyse_sem

    try:
        footprint = None if args.footprint_circle is None else Circle(*args.footprint_circle)
        result = analyse_sem(
            sem.image, pixel_size_nm=sem.pixel_size_nm, footprint=footprint, polarity=args.polarity
        )
    except AnalysisError as exc:
        raise CommandError(f"{path}: cannot analyse: {exc}") from exc
    rows, cols = sem.image.shape
    report = {
        "file": str(path),
        "analysis": "sem",
        "shape": [rows, cols],
        "pixel_size_nm": sem.pixel_size_nm,
        "pixel_size_source": sem.pixel_size_source,
        **result.to_dict(),
        "overlay": None if args.overlay is None else str(args.overlay),
    }
    return report, sem.image, result


def format_report(report: dict) -> str:
    """The human-readable form of the report."""
    rows, cols = report["shape"]
    circle = report["footprint"]
    how = "detected" if circle["detected"] else "given"
    title = (
        f"{report['file']}: SEM, {cols} × {rows} px of {report['pixel_size_nm']:.4g} nm "
        f"({report['pixel_size_source']}); footprint {how} at x {circle['x_um']:.2f}, "
        f"y {circle['y_um']:.2f} µm, r {circle['r_um']:.2f} µm"
    )
    ring = report["parameters"]["ring_fraction"]
    regions = (
        ("footprint", report),
        (f"edge (outer {100 * ring:.0f} %)", report["edge"]),
        ("centre", report["centre"]),
    )
    body = [
        [
            name,
            str(region["count"]),
            _sci(region["density_per_cm2"]),
            fixed(region["mean_diameter_nm"], 1),
            fixed(region["sd_diameter_nm"], 1),
            fixed(region.get("area_um2", region.get("footprint_area_um2")), 2),
        ]
        for name, region in regions
    ]
    headers = ("region", "count", "density (/cm²)", "mean d (nm)", "sd d (nm)", "area (µm²)")
    lines = [title, table(headers, body)]
    excluded = report["excluded"]
    lines.append(
        f"  excluded: {excluded['large']} over 0.1 µm², {excluded['outside_footprint']} "
        f"outside the footprint, {excluded['specks']} specks"
    )
    if report["overlay"] is not None:
        lines.append(f"overlay written to {report['overlay']}")
    return "\n".join(lines)


def _sci(value: float | None) -> str:
    return MISSING if value is None or not math.isfinite(value) else f"{value:.3g}"


def run(args: argparse.Namespace) -> int:
    check_output_folder(args.overlay, "--overlay")
    report, image, result = analyse_file(args)
    if args.overlay is not None:
        # drawn and written only now, after the analysis succeeded, and atomically
        from core.analysis.sem import overlay_rgb
        from core.io.image_writers import write_png

        picture = overlay_rgb(
            image,
            result.labels,
            footprint=result.footprint,
            pixel_size_nm=result.pixel_size_nm,
            counted_labels=result.counted_labels,
            ring_fraction=result.parameters["ring_fraction"],
        )
        write_png(args.overlay, picture)
    return print_report(report, format_report, as_json=args.json)


COMMAND = Command(
    path=("analyse", "sem"),
    help="particle count, density and sizes (whole, edge, centre) in an SEM image",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
