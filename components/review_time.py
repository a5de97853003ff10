"""How review pieces show a moment: UTC, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime


def format_moment(moment: datetime | None) -> str:
    """``2026-03-01 09:30 UTC`` (naive times are taken as UTC); ``—`` for None."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
