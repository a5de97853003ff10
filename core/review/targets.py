"""What a review acts on: a run or a spot, checked to exist, and input limits checked."""

from __future__ import annotations

from sqlalchemy import select

from core.errors import MeniscusError
from core.results.record import UnknownSpot
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Run, Spot


class ReviewInputError(MeniscusError):
    """A comment, flag, reason, tag or note that is empty, too long or not allowed."""


def run_of_spot(url: str, spot_id: int) -> int:
    """The run of ``spot_id``; raises :class:`~core.results.record.UnknownSpot`."""
    with session_scope(url) as session:
        run_id = session.scalar(select(Spot.run_id).where(Spot.id == spot_id))
    if run_id is None:
        raise UnknownSpot(f"spot {spot_id} does not exist")
    return run_id


def require_run(url: str, run_id: int) -> int:
    """``run_id`` when that run exists; raises :class:`~core.storage.ledger.UnknownRun`."""
    with session_scope(url) as session:
        if session.scalar(select(Run.id).where(Run.id == run_id)) is None:
            raise UnknownRun(f"run {run_id} does not exist")
    return run_id


def checked_text(value: str | None, *, what: str, max_chars: int, required: bool) -> str:
    """``value`` stripped; raises :class:`ReviewInputError` when empty (if ``required``) or
    longer than ``max_chars`` characters."""
    text = (value or "").strip()
    if required and not text:
        raise ReviewInputError(f"{what} is empty: write at least one character")
    if len(text) > max_chars:
        raise ReviewInputError(
            f"{what} is {len(text)} characters long; the limit is {max_chars}")
    return text
