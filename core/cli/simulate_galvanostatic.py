"""``python -m core simulate galvanostatic --current-density J --duration S ... --out FILE``."""

from __future__ import annotations

import argparse

from core.cli.command import Command, CommandError
from core.cli.options import (
    add_plating_options,
    add_simulation_options,
    check_sample_count,
    non_negative_float,
)
from core.cli.simulated_files import write_simulation
from core.errors import MeniscusError

DESCRIPTION = """\
Simulate one constant-current landing with the digital twin (the article's Li-on-Au physics)
and write the E–t record as a trace file that 'analyse galvanostatic' reads, plus the ground
truth (E_nuc, t_nuc, Q_nuc, E_growth, parameters, seed) as FILE.truth.json. Prints the path.

examples:
  python -m core simulate galvanostatic --current-density 0.78 --duration 15 --out spot.csv
  python -m core simulate galvanostatic --current-density 0.2 --duration 60 \\
      --footprint-um 10 --seed 1 --noise-mv 0.5 --out data/low_j.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_plating_options(parser, duration_help="length of the record, s")
    parser.add_argument(
        "--noise-mv",
        type=non_negative_float("mV"),
        default=None,
        metavar="X",
        dest="noise_mV",
        help="potential noise, mV (1 sd; default: the instrument's 2 mV; 0 for none)",
    )
    add_simulation_options(parser, footprint_um=6.0)


def run(args: argparse.Namespace) -> int:
    check_sample_count(args.parser, args.duration_s, "--duration")
    # Imported here, not at the top: the simulators pull in scipy, slow for `--help`.
    from core.simulate.galvanostatic import simulate_galvanostatic

    try:
        simulated = simulate_galvanostatic(
            args.current_density_mA_cm2,
            args.duration_s,
            footprint_diameter_um=args.footprint_diameter_um,
            seed=args.seed,
            noise_V=None if args.noise_mV is None else args.noise_mV * 1e-3,
        )
    except (MeniscusError, ValueError) as exc:
        raise CommandError(f"cannot simulate: {exc}") from exc
    print(write_simulation(args.out, simulated))
    return 0


COMMAND = Command(
    path=("simulate", "galvanostatic"),
    help="simulate a constant-current E–t record (+ ground truth)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
