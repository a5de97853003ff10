"""Seed a data folder with a small demo run measured on the digital twin, analysed.

    python scripts/seed_demo.py [--data-dir DIR] [--database-url URL] [--repeats N] [--no-sem]

Plans a 5 × N grid (four current densities from 0.22 to 2.92 mA/cm², N = 3 repeats each, and a
row of 3-cycle CVs), runs it with the acquisition engine on ``SimInstrument(speed=inf)`` in
this process (no worker, no broker; this is a command-line tool, the web app never drives an
instrument), filming every spot, and analyses every spot as the analysis workers do
(:func:`workers.analysis_task.analyse_spot`: E–t or CV, IRM of the plating spots, CE(IRM) maps
of the CV spots). Then it imports a simulated ex-situ SEM image of each measured
galvanostatic footprint, as a TIFF with its pixel size, through the SEM import
(:func:`core.results.sem_import.import_sem_file`) and runs the ``sem`` analysis on it (particle
outlines and size histogram on the Spot page), and excludes one spot in review, so every page
has something to show. One landing site has no contact on purpose. Everything is seeded
(twin, SEM images), so two seeds give the same numbers. Prints the run id.

The database defaults to the one the app uses (``DATABASE_URL`` or ``DIR/meniscus.db``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.grid import grid_from_mapping, grid_hash, grid_to_mapping, plan_spots  # noqa: E402
from core.io.image_writers import write_sem_tiff  # noqa: E402
from core.results.record import set_excluded  # noqa: E402
from core.results.sem_import import import_sem_file  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.simulate.sem import simulate_sem  # noqa: E402
from core.storage.db import session_scope, upgrade_database  # noqa: E402
from core.storage.ledger import Ledger  # noqa: E402
from core.storage.models import Run, Spot  # noqa: E402
from workers.analysis_task import analyse_spot  # noqa: E402
from workers.engine import AcquisitionEngine  # noqa: E402
from workers.instruments.sim import SimFaults, SimInstrument, site_key  # noqa: E402


def demo_grid(repeats: int = 3) -> dict:
    """The demo's grid: one row per condition, ``repeats`` columns."""
    return {
        "name": "demo screen on the digital twin",
        "origin": {"x_um": 10.0, "y_um": 10.0},
        "rows": 5,
        "cols": repeats,
        "pitch_um": 11.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "traversal": "serpentine",
        "assignment": "row_blocks",
        "conditions": [
            {"technique": "galvanostatic", "current_density_mA_cm2": j, "duration_s": 5.0,
             "repeats": repeats}
            for j in (0.22, 0.78, 1.78, 2.92)
        ] + [{"technique": "cv", "upper_V": 1.47, "lower_V": -0.27, "scan_rate_V_s": 0.1,
              "cycles": 3, "repeats": repeats}],
        "camera": {"enabled": True, "exposure_ms": 100.0, "interval_s": 0.23},
    }


#: (row, col) of the landing that finds no meniscus contact
NO_CONTACT_AT = (1, 1)
#: (row, col) of the spot a reviewer excluded
EXCLUDED_AT = (2, 0)
#: pixels of each simulated SEM image (about 9 nm/px over the 6 µm footprint and its margin)
SEM_SHAPE = (1024, 1024)
#: largest SEM file the demo imports, bytes (a 1024² 16-bit TIFF is about 2 MB)
SEM_MAX_BYTES = 16 * 2**20


def seed_demo(data_dir: Path, database_url: str | None = None, *, repeats: int = 3,
              sem: bool = True) -> int:
    """Create, measure and analyse the demo run under ``data_dir``; return its id."""
    data_dir = Path(data_dir)
    url = database_url or Settings(data_dir=data_dir).resolved_database_url
    upgrade_database(url)
    if repeats < 2:
        raise ValueError(f"the demo needs at least 2 repeats, got {repeats}")
    grid = grid_from_mapping(demo_grid(repeats))
    spots = plan_spots(grid)
    ledger = Ledger(url)
    ledger.ensure_instrument("sim")
    run_id = ledger.submit_run(
        instrument="sim", name="Demo: 4 current densities + CV (digital twin)",
        grid=grid_to_mapping(grid), grid_hash=grid_hash(grid), operator="demo",
        spots=[_spot_row(spot) for spot in spots],
    )
    with session_scope(url) as session:
        run = session.get(Run, run_id)
        run.tags = ["demo", "digital twin"]
        run.notes = "Seeded by scripts/seed_demo.py: the article's conditions, small."
    by_place = {(spot.row, spot.col): spot for spot in spots}
    no_contact = by_place[NO_CONTACT_AT]
    instrument = SimInstrument(speed=math.inf, faults=SimFaults(
        no_contact_sites=frozenset({site_key(no_contact.x_um, no_contact.y_um)})))
    engine = AcquisitionEngine(ledger, instrument, data_dir=data_dir, holder="seed_demo",
                               on_spot_committed=lambda spot_id: _analyse(url, data_dir, spot_id))
    engine.run(run_id)
    if sem:
        _import_sem(url, data_dir, run_id, grid.footprint_um)
    excluded = by_place[EXCLUDED_AT]
    set_excluded(url, _spot_id(url, run_id, excluded.order), reason="off-centre landing",
                 reviewer="demo")
    return run_id


def _analyse(url: str, data_dir: Path, spot_id: int) -> None:
    """What the analysis workers do after a spot is committed (movie analyses included)."""
    analyse_spot(url, data_dir, spot_id)


def _spot_row(spot) -> dict:
    return dict(order=spot.order, index=spot.index, row=spot.row, col=spot.col,
                x_um=spot.x_um, y_um=spot.y_um, block=spot.block,
                condition_index=spot.condition, condition=spot.condition_label,
                repeat=spot.repeat, technique=spot.technique,
                current_density_mA_cm2=spot.current_density_mA_cm2, current_A=spot.current_A,
                duration_s=spot.duration_s)


def _spot_id(url: str, run_id: int, order: int) -> int:
    with session_scope(url) as session:
        return session.query(Spot.id).filter_by(run_id=run_id, order=order).scalar()


def _import_sem(url: str, data_dir: Path, run_id: int, footprint_um: float) -> None:
    """Import a simulated ex-situ SEM image of each measured galvanostatic footprint (a TIFF
    named by its grid place, seeded by it) and run the ``sem`` analysis on it."""
    with session_scope(url) as session:
        measured = session.query(Spot.id, Spot.row, Spot.col, Spot.current_density_mA_cm2,
                                 Spot.duration_s).filter(
            Spot.run_id == run_id, Spot.state == "done",
            Spot.current_density_mA_cm2.is_not(None)).order_by(Spot.order).all()
    with tempfile.TemporaryDirectory(prefix="meniscus-demo-sem-") as folder:
        for spot_id, row, col, density, duration in measured:
            image = simulate_sem(current_density_mA_cm2=density, duration_s=duration,
                                 footprint_diameter_um=footprint_um, shape=SEM_SHAPE,
                                 seed=1000 * row + col)
            name = f"r{row}c{col}.tif"
            path = write_sem_tiff(Path(folder) / name, image.image,
                                  pixel_size_nm=image.pixel_size_nm)
            imported = import_sem_file(url, data_dir, run_id=run_id, spot_id=spot_id,
                                       name=name, data=path.read_bytes(),
                                       max_bytes=SEM_MAX_BYTES, uploaded_by="demo")
            analyse_spot(url, data_dir, spot_id, {"sem_image_id": imported.image_id},
                         kind="sem")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: MENISCUS_DATA_DIR or ./data)")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or DATA_DIR/meniscus.db)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats per condition, ≥ 2 (default 3)")
    parser.add_argument("--no-sem", action="store_true", help="skip the simulated SEM step")
    args = parser.parse_args(argv)
    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    run_id = seed_demo(settings.data_dir, args.database_url or settings.resolved_database_url,
                       repeats=args.repeats, sem=not args.no_sem)
    print(run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
