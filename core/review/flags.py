"""Reviewers' flags on spots: what looks wrong with a landing, by kind, with a note.

Flagging and clearing need ``Permission.REVIEW`` (operator or above). Clearing keeps the row
(``cleared_at``, ``cleared_by``), so a spot's flag history stays readable. A flag does not by
itself drop the spot from trends; an exclusion (:mod:`core.review.exclusions`) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.auth.audit import ALLOWED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.review.targets import ReviewInputError, checked_text, run_of_spot
from core.storage.db import session_scope
from core.storage.models import Flag, utcnow

#: flag kind (stored) → label (shown), in the order the buttons appear
FLAG_KINDS: dict[str, str] = {
    "off_centre": "off-centre landing",
    "thick_deposit": "thick deposit / contrast inversion",
    "failed_contact": "failed contact",
    "other": "other",
}

#: longest flag note, in characters
MAX_FLAG_NOTE_CHARS = 2000


class UnknownFlag(ReviewInputError):
    """No flag with that id, or one already cleared."""


@dataclass(frozen=True)
class FlagView:
    """One flag of a spot; ``cleared_at`` None while it is active."""

    id: int
    run_id: int
    spot_id: int
    kind: str
    note: str
    author: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None

    @property
    def label(self) -> str:
        """The kind's display label (the kind itself for kinds no longer listed)."""
        return FLAG_KINDS.get(self.kind, self.kind)

    @property
    def active(self) -> bool:
        return self.cleared_at is None


def check_flag_kind(kind: str) -> str:
    """``kind`` when it is one of :data:`FLAG_KINDS`; raises :class:`ReviewInputError`."""
    if kind not in FLAG_KINDS:
        allowed = ", ".join(f"{key} ({label})" for key, label in FLAG_KINDS.items())
        raise ReviewInputError(f"unknown flag kind {kind!r}; the kinds are: {allowed}")
    return kind


def flag_spot(url: str, actor: Actor | None, spot_id: int, kind: str, note: str = "") -> int:
    """Flag ``spot_id`` as ``kind`` with an optional ``note``; returns the flag's id.

    Raises :class:`ReviewInputError` for an unknown kind, an over-long note, or a kind the
    spot already carries as an active flag.
    """
    run_id = run_of_spot(url, spot_id)
    authorize(url, actor, Permission.REVIEW, action="flag", target=f"spot {spot_id}",
              run_id=run_id, spot_id=spot_id)
    check_flag_kind(kind)
    text = checked_text(note, what="the flag note", max_chars=MAX_FLAG_NOTE_CHARS,
                        required=False)
    with session_scope(url) as session:
        existing = session.scalar(select(Flag.author).where(
            Flag.spot_id == spot_id, Flag.kind == kind, Flag.cleared_at.is_(None)))
        if existing is not None:
            raise ReviewInputError(
                f"spot {spot_id} is already flagged {FLAG_KINDS[kind]!r} by {existing}")
        flag = Flag(run_id=run_id, spot_id=spot_id, kind=kind, note=text, author=actor.name)
        session.add(flag)
        session.flush()
        flag_id = flag.id
    record_event(url, actor, "flag", ALLOWED, target=f"spot {spot_id}", run_id=run_id,
                 spot_id=spot_id, detail={"flag_id": flag_id, "kind": kind, "note": text[:200]})
    return flag_id


def clear_flag(url: str, actor: Actor | None, flag_id: int) -> None:
    """Clear an active flag (the row stays, with who cleared it and when)."""
    with session_scope(url) as session:
        found = session.execute(
            select(Flag.run_id, Flag.spot_id).where(Flag.id == flag_id)).first()
    if found is None:
        raise UnknownFlag(f"flag {flag_id} does not exist")
    run_id, spot_id = found
    authorize(url, actor, Permission.REVIEW, action="clear flag", target=f"spot {spot_id}",
              run_id=run_id, spot_id=spot_id)
    with session_scope(url) as session:
        flag = session.get(Flag, flag_id)
        if flag.cleared_at is not None:
            raise UnknownFlag(f"flag {flag_id} was already cleared by {flag.cleared_by}")
        flag.cleared_at = utcnow()
        flag.cleared_by = actor.name
        kind = flag.kind
    record_event(url, actor, "clear flag", ALLOWED, target=f"spot {spot_id}", run_id=run_id,
                 spot_id=spot_id, detail={"flag_id": flag_id, "kind": kind})


def spot_flags(url: str, spot_id: int, *, active_only: bool = False) -> list[FlagView]:
    """The flags of one spot, oldest first (cleared ones too unless ``active_only``)."""
    return _flags(url, Flag.spot_id == spot_id, active_only)


def run_flags(url: str, run_id: int, *, active_only: bool = True) -> list[FlagView]:
    """The flags of every spot of a run, oldest first (active ones unless told otherwise)."""
    return _flags(url, Flag.run_id == run_id, active_only)


def _flags(url: str, where, active_only: bool) -> list[FlagView]:
    query = select(Flag).where(where).order_by(Flag.created_at, Flag.id)
    if active_only:
        query = query.where(Flag.cleared_at.is_(None))
    with session_scope(url) as session:
        return [FlagView(f.id, f.run_id, f.spot_id, f.kind, f.note, f.author, f.created_at,
                         f.cleared_at, f.cleared_by) for f in session.scalars(query)]
