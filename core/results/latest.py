"""The latest version of one analysis kind per spot, joined to a query over spots.

Re-analysis adds versions; every view reads only the newest one per spot and kind. The join
keeps a version when no newer one exists (an index probe on (spot_id, kind, version) per
spot), which both SQLite and PostgreSQL plan better than a GROUP BY subquery.
"""

from __future__ import annotations

from sqlalchemy import Float, Select, and_, cast, exists, func, select
from sqlalchemy.orm import aliased

from core.results.metrics import REVIEW
from core.storage.models import Analysis, Spot


def join_latest(query: Select, kind: str):
    """Outer-join each spot's latest ``kind`` analysis to ``query`` (a select over
    :class:`Spot`); returns ``(query, alias)`` so callers pick result keys from the alias."""
    latest = aliased(Analysis, name=f"latest_{kind}")
    newer = aliased(Analysis, name=f"newer_{kind}")
    is_newest = ~exists().where(newer.spot_id == latest.spot_id, newer.kind == latest.kind,
                                newer.version > latest.version)
    query = query.outerjoin_from(
        Spot, latest, and_(latest.spot_id == Spot.id, latest.kind == kind, is_newest))
    return query, latest


def excluded_spot_ids(session, run_id: int) -> dict[int, str]:
    """Spots of the run whose latest review excludes them → the reviewer's reason."""
    rows = session.execute(
        select(Analysis.spot_id, Analysis.version, Analysis.results)
        .join(Spot, Spot.id == Analysis.spot_id)
        .where(Spot.run_id == run_id, Analysis.kind == REVIEW)
        .order_by(Analysis.spot_id, Analysis.version)
    ).all()
    latest = {spot_id: results for spot_id, _, results in rows}  # ordered: last one wins
    return {spot_id: str(results.get("reason") or "excluded in review")
            for spot_id, results in latest.items() if results and results.get("excluded")}


def result_number(analysis, path: tuple, dialect: str):
    """SQL expression for the number at ``path`` in ``analysis.results`` (NULL if absent).

    ``path`` holds keys and list indices (-1 is the last element). Single keys use
    SQLAlchemy's portable JSON indexing; deeper paths use each database's own path syntax
    (SQLite ``$."a"[#-1]."b"``, PostgreSQL ``json_extract_path_text``), as the two disagree
    on negative indices.
    """
    column = analysis.results
    if len(path) == 1:
        return column[path[0]].as_float()
    if dialect == "sqlite":
        parts = "".join(
            f"[#{item}]" if isinstance(item, int) and item < 0
            else f"[{item}]" if isinstance(item, int) else f'."{item}"'
            for item in path)
        return cast(func.json_extract(column, f"${parts}"), Float)
    if dialect == "postgresql":
        return cast(func.json_extract_path_text(column, *map(str, path)), Float)
    return column[path].as_float()
