"""Option types and options shared by several commands; each check names the value and unit."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from core.simulate.physics import ARTICLE_PHYSICS

#: Largest record a ``simulate`` command writes: 1e7 samples is 7 h at the FPGA's 2.57 ms and
#: a ~600 MB text file; anything longer is almost certainly a typo in the duration.
MAX_SIMULATED_SAMPLES = 10_000_000


def _number(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of {unit}")
    return value


def finite_float(unit: str) -> Callable[[str], float]:
    """Option type: any finite number of ``unit``."""

    def parse(text: str) -> float:
        return _number(text, unit)

    parse.__name__ = f"number of {unit}"
    return parse


def positive_float(unit: str) -> Callable[[str], float]:
    """Option type: a finite number of ``unit`` above 0."""

    def parse(text: str) -> float:
        value = _number(text, unit)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0 {unit}, got {text}")
        return value

    parse.__name__ = f"positive number of {unit}"
    return parse


def non_negative_float(unit: str) -> Callable[[str], float]:
    """Option type: a finite number of ``unit``, 0 or more."""

    def parse(text: str) -> float:
        value = _number(text, unit)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 {unit} or more, got {text}")
        return value

    parse.__name__ = f"number of {unit} ≥ 0"
    return parse


def whole_number(minimum: int) -> Callable[[str], int]:
    """Option type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    parse.__name__ = f"whole number ≥ {minimum}"
    return parse


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print exactly one JSON object on stdout (null where a value does not exist)",
    )


TRACE_OUT_HELP = "trace file to write (time_s,potential_V,current_A CSV) plus FILE.truth.json"


def add_plating_options(parser: argparse.ArgumentParser, *, duration_help: str) -> None:
    """``--current-density`` (mA/cm²) and ``--duration`` (s) of a galvanostatic step."""
    parser.add_argument(
        "--current-density",
        type=positive_float("mA/cm²"),
        required=True,
        metavar="MA_CM2",
        dest="current_density_mA_cm2",
        help="plating current density (magnitude), mA/cm²",
    )
    parser.add_argument(
        "--duration",
        type=positive_float("s"),
        required=True,
        metavar="S",
        dest="duration_s",
        help=duration_help,
    )


def add_simulation_options(
    parser: argparse.ArgumentParser, *, footprint_um: float, out_help: str = TRACE_OUT_HELP
) -> None:
    """``--footprint-um``, ``--seed`` and ``--out``, shared by the simulate commands."""
    parser.add_argument(
        "--footprint-um",
        type=positive_float("µm"),
        default=footprint_um,
        metavar="D",
        dest="footprint_diameter_um",
        help=f"footprint (wetted disc) diameter, µm (default {footprint_um:g})",
    )
    parser.add_argument(
        "--seed",
        type=whole_number(0),
        default=None,
        metavar="N",
        help="random seed, for a reproducible record (default: drawn, and stored in the truth)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help=out_help,
    )


def check_sample_count(parser: argparse.ArgumentParser, duration_s: float, what: str) -> None:
    """Stop with a usage error when a record of ``duration_s`` would be unreasonably long."""
    samples = duration_s / ARTICLE_PHYSICS.sample_interval_s
    if samples > MAX_SIMULATED_SAMPLES:
        limit_s = MAX_SIMULATED_SAMPLES * ARTICLE_PHYSICS.sample_interval_s
        parser.error(
            f"{what}: {duration_s:g} s of record is {samples:.3g} samples at "
            f"{ARTICLE_PHYSICS.sample_interval_s * 1e3:g} ms; at most {limit_s:g} s "
            f"({MAX_SIMULATED_SAMPLES:.0e} samples)"
        )
