"""``python -m core analyse galvanostatic FILE --current-density MA_CM2 [--json]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.command import Command, CommandError
from core.cli.formatting import MISSING, fixed, print_report, table
from core.cli.options import add_json_flag, positive_float
from core.errors import AnalysisError
from core.io.traces import read_trace

DESCRIPTION = """\
Find the nucleation potential E_nuc and time t_nuc (the minimum of the E–t curve), the charge
to nucleation Q_nuc = j·t_nuc and the growth potential E_growth of one constant-current
(chronopotentiometry) record. The file needs time and potential columns (current is not used:
give the applied current density). Times must count from the start of the current.

examples:
  python -m core analyse galvanostatic spot.csv --current-density 0.78
  python -m core analyse galvanostatic nova_export.txt --current-density 3.82 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="trace file (CSV/TSV, see 'python -m core -h')")
    parser.add_argument(
        "--current-density",
        type=positive_float("mA/cm²"),
        required=True,
        metavar="MA_CM2",
        dest="current_density_mA_cm2",
        help="applied plating current density (magnitude), mA/cm²",
    )
    add_json_flag(parser)


def analyse_file(path: Path, current_density_mA_cm2: float) -> dict:
    """Read ``path`` and return the report printed by the command (plain JSON types)."""
    trace = read_trace(path, require_current=False)
    # Imported here, not at the top: scipy is slow to import, and `--help` and a bad file
    # should answer at once.
    from core.analysis.galvanostatic import analyse_galvanostatic

    try:
        result = analyse_galvanostatic(
            trace.time_s, trace.potential_V, current_density_mA_cm2=current_density_mA_cm2
        )
    except AnalysisError as exc:
        raise CommandError(f"{path}: cannot analyse: {exc}") from exc
    return {
        "file": str(path),
        "analysis": "galvanostatic",
        "current_density_mA_cm2": current_density_mA_cm2,
        "samples": len(trace),
        "duration_s": float(trace.time_s[-1] - trace.time_s[0]),
        **result.to_dict(),
    }


def format_report(report: dict) -> str:
    """The human-readable form of :func:`analyse_file`'s report."""
    title = (
        f"{report['file']}: galvanostatic, j = {report['current_density_mA_cm2']:g} mA/cm², "
        f"{report['samples']} samples over {report['duration_s']:.3f} s"
    )
    if not report["nucleated"]:
        return (
            f"{title}\n  no nucleation reached: the potential has no significant minimum "
            f"within the {report['duration_s']:.3f} s recorded (E_nuc, t_nuc, Q_nuc, "
            f"E_growth: {MISSING})"
        )
    rows = [
        ("E_nuc", fixed(report["e_nuc_V"], 4), "V"),
        ("t_nuc", fixed(report["t_nuc_s"], 3), "s"),
        ("Q_nuc", fixed(report["q_nuc_uAh_cm2"], 3), "µAh/cm²"),
        ("E_growth", fixed(report["e_growth_V"], 4), "V"),
    ]
    return title + "\n" + table(("quantity", "value", "unit"), rows, align="lrl")


def run(args: argparse.Namespace) -> int:
    report = analyse_file(args.file, args.current_density_mA_cm2)
    return print_report(report, format_report, as_json=args.json)


COMMAND = Command(
    path=("analyse", "galvanostatic"),
    help="E_nuc, t_nuc, Q_nuc and E_growth of a constant-current E–t record",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
