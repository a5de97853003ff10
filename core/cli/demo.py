"""``python -m core demo [--out DIR] [--seed N] [--json]``: the article's experiments, end to end.

Simulates the constant-charge galvanostatic series and the 10-cycle CV of Martín-Yerga et al.
(ACS Nano 2024) with the digital twin, writes them as trace files, analyses the files exactly
as ``analyse`` would, and compares the results with the article.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import analyse_cv, analyse_galvanostatic
from core.cli.command import PROG, Command
from core.cli.formatting import fixed, print_report, table
from core.cli.options import add_json_flag, whole_number
from core.cli.simulated_files import write_simulation

#: Table 1 of the article: j (mA/cm²), run (s), E_nuc (V), E_growth (V), Q_nuc (µAh/cm²),
#: t_nuc (s); a 10 µm pipette, the run chosen so every spot passes ≈ 3.2–3.3 µAh/cm².
ARTICLE_TABLE_1 = (
    {
        "j": 0.20,
        "run_s": 60.0,
        "e_nuc_V": -0.058,
        "e_growth_V": -0.004,
        "q_nuc": 0.98,
        "t_nuc": 17.7,
    },
    {
        "j": 0.78,
        "run_s": 15.0,
        "e_nuc_V": -0.135,
        "e_growth_V": -0.022,
        "q_nuc": 0.85,
        "t_nuc": 3.8,
    },
    {"j": 3.82, "run_s": 3.0, "e_nuc_V": -0.292, "e_growth_V": -0.267, "q_nuc": 0.82, "t_nuc": 0.8},
)
#: The article's CV (Figure 2b): CE of the first and of the tenth cycle.
ARTICLE_CV_CE = {1: 0.25, 10: 0.85}
ARTICLE_FOOTPRINT_UM = 10.0
CV_CYCLES = 10

DESCRIPTION = """\
Simulate the article's constant-charge series (0.20, 0.78 and 3.82 mA/cm² for 60, 15 and 3 s,
10 µm footprint) and its 10-cycle CV (+1.47 to -0.27 V at 0.1 V/s), write them as trace files
with their truth sidecars, analyse the files and compare with the article (Martín-Yerga et
al., ACS Nano 2024, Table 1 and Figure 2b).

examples:
  python -m core demo
  python -m core demo --out /tmp/demo --seed 7 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("data/demo"),
        metavar="DIR",
        help="folder for the simulated files (default ./data/demo)",
    )
    parser.add_argument(
        "--seed",
        type=whole_number(0),
        default=1,
        metavar="N",
        help="seed of the first simulation; the others use N+1, N+2, ... (default 1)",
    )
    add_json_flag(parser)


def run_demo(folder: Path, seed: int) -> dict:
    """Simulate, write, read back and analyse; return the report (plain JSON types)."""
    # Imported here, not at the top: the simulators pull in scipy, slow for `--help`.
    from core.simulate.cv import simulate_cv
    from core.simulate.galvanostatic import simulate_galvanostatic

    galvanostatic = []
    for k, row in enumerate(ARTICLE_TABLE_1):
        path = folder / f"galvanostatic_{row['j']:.2f}mA_cm2_{row['run_s']:g}s.csv"
        simulated = simulate_galvanostatic(
            row["j"], row["run_s"], footprint_diameter_um=ARTICLE_FOOTPRINT_UM, seed=seed + k
        )
        write_simulation(path, simulated)
        report = analyse_galvanostatic.analyse_file(path, row["j"])
        galvanostatic.append({**report, "run_s": row["run_s"], "article": row})

    path = folder / f"cv_{CV_CYCLES}_cycles.csv"
    simulated = simulate_cv(
        cycles=CV_CYCLES, footprint_diameter_um=ARTICLE_FOOTPRINT_UM, seed=seed + len(galvanostatic)
    )
    write_simulation(path, simulated)
    cv = analyse_cv.analyse_file(path)
    cv["article_ce"] = {str(cycle): ce for cycle, ce in ARTICLE_CV_CE.items()}
    return {"folder": str(folder), "seed": seed, "galvanostatic": galvanostatic, "cv": cv}


def format_report(report: dict) -> str:
    """The comparison tables printed by ``demo``."""

    def pair(value, article, decimals) -> str:
        return f"{fixed(value, decimals)} / {article:.{decimals}f}"

    rows = []
    for spot in report["galvanostatic"]:
        article = spot["article"]
        rows.append(
            [
                f"{spot['current_density_mA_cm2']:.2f}",
                f"{spot['run_s']:g}",
                pair(spot["e_nuc_V"], article["e_nuc_V"], 3),
                pair(spot["e_growth_V"], article["e_growth_V"], 3),
                pair(spot["q_nuc_uAh_cm2"], article["q_nuc"], 2),
                pair(spot["t_nuc_s"], article["t_nuc"], 1),
            ]
        )
    galvanostatic = table(
        ["j (mA/cm²)", "run (s)", "E_nuc (V)", "E_growth (V)", "Q_nuc (µAh/cm²)", "t_nuc (s)"],
        rows,
    )
    cycles = report["cv"]["cycles"]
    article_ce = report["cv"]["article_ce"]
    cv = analyse_cv.cycle_table(
        cycles, {"article CE": [_article_ce(article_ce, c["cycle"]) for c in cycles]}
    )
    files = [spot["file"] for spot in report["galvanostatic"]] + [report["cv"]["file"]]
    return "\n".join(
        [
            f"Meniscus demo: the article's experiments simulated (seed {report['seed']}), "
            "written as trace files, read back and analysed.",
            "",
            "Constant-charge galvanostatic series, 10 µm footprint "
            "(each cell: analysed / article Table 1)",
            galvanostatic,
            "",
            f"CV, {CV_CYCLES} cycles, +1.47 to -0.27 V vs Li/Li+ at 0.1 V/s, 10 µm footprint",
            "(article Figure 2b: CE 0.25 in cycle 1, rising to 0.85 by cycle 10)",
            cv,
            "",
            f"Files in {report['folder']} (each with a .truth.json sidecar):",
            *(f"  {name}" for name in files),
            "Analyse one yourself:",
            f"  {PROG} analyse galvanostatic {files[1]} --current-density "
            f"{report['galvanostatic'][1]['current_density_mA_cm2']:g}",
            f"  {PROG} analyse cv {files[-1]}",
        ]
    )


def _article_ce(article_ce: dict, cycle: int) -> str:
    return fixed(article_ce.get(str(cycle)), 2)


def run(args: argparse.Namespace) -> int:
    report = run_demo(args.out, args.seed)
    return print_report(report, format_report, as_json=args.json)


COMMAND = Command(
    path=("demo",),
    help="simulate and analyse the article's experiments; compare with its Table 1",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
