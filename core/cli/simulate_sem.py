"""``python -m core simulate sem --current-density J --duration S ... --out FILE.tif``."""

from __future__ import annotations

import argparse

from core.cli.command import Command, CommandError
from core.cli.options import (
    add_plating_options,
    add_simulation_options,
    positive_float,
    whole_number,
)
from core.cli.simulate_movie import draw_seed, make_folder, write_with_sidecars
from core.errors import MeniscusError

#: Largest image side the command simulates: the twin holds several float32 canvases of the
#: image, about 1.3 GB at 8192².
MAX_SIZE_PX = 8192

DESCRIPTION = """\
Simulate the ex-situ SEM image of the footprint left by one constant-current landing with the
digital twin (particles from the same physics as the E–t and movie twins) and write it as an
8-bit TIFF whose resolution tags give the pixel size, which 'analyse sem' reads, plus the
ground truth (every particle, count, density, mean and sd diameter, edge and centre, Li,
faradaic efficiency, footprint, seed) as FILE.truth.json. Prints the path.

examples:
  python -m core simulate sem --current-density 0.78 --duration 15 --out footprint.tif
  python -m core simulate sem --current-density 3.82 --duration 3 --footprint-um 4 \\
      --size 1024 --seed 2 --out data/high_j.tif
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_plating_options(parser, duration_help="plating time, s")
    parser.add_argument(
        "--pixel-size-nm",
        type=positive_float("nm"),
        default=None,
        metavar="N",
        dest="pixel_size_nm",
        help="pixel size, nm (default: the image spans 1.25 footprint diameters)",
    )
    parser.add_argument(
        "--size",
        type=whole_number(64),
        default=2048,
        metavar="PX",
        dest="size_px",
        help=f"image side, pixels (square; default 2048, at most {MAX_SIZE_PX})",
    )
    add_simulation_options(
        parser,
        footprint_um=10.0,
        out_help="TIFF to write (e.g. footprint.tif), plus FILE.truth.json",
    )


def run(args: argparse.Namespace) -> int:
    if args.size_px > MAX_SIZE_PX:
        args.parser.error(f"argument --size: at most {MAX_SIZE_PX} px, got {args.size_px}")
    # Imported here, not at the top: the simulators pull in scipy, slow for `--help`.
    from core.io.image_writers import write_sem_tiff, write_truth
    from core.io.traces import truth_path
    from core.simulate.sem import simulate_sem

    seed = draw_seed() if args.seed is None else args.seed
    try:
        simulated = simulate_sem(
            current_density_mA_cm2=args.current_density_mA_cm2,
            duration_s=args.duration_s,
            footprint_diameter_um=args.footprint_diameter_um,
            pixel_size_nm=args.pixel_size_nm,
            shape=(args.size_px, args.size_px),
            seed=seed,
        )
    except (MeniscusError, ValueError) as exc:
        raise CommandError(f"cannot simulate: {exc}") from exc
    path = args.out
    make_folder(path)
    write_with_sidecars(
        [(truth_path(path), lambda: write_truth(path, simulated.truth))],
        lambda: write_sem_tiff(path, simulated.image, pixel_size_nm=simulated.pixel_size_nm),
    )
    print(path)
    return 0


COMMAND = Command(
    path=("simulate", "sem"),
    help="simulate the SEM image of a footprint's Li particles (+ ground truth)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
