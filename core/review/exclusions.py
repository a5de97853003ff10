"""Exclusions: a reviewer drops a spot from trends and statistics, or takes it back in.

Each decision is the next ``review`` analysis of the spot (:func:`core.results.record.
set_excluded`): the latest one counts, earlier ones stay as the spot's history, each with its
reviewer, reason and time. Needs ``Permission.REVIEW`` (operator or above). Excluding needs a
reason; including again takes an optional one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.auth.audit import ALLOWED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.results.metrics import REVIEW
from core.results.record import set_excluded
from core.review.targets import ReviewInputError, checked_text, run_of_spot
from core.storage.db import session_scope
from core.storage.models import Analysis, Spot

#: longest exclusion reason, in characters
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Decision:
    """One review decision on a spot: ``version`` counts the spot's decisions from 1."""

    spot_id: int
    version: int
    excluded: bool
    reason: str
    reviewer: str
    at: datetime


def exclude_spot(url: str, actor: Actor | None, spot_id: int, reason: str) -> int:
    """Leave ``spot_id`` out of trends and statistics because of ``reason`` (required, at
    most :data:`MAX_REASON_CHARS` characters); returns the decision's version."""
    run_id = run_of_spot(url, spot_id)
    authorize(url, actor, Permission.REVIEW, action="exclude", target=f"spot {spot_id}",
              run_id=run_id, spot_id=spot_id)
    text = checked_text(reason, what="the reason for excluding", max_chars=MAX_REASON_CHARS,
                        required=True)
    version = set_excluded(url, spot_id, excluded=True, reason=text, reviewer=actor.name)
    record_event(url, actor, "exclude", ALLOWED, target=f"spot {spot_id}", run_id=run_id,
                 spot_id=spot_id, detail={"reason": text, "version": version})
    return version


def include_spot(url: str, actor: Actor | None, spot_id: int, reason: str = "") -> int:
    """Take an excluded spot back into trends and statistics; returns the decision's version.

    Raises :class:`ReviewInputError` when the spot is not excluded.
    """
    run_id = run_of_spot(url, spot_id)
    authorize(url, actor, Permission.REVIEW, action="include", target=f"spot {spot_id}",
              run_id=run_id, spot_id=spot_id)
    text = checked_text(reason, what="the reason for including", max_chars=MAX_REASON_CHARS,
                        required=False)
    current = current_decision(url, spot_id)
    if current is None or not current.excluded:
        raise ReviewInputError(f"spot {spot_id} is not excluded: nothing to include again")
    version = set_excluded(url, spot_id, excluded=False, reason=text, reviewer=actor.name)
    record_event(url, actor, "include", ALLOWED, target=f"spot {spot_id}", run_id=run_id,
                 spot_id=spot_id, detail={"reason": text, "version": version})
    return version


def decision_history(url: str, spot_id: int) -> list[Decision]:
    """Every review decision on ``spot_id``, oldest first."""
    with session_scope(url) as session:
        rows = session.scalars(
            select(Analysis).where(Analysis.spot_id == spot_id, Analysis.kind == REVIEW)
            .order_by(Analysis.version)).all()
        return [_decision(row) for row in rows]


def current_decision(url: str, spot_id: int) -> Decision | None:
    """The latest review decision on ``spot_id`` (None when nobody decided yet)."""
    history = decision_history(url, spot_id)
    return history[-1] if history else None


def run_exclusions(url: str, run_id: int) -> dict[int, Decision]:
    """Spot id → the decision that currently excludes it, for the spots of ``run_id``."""
    with session_scope(url) as session:
        rows = session.scalars(
            select(Analysis).join(Spot, Spot.id == Analysis.spot_id)
            .where(Spot.run_id == run_id, Analysis.kind == REVIEW)
            .order_by(Analysis.spot_id, Analysis.version)).all()
        latest = {row.spot_id: _decision(row) for row in rows}  # ordered: last one wins
    return {spot_id: decision for spot_id, decision in latest.items() if decision.excluded}


def _decision(row: Analysis) -> Decision:
    results, parameters = row.results or {}, row.parameters or {}
    return Decision(spot_id=row.spot_id, version=row.version,
                    excluded=bool(results.get("excluded")),
                    reason=str(results.get("reason") or ""),
                    reviewer=str(parameters.get("reviewer") or ""), at=row.created_at)
