"""Export a run: the per-spot table as CSV, or an HDF5 bundle with the table and every spot's data.

The CSV is :func:`core.results.spot_table.spot_table_csv`, the same file as the Results
page's download: one row per spot (visiting order) with the ledger columns
(:data:`~core.results.spot_table.SPOT_COLUMNS`), every metric of the latest analyses
(:data:`~core.results.metrics.METRICS`, units in the names) and the review
(:data:`~core.results.spot_table.REVIEW_COLUMNS`: ``excluded``, ``exclusion_reason``,
``flags``). The HDF5 bundle holds the same table (``/spots``, one dataset per column, their
order in ``/spots``'s ``columns`` attribute), the run's grid and provenance (attributes of
``/``), and per spot ``/spot_<order>/`` with ``trace``, ``movie`` (unless
``include_movies=False``), the latest analyses as JSON attributes and the spot's review
(``excluded``, ``exclusion_reason``, ``flags`` attributes). Both are written atomically: a
failed export leaves no file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
from sqlalchemy import select

import core
from core.io.atomic import fsync_folder, write_text_atomically
from core.results.metrics import METRICS
from core.results.spot_table import REVIEW_COLUMNS, SPOT_COLUMNS, spot_table, spot_table_csv
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Analysis, Measurement, Spot

#: columns of the spot table stored as UTF-8 text in ``/spots`` (``excluded`` is stored as
#: booleans, every other column as float64 with NaN where empty)
TEXT_COLUMNS = ("condition", "state", "error", "exclusion_reason", "flags")
#: the spot table's review columns, repeated as attributes of each ``/spot_<order>`` group
SPOT_REVIEW_ATTRIBUTES = REVIEW_COLUMNS


def export_csv(url: str, run_id: int, path: str | os.PathLike) -> Path:
    """Write the run's per-spot CSV (:func:`spot_table_csv`) to ``path`` atomically; returns
    the path. Raises ``UnknownRun`` (and writes nothing) for an unknown run."""
    path = Path(path)
    write_text_atomically(path, spot_table_csv(url, run_id))
    return path


def export_hdf5(
    url: str, run_id: int, path: str | os.PathLike, *, data_dir: str | os.PathLike,
    include_movies: bool = True,
) -> Path:
    """Write the run's HDF5 bundle to ``path`` (atomically); returns the path."""
    path = Path(path)
    summary = Ledger(url).run_summary(run_id)
    rows = spot_table(url, run_id)
    review = {row["order"]: row for row in rows}
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
                for column in SPOT_REVIEW_ATTRIBUTES:
                    group.attrs[column] = review[order][column]
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
    """One dataset per spot-table column (the order in the group's ``columns`` attribute):
    :data:`TEXT_COLUMNS` as UTF-8 strings, ``excluded`` as booleans, the rest as float64
    (NaN where empty)."""
    columns = [*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS]
    group.attrs["columns"] = json.dumps(columns)
    for column in columns:
        values = [row[column] for row in rows]
        if column in TEXT_COLUMNS:
            group[column] = np.array(["" if v is None else str(v) for v in values],
                                     dtype=h5py.string_dtype())
        elif column == "excluded":
            group[column] = np.array([bool(v) for v in values], dtype=bool)
        else:
            group[column] = np.array([np.nan if v is None else float(v) for v in values],
                                     dtype=np.float64)


def _copy_spot_file(source: Path, group: h5py.Group, include_movies: bool) -> None:
    with h5py.File(source, "r") as spot_file:
        for key, value in spot_file.attrs.items():
            group.attrs[key] = value
        for name in spot_file:
            if name == "movie" and not include_movies:
                continue
            spot_file.copy(spot_file[name], group, name=name)
