"""``python -m core simulate cv [--cycles N] [--upper V] [--lower V] ... --out FILE``."""

from __future__ import annotations

import argparse

from core.cli.command import Command, CommandError
from core.cli.options import (
    add_simulation_options,
    check_sample_count,
    finite_float,
    positive_float,
    whole_number,
)
from core.cli.simulated_files import write_simulation
from core.errors import MeniscusError

DESCRIPTION = """\
Simulate a multi-cycle cyclic voltammogram of Li plating/stripping at one spot with the
digital twin and write it as a trace file that 'analyse cv' reads, plus the ground truth
(per-cycle Q_c, Q_a, CE, parameters, seed) as FILE.truth.json. The sweep starts at the upper
vertex going cathodic. Prints the path.

examples:
  python -m core simulate cv --out cv.csv
  python -m core simulate cv --cycles 3 --lower -0.3 --scan-rate 0.05 --seed 2 --out cv3.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cycles", type=whole_number(1), default=10, metavar="N", help="cycles (default 10)"
    )
    parser.add_argument(
        "--upper",
        type=finite_float("V"),
        default=1.47,
        metavar="V",
        dest="upper_V",
        help="upper vertex, V vs Li/Li+ (default 1.47)",
    )
    parser.add_argument(
        "--lower",
        type=finite_float("V"),
        default=-0.27,
        metavar="V",
        dest="lower_V",
        help="lower vertex, V vs Li/Li+; below the plating onset, -0.13 V (default -0.27)",
    )
    parser.add_argument(
        "--scan-rate",
        type=positive_float("V/s"),
        default=0.1,
        metavar="V_S",
        dest="scan_rate_V_s",
        help="scan rate, V/s (default 0.1)",
    )
    add_simulation_options(parser, footprint_um=10.0)


def run(args: argparse.Namespace) -> int:
    if not args.upper_V > args.lower_V:
        args.parser.error(f"--upper {args.upper_V:g} V must be above --lower {args.lower_V:g} V")
    duration_s = 2 * args.cycles * (args.upper_V - args.lower_V) / args.scan_rate_V_s
    what = f"--cycles {args.cycles} at --scan-rate {args.scan_rate_V_s:g} V/s"
    check_sample_count(args.parser, duration_s, what)
    # Imported here, not at the top: the simulators pull in scipy, slow for `--help`.
    from core.simulate.cv import simulate_cv

    try:
        simulated = simulate_cv(
            cycles=args.cycles,
            upper_V=args.upper_V,
            lower_V=args.lower_V,
            scan_rate_V_s=args.scan_rate_V_s,
            footprint_diameter_um=args.footprint_diameter_um,
            seed=args.seed,
        )
    except (MeniscusError, ValueError) as exc:
        raise CommandError(f"cannot simulate: {exc}") from exc
    print(write_simulation(args.out, simulated))
    return 0


COMMAND = Command(
    path=("simulate", "cv"),
    help="simulate a multi-cycle CV of Li plating/stripping (+ ground truth)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
