"""A run's tags and notes: what the group calls the run and what it knows about it.

Tags keep the spelling they were first given and are de-duplicated case-insensitively
(``Li-plating`` and ``li-plating`` are one tag). Setting them needs ``Permission.REVIEW``
(operator or above); an unchanged value writes nothing and records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.auth.audit import ALLOWED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.review.targets import ReviewInputError, checked_text
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Run

MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_NOTES_CHARS = 20_000
#: letters, digits, ``-``, ``_``, ``.`` and spaces
TAG_PATTERN = re.compile(r"[^\W_]|[-_. ]")


@dataclass(frozen=True)
class Annotations:
    """A run's tags (in order) and notes."""

    run_id: int
    tags: tuple[str, ...]
    notes: str


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Tags stripped, inner runs of spaces collapsed, empty ones dropped and duplicates
    (ignoring case) removed, first spelling kept.

    Raises :class:`ReviewInputError` for a tag over :data:`MAX_TAG_CHARS` characters, one
    with other characters than letters, digits, ``-_.`` and spaces, or more than
    :data:`MAX_TAGS` tags.
    """
    kept: dict[str, str] = {}
    for raw in tags:
        tag = " ".join(str(raw).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ReviewInputError(
                f"tag {tag[:20]!r}… is {len(tag)} characters long; the limit is {MAX_TAG_CHARS}")
        bad = sorted({char for char in tag if not TAG_PATTERN.fullmatch(char)})
        if bad:
            raise ReviewInputError(
                f"tag {tag!r} contains {''.join(bad)!r}; tags take letters, digits, "
                "'-', '_', '.' and spaces")
        kept.setdefault(tag.casefold(), tag)
    if len(kept) > MAX_TAGS:
        raise ReviewInputError(f"{len(kept)} tags; a run takes at most {MAX_TAGS}")
    return list(kept.values())


def parse_tags(text: str | None) -> list[str]:
    """Comma-separated tags as typed in a text box, normalised (:func:`normalise_tags`)."""
    return normalise_tags((text or "").split(","))


def run_annotations(url: str, run_id: int) -> Annotations:
    """The tags and notes of ``run_id``; raises :class:`~core.storage.ledger.UnknownRun`."""
    with session_scope(url) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise UnknownRun(f"run {run_id} does not exist")
        return Annotations(run_id, tuple(run.tags or ()), run.notes or "")


def set_run_tags(url: str, actor: Actor | None, run_id: int, tags: Iterable[str]) -> list[str]:
    """Replace the tags of ``run_id`` with ``tags`` (normalised); returns the stored tags."""
    authorize(url, actor, Permission.REVIEW, action="set tags", target=f"run {run_id}",
              run_id=run_id)
    new = normalise_tags(tags)
    with session_scope(url) as session:
        run = _run(session, run_id)
        old = list(run.tags or ())
        if old == new:
            return new
        run.tags = new
    record_event(url, actor, "set tags", ALLOWED, target=f"run {run_id}", run_id=run_id,
                 detail={"old": old, "new": new})
    return new


def set_run_notes(url: str, actor: Actor | None, run_id: int, notes: str) -> str:
    """Replace the notes of ``run_id`` (at most :data:`MAX_NOTES_CHARS` characters, surrounding
    white space stripped); returns the stored notes."""
    authorize(url, actor, Permission.REVIEW, action="set notes", target=f"run {run_id}",
              run_id=run_id)
    text = checked_text(notes, what="the run notes", max_chars=MAX_NOTES_CHARS,
                        required=False)
    with session_scope(url) as session:
        run = _run(session, run_id)
        old = run.notes or ""
        if old == text:
            return text
        run.notes = text
    record_event(url, actor, "set notes", ALLOWED, target=f"run {run_id}", run_id=run_id,
                 detail={"old_chars": len(old), "new_chars": len(text)})
    return text


def _run(session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise UnknownRun(f"run {run_id} does not exist")
    return run
