"""``python -m core analyse cv FILE [--cathodic-positive] [--json]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.command import Command, CommandError
from core.cli.formatting import fixed, print_report, si_prefix, table
from core.cli.options import add_json_flag
from core.errors import AnalysisError
from core.io.traces import read_trace

DESCRIPTION = """\
Split a cyclic voltammogram into its complete cycles and integrate the current of each: the
cathodic charge Q_c, the anodic charge Q_a and the Coulombic efficiency CE = Q_a/Q_c. The file
needs time, potential and current columns.

examples:
  python -m core analyse cv cv.csv
  python -m core analyse cv ec_lab_export.mpt --cathodic-positive --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="trace file (CSV/TSV, see 'python -m core -h')")
    parser.add_argument(
        "--cathodic-positive",
        action="store_true",
        help="the instrument records reduction (plating) current as positive "
        "(default: negative, as Meniscus and IUPAC do)",
    )
    add_json_flag(parser)


def analyse_file(path: Path, *, cathodic_current_negative: bool = True) -> dict:
    """Read ``path`` and return the report printed by the command (plain JSON types)."""
    trace = read_trace(path)
    # Imported here, not at the top: scipy is slow to import, and `--help` and a bad file
    # should answer at once.
    from core.analysis.cv import analyse_cv

    try:
        result = analyse_cv(
            trace.time_s,
            trace.potential_V,
            trace.current_A,
            cathodic_current_negative=cathodic_current_negative,
        )
    except AnalysisError as exc:
        raise CommandError(f"{path}: cannot analyse: {exc}") from exc
    return {
        "file": str(path),
        "analysis": "cv",
        "cathodic_current_negative": cathodic_current_negative,
        "samples": len(trace),
        "duration_s": float(trace.time_s[-1] - trace.time_s[0]),
        **result.to_dict(),
    }


def cycle_table(cycles: list[dict], extra: dict[str, list[str]] | None = None) -> str:
    """Per-cycle Q_c, Q_a (scaled to a readable unit) and CE, plus ``extra`` columns."""
    scale, unit = si_prefix([c["q_c_C"] for c in cycles] + [c["q_a_C"] for c in cycles], "C")
    headers = ["cycle", f"Q_c ({unit})", f"Q_a ({unit})", "CE", *(extra or {})]
    rows = []
    for k, cycle in enumerate(cycles):
        rows.append(
            [
                str(cycle["cycle"]),
                fixed(_scaled(cycle["q_c_C"], scale), 3),
                fixed(_scaled(cycle["q_a_C"], scale), 3),
                fixed(cycle["ce"], 3),
                *(values[k] for values in (extra or {}).values()),
            ]
        )
    return table(headers, rows)


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value / scale


def format_report(report: dict) -> str:
    """The human-readable form of :func:`analyse_file`'s report."""
    sign = "negative" if report["cathodic_current_negative"] else "positive"
    title = (
        f"{report['file']}: cyclic voltammetry, {len(report['cycles'])} complete cycles in "
        f"{report['duration_s']:.1f} s (cathodic current {sign})"
    )
    return title + "\n" + cycle_table(report["cycles"])


def run(args: argparse.Namespace) -> int:
    report = analyse_file(args.file, cathodic_current_negative=not args.cathodic_positive)
    return print_report(report, format_report, as_json=args.json)


COMMAND = Command(
    path=("analyse", "cv"),
    help="cathodic/anodic charge and Coulombic efficiency of every CV cycle",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
