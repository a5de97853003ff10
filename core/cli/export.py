"""``python -m core export RUN_ID --format csv|hdf5 [--out PATH] [--no-movies]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.command import Command, CommandError
from core.cli.options import whole_number

DESCRIPTION = """\
Export a run from the ledger (DATABASE_URL, or the SQLite file in MENISCUS_DATA_DIR): the
per-spot table as CSV (spot_id,row,col,x_um,y_um,condition,technique,current_density_mA_cm2,
duration_s,status,e_nuc_V,t_nuc_s,q_nuc_uAh_cm2,e_growth_V,t_nuc_irm_s,
particle_density_per_cm2,mean_diameter_nm,ce,excluded; empty where not applicable), or an HDF5
bundle with that table, the grid, and every spot's trace, movie and latest analyses.

examples:
  python -m core export 3 --format csv
  python -m core export 3 --format hdf5 --out screen3.h5 --no-movies
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", type=whole_number(1), metavar="RUN_ID", help="run to export")
    parser.add_argument("--format", choices=("csv", "hdf5"), required=True)
    parser.add_argument("--out", type=Path, help="output file (default run_<RUN_ID>.csv/.h5)")
    parser.add_argument("--no-movies", action="store_true",
                        help="HDF5: leave the IRM movies out (much smaller)")


def run(args: argparse.Namespace) -> int:
    from core.export import export_csv, export_hdf5
    from core.settings import get_settings
    from core.storage.db import upgrade_database

    settings = get_settings()
    url = settings.resolved_database_url
    suffix = ".csv" if args.format == "csv" else ".h5"
    out = args.out or Path(f"run_{args.run_id}{suffix}")
    if not out.parent.is_dir():
        raise CommandError(f"{out}: folder {out.parent} does not exist")
    upgrade_database(url)
    if args.format == "csv":
        path = export_csv(url, args.run_id, out)
    else:
        path = export_hdf5(url, args.run_id, out, data_dir=settings.data_dir,
                           include_movies=not args.no_movies)
    print(path)
    return 0


COMMAND = Command(
    path=("export",),
    help="export a run's per-spot table (CSV) or everything (HDF5 bundle)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
)
