"""A run's spots as a table: ledger columns, every metric from the latest analyses, and the
review (exclusion and its reason, active flag kinds)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from core.results.latest import excluded_spot_ids, join_latest, result_number
from core.results.metrics import METRICS
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Flag, Run, Spot

#: ledger columns of the table, in order (then one column per metric key, then
#: :data:`REVIEW_COLUMNS`)
SPOT_COLUMNS = ("spot_id", "order", "row", "col", "x_um", "y_um", "condition",
                "condition_index", "repeat", "current_density_mA_cm2", "duration_s", "state",
                "error")
#: review columns after the metrics: excluded (bool), the reason ("" when kept), and the
#: spot's active flag kinds (core.review.flags.FLAG_KINDS) sorted and joined by ``;``
REVIEW_COLUMNS = ("excluded", "exclusion_reason", "flags")
#: separator of the flag kinds in the ``flags`` column
FLAG_SEPARATOR = ";"


def spot_table(url: str, run_id: int) -> list[dict]:
    """One dict per spot (visiting order): :data:`SPOT_COLUMNS`, the metrics,
    :data:`REVIEW_COLUMNS`."""
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
        flags = _active_flag_kinds(session, run_id)
    names = (*SPOT_COLUMNS, *METRICS)
    return [{**dict(zip(names, row, strict=True)), "excluded": row[0] in excluded,
             "exclusion_reason": excluded.get(row[0], ""),
             "flags": FLAG_SEPARATOR.join(flags.get(row[0], ()))}
            for row in rows]


def _active_flag_kinds(session, run_id: int) -> dict[int, list[str]]:
    """Spot id → the distinct kinds of its active (not cleared) flags, sorted."""
    rows = session.execute(
        select(Flag.spot_id, Flag.kind).where(Flag.run_id == run_id, Flag.cleared_at.is_(None))
        .distinct().order_by(Flag.spot_id, Flag.kind)).all()
    kinds: dict[int, list[str]] = {}
    for spot_id, kind in rows:
        kinds.setdefault(spot_id, []).append(kind)
    return kinds


def spot_table_csv(url: str, run_id: int) -> str:
    """:func:`spot_table` as CSV text with a header row (units in the column names)."""
    table = spot_table(url, run_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()
