"""Export a run: the per-spot table as CSV, or an HDF5 bundle with the table and every spot's data.

The CSV has one row per spot with these columns (empty where not applicable)::

    spot_id,row,col,x_um,y_um,condition,technique,current_density_mA_cm2,duration_s,status,
    e_nuc_V,t_nuc_s,q_nuc_uAh_cm2,e_growth_V,t_nuc_irm_s,particle_density_per_cm2,
    mean_diameter_nm,ce,excluded

Values come from the latest analysis version of each kind; ``ce`` is the last complete CV
cycle's. The HDF5 bundle holds the same table (``/spots``, one dataset per column), the run's
grid and provenance (attributes of ``/``), and per spot ``/spot_<order>/`` with ``trace``,
``movie`` (unless ``include_movies=False``) and the latest analyses as JSON attributes.
Both are written atomically: a failed export leaves no file behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
from sqlalchemy import select

import core
from core.io.atomic import fsync_folder, write_text_atomically
from core.results.spot_table import spot_table
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Analysis, Measurement, Spot

#: CSV column → key in :func:`core.results.spot_table.spot_table`'s rows
CSV_COLUMNS = {
    "spot_id": "spot_id", "row": "row", "col": "col", "x_um": "x_um", "y_um": "y_um",
    "condition": "condition", "technique": "technique",
    "current_density_mA_cm2": "current_density_mA_cm2", "duration_s": "duration_s",
    "status": "state", "e_nuc_V": "e_nuc_V", "t_nuc_s": "t_nuc_s",
    "q_nuc_uAh_cm2": "q_nuc_uAh_cm2", "e_growth_V": "e_growth_V", "t_nuc_irm_s": "t_nuc_irm_s",
    "particle_density_per_cm2": "density_per_cm2", "mean_diameter_nm": "mean_diameter_nm",
    "ce": "ce", "excluded": "excluded",
}


def run_rows(url: str, run_id: int) -> list[dict]:
    """The export's rows: :data:`CSV_COLUMNS` for every spot, in visiting order."""
    table = spot_table(url, run_id)
    with session_scope(url) as session:
        techniques = dict(session.execute(
            select(Spot.id, Spot.technique).where(Spot.run_id == run_id)).all())
    rows = []
    for entry in table:
        entry = {**entry, "technique": techniques[entry["spot_id"]].get("technique", "")}
        rows.append({column: entry.get(key) for column, key in CSV_COLUMNS.items()})
    return rows


def export_csv(url: str, run_id: int, path: str | os.PathLike) -> Path:
    """Write the run's per-spot CSV to ``path`` (atomically); returns the path."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in run_rows(url, run_id):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    path = Path(path)
    write_text_atomically(path, buffer.getvalue())
    return path


def export_hdf5(
    url: str, run_id: int, path: str | os.PathLike, *, data_dir: str | os.PathLike,
    include_movies: bool = True,
) -> Path:
    """Write the run's HDF5 bundle to ``path`` (atomically); returns the path."""
    path = Path(path)
    summary = Ledger(url).run_summary(run_id)
    rows = run_rows(url, run_id)
    with session_scope(url) as session:
        files = dict(session.execute(
            select(Spot.order, Measurement.path).join(Measurement, Measurement.spot_id == Spot.id)
            .where(Spot.run_id == run_id)).all())
        analyses = session.execute(
            select(Spot.order, Analysis.kind, Analysis.version, Analysis.parameters,
                   Analysis.results)
            .join(Spot, Spot.id == Analysis.spot_id).where(Spot.run_id == run_id)
            .order_by(Analysis.version)).all()
    latest = {(order, kind): (version, parameters, results)
              for order, kind, version, parameters, results in analyses}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                         dir=path.parent)
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as bundle:
            bundle.attrs["format"] = "meniscus-run-bundle/1"
            bundle.attrs["software_version"] = core.__version__
            for key in ("id", "name", "instrument", "operator", "state", "grid_hash"):
                bundle.attrs[f"run_{key}"] = str(summary[key])
            bundle.attrs["grid_json"] = json.dumps(summary["grid"])
            _write_table(bundle.create_group("spots"), rows)
            for order, relative in sorted(files.items()):
                group = bundle.create_group(f"spot_{order:05d}")
                _copy_spot_file(Path(data_dir) / relative, group, include_movies)
                for (spot_order, kind), (version, parameters, results) in latest.items():
                    if spot_order == order:
                        group.attrs[f"analysis_{kind}"] = json.dumps(
                            {"version": version, "parameters": parameters, "results": results})
        os.replace(temporary, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _write_table(group: h5py.Group, rows: list[dict]) -> None:
    """One dataset per column: numbers as float64 (NaN where empty), text as UTF-8 strings."""
    for column in CSV_COLUMNS:
        values = [row[column] for row in rows]
        if all(v is None or isinstance(v, (int, float, bool)) for v in values):
            group[column] = np.array([np.nan if v is None else float(v) for v in values])
        else:
            group[column] = np.array(["" if v is None else str(v) for v in values],
                                     dtype=h5py.string_dtype())


def _copy_spot_file(source: Path, group: h5py.Group, include_movies: bool) -> None:
    with h5py.File(source, "r") as spot_file:
        for key, value in spot_file.attrs.items():
            group.attrs[key] = value
        for name in spot_file:
            if name == "movie" and not include_movies:
                continue
            spot_file.copy(spot_file[name], group, name=name)
