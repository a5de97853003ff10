"""The spots of a run that someone flagged or excluded: the review page's worklist."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.review.exclusions import Decision, run_exclusions
from core.review.flags import FlagView, run_flags
from core.storage.db import session_scope
from core.storage.models import Spot


@dataclass(frozen=True)
class ReviewedSpot:
    """One flagged and/or excluded spot, where it sits, its active flags and its exclusion."""

    spot_id: int
    order: int
    row: int | None
    col: int | None
    condition: str
    flags: tuple[FlagView, ...]
    exclusion: Decision | None


def reviewed_spots(url: str, run_id: int) -> list[ReviewedSpot]:
    """Spots of ``run_id`` with an active flag or a standing exclusion, in visiting order."""
    flags: dict[int, list[FlagView]] = {}
    for flag in run_flags(url, run_id, active_only=True):
        flags.setdefault(flag.spot_id, []).append(flag)
    exclusions = run_exclusions(url, run_id)
    wanted = set(flags) | set(exclusions)
    if not wanted:
        return []
    with session_scope(url) as session:
        rows = session.execute(
            select(Spot.id, Spot.order, Spot.row, Spot.col, Spot.condition)
            .where(Spot.id.in_(wanted)).order_by(Spot.order)).all()
    return [ReviewedSpot(spot_id, order, row, col, condition,
                         tuple(flags.get(spot_id, ())), exclusions.get(spot_id))
            for spot_id, order, row, col, condition in rows]
