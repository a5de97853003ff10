"""A run's spots as a table: ledger columns plus every metric from the latest analyses."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from core.results.latest import excluded_spot_ids, join_latest, result_number
from core.results.metrics import METRICS
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Run, Spot

#: ledger columns of the table, in order (then one column per metric key, then ``excluded``)
SPOT_COLUMNS = ("spot_id", "order", "row", "col", "x_um", "y_um", "condition",
                "condition_index", "repeat", "current_density_mA_cm2", "duration_s", "state",
                "error")


def spot_table(url: str, run_id: int) -> list[dict]:
    """One dict per spot (visiting order): :data:`SPOT_COLUMNS`, the metrics, ``excluded``."""
    query = select(Spot.id, Spot.order, Spot.row, Spot.col, Spot.x_um, Spot.y_um,
                   Spot.condition, Spot.condition_index, Spot.repeat,
                   Spot.current_density_mA_cm2, Spot.duration_s, Spot.state, Spot.error)
    kinds = sorted({metric.kind for metric in METRICS.values()})
    latest = {}
    for kind in kinds:
        query, latest[kind] = join_latest(query, kind)
    with session_scope(url) as session:
        dialect = session.get_bind().dialect.name
        query = query.add_columns(*(
            result_number(latest[m.kind], m.path, dialect) for m in METRICS.values()))
        if session.get(Run, run_id) is None:
            raise UnknownRun(f"run {run_id} does not exist")
        rows = session.connection().execute(
            query.where(Spot.run_id == run_id).order_by(Spot.order)).all()
        excluded = excluded_spot_ids(session, run_id)
    names = (*SPOT_COLUMNS, *METRICS)
    return [{**dict(zip(names, row, strict=True)), "excluded": row[0] in excluded}
            for row in rows]


def spot_table_csv(url: str, run_id: int) -> str:
    """:func:`spot_table` as CSV text with a header row (units in the column names)."""
    table = spot_table(url, run_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*SPOT_COLUMNS, *METRICS, "excluded"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()
