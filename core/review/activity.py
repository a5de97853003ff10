"""A run's activity feed in words: who did what, when, newest first.

The feed is the run's allowed audit events (:func:`core.auth.audit.run_activity`); this
module turns each into one readable line, joining the comments' text (kept in the comments
table, not in the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.auth.audit import Event, run_activity
from core.review.comments import comment_bodies
from core.review.flags import FLAG_KINDS

#: characters of a comment quoted in the feed
QUOTE_CHARS = 120


@dataclass(frozen=True)
class ActivityItem:
    """One line of the feed: ``summary`` says what ``actor`` did (without the name)."""

    at: datetime
    actor: str
    role: str
    action: str
    summary: str
    spot_id: int | None


def run_feed(url: str, run_id: int, *, limit: int = 200) -> list[ActivityItem]:
    """The newest ``limit`` things people did on ``run_id``, newest first, in words."""
    events = run_activity(url, run_id, limit=limit)
    bodies = comment_bodies(url, [e.detail["comment_id"] for e in events
                                  if isinstance(e.detail.get("comment_id"), int)])
    return [ActivityItem(e.at, e.actor, e.role, e.action, describe(e, bodies), e.spot_id)
            for e in events]


def describe(event: Event, comment_text: dict[int, str] | None = None) -> str:
    """What ``event`` did, in a few words (``comment_text``: comment id → body)."""
    detail = event.detail
    where = f"spot {event.spot_id}" if event.spot_id is not None else "the run"
    action = event.action
    if action in ("comment", "reply"):
        body = (comment_text or {}).get(detail.get("comment_id"), "")
        verb = "replied on" if action == "reply" else "commented on"
        return f"{verb} {where}: “{_quote(body)}”" if body else f"{verb} {where}"
    if action == "flag":
        label = FLAG_KINDS.get(detail.get("kind"), detail.get("kind", "?"))
        note = f" ({detail['note']})" if detail.get("note") else ""
        return f"flagged {where} as {label}{note}"
    if action == "clear flag":
        label = FLAG_KINDS.get(detail.get("kind"), detail.get("kind", "?"))
        return f"cleared the {label} flag of {where}"
    if action == "exclude":
        return f"excluded {where} from trends: {detail.get('reason', '')}"
    if action == "include":
        reason = f": {detail['reason']}" if detail.get("reason") else ""
        return f"included {where} in trends again{reason}"
    if action == "set tags":
        new = ", ".join(detail.get("new", [])) or "none"
        old = ", ".join(detail.get("old", [])) or "none"
        return f"set the tags to {new} (were {old})"
    if action == "set notes":
        return f"edited the notes ({detail.get('new_chars', 0)} characters)"
    if action == "reanalyse":
        return f"re-analysed {where} ({detail.get('kind', '?')})"
    if action == "launch":
        return f"launched {event.target}"
    return f"{action.replace('_', ' ')} {event.target}".strip()


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"
