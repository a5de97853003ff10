"""``python -m core simulate movie --current-density J --duration S ... --out FILE.ome.tif``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from core.cli.command import Command, CommandError
from core.cli.options import (
    add_plating_options,
    add_simulation_options,
    check_sample_count,
    positive_float,
)
from core.errors import MeniscusError

#: Largest movie the command simulates: the twin renders it in memory before writing, and
#: 2 GiB of 16-bit frames is already 35 min at 0.23 s of a 10 µm footprint at 40 nm/px.
MAX_SIMULATED_MOVIE_BYTES = 2 * 2**30
#: the movie twin's frame interval, s (for the size check)
TWIN_FRAME_INTERVAL_S = 0.23
#: suffix of the true t_nuc map written beside the movie
TNUC_TRUTH_SUFFIX = ".tnuc_truth.npy"

DESCRIPTION = """\
Simulate the in-situ IRM movie of one constant-current landing with the digital twin and write
it as an OME-TIFF that 'analyse movie' reads (frame times as plane DeltaT, pixel size in nm),
plus the ground truth (landing frame, footprint, t_nuc(IRM), α, particles, parameters, seed)
as FILE.truth.json and the true local nucleation times as FILE.tnuc_truth.npy (float32, the
frame's shape, s from landing, NaN outside the footprint). Prints the path.

The spot is the one 'simulate galvanostatic' makes with the same current density, duration,
footprint and seed: the movie's electrochemical t_nuc is that record's, so the two files can
be analysed together ('analyse movie FILE --trace SPOT.csv --current-density J').

examples:
  python -m core simulate movie --current-density 0.78 --duration 6 --seed 1 --out spot.ome.tif
  python -m core simulate movie --current-density 0.2 --duration 25 --footprint-um 6 \\
      --pixel-size-nm 80 --inverted 0.1 --out data/low_j.ome.tif
"""


def fraction_below_one(text: str) -> float:
    """Option type: a fraction from 0 to below 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction (0 to below 1)") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to below 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_plating_options(parser, duration_help="length of the galvanostatic step, s from landing")
    parser.add_argument(
        "--pixel-size-nm",
        type=positive_float("nm"),
        default=40.0,
        metavar="N",
        dest="pixel_size_nm",
        help="pixel size in the sample plane, nm (default 40)",
    )
    parser.add_argument(
        "--inverted",
        type=fraction_below_one,
        default=0.0,
        metavar="F",
        dest="inverted_fraction",
        help="fraction of the footprint with inverted (dark) contrast, 0 to below 1 (default 0)",
    )
    add_simulation_options(
        parser,
        footprint_um=10.0,
        out_help="OME-TIFF to write (e.g. spot.ome.tif), plus FILE.truth.json and "
        "FILE.tnuc_truth.npy",
    )


def draw_seed() -> int:
    """A fresh seed, to be recorded in the truth so the record can be made again."""
    import numpy as np

    return int(np.random.SeedSequence().entropy % 2**63)


def make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{path}: cannot create its folder: {exc.strerror or exc}") from exc


def write_with_sidecars(
    sidecars: list[tuple[Path, Callable[[], Path]]], write_main: Callable[[], Path]
) -> Path:
    """Write the sidecars, then the main file; if any write fails, remove what was written.

    Each writer is atomic, so no half-written file can be left; removing the sidecars on a
    later failure leaves no truth describing a file that does not exist.
    """
    written: list[Path] = []
    try:
        for sidecar, write in sidecars:
            write()
            written.append(sidecar)
        return write_main()
    except BaseException:
        for sidecar in written:
            sidecar.unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the simulators pull in scipy, slow for `--help`.
    from core.io.image_writers import write_npy, write_ome_tiff, write_truth
    from core.io.traces import truth_path
    from core.simulate.galvanostatic import simulate_galvanostatic
    from core.simulate.irm_scene import default_shape
    from core.simulate.movie import simulate_irm_movie

    j, duration_s = args.current_density_mA_cm2, args.duration_s
    rows, cols = default_shape(args.footprint_diameter_um, args.pixel_size_nm)
    n_frames = 8 + int(duration_s / TWIN_FRAME_INTERVAL_S)  # + pre-landing frames, margin
    size = n_frames * rows * cols * 2
    if size > MAX_SIMULATED_MOVIE_BYTES:
        args.parser.error(
            f"--duration {duration_s:g} s of {cols} × {rows} px frames (--footprint-um "
            f"{args.footprint_diameter_um:g} at --pixel-size-nm {args.pixel_size_nm:g}) is "
            f"{size / 2**30:.3g} GiB of 16-bit frames; at most "
            f"{MAX_SIMULATED_MOVIE_BYTES / 2**30:g} GiB"
        )
    check_sample_count(args.parser, duration_s, "--duration")  # the E–t twin's record
    seed = draw_seed() if args.seed is None else args.seed
    try:
        # the E–t twin of the same spot fixes its nucleation time (see the description)
        spot = simulate_galvanostatic(
            j, duration_s, footprint_diameter_um=args.footprint_diameter_um, seed=seed
        )
        simulated = simulate_irm_movie(
            current_density_mA_cm2=j,
            duration_s=duration_s,
            footprint_diameter_um=args.footprint_diameter_um,
            pixel_size_nm=args.pixel_size_nm,
            inverted_fraction=args.inverted_fraction,
            seed=seed,
            t_nuc_s=spot.truth["spot_t_nuc_s"],
        )
    except (MeniscusError, ValueError) as exc:
        raise CommandError(f"cannot simulate: {exc}") from exc

    path = args.out
    tnuc_path = path.with_name(path.name + TNUC_TRUTH_SUFFIX)
    truth = {
        **simulated.truth,
        "t_nuc_source": "spot_t_nuc_s of simulate galvanostatic with the same j, duration, "
        "footprint and seed",
        "t_nuc_map_file": tnuc_path.name,
    }
    make_folder(path)
    write_with_sidecars(
        [
            (tnuc_path, lambda: write_npy(tnuc_path, simulated.t_nuc_map_s)),
            (truth_path(path), lambda: write_truth(path, truth)),
        ],
        lambda: write_ome_tiff(
            path,
            simulated.frames,
            simulated.times_s,
            pixel_size_nm=simulated.pixel_size_nm,
            metadata={"SignificantBits": simulated.truth["bit_depth"]},
        ),
    )
    print(path)
    return 0


COMMAND = Command(
    path=("simulate", "movie"),
    help="simulate the IRM movie of a constant-current landing (+ ground truth)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
