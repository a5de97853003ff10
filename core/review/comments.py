"""Comments on runs and spots, with replies (a reply names its parent; no edits).

Anyone logged in may comment (``Permission.COMMENT``: viewers included). A reply belongs to
the same run and spot as the comment it answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from core.auth.audit import ALLOWED, record_event
from core.auth.guard import authorize
from core.auth.roles import Actor, Permission
from core.review.targets import ReviewInputError, checked_text, require_run, run_of_spot
from core.storage.db import session_scope
from core.storage.models import Comment

#: longest comment body, in characters (after stripping surrounding white space)
MAX_COMMENT_CHARS = 5000


class UnknownComment(ReviewInputError):
    """No comment with that id (or not one of this run and spot)."""


@dataclass(frozen=True)
class CommentView:
    """One comment as shown in a thread; ``replies`` oldest first."""

    id: int
    run_id: int
    spot_id: int | None
    parent_id: int | None
    author: str
    body: str
    created_at: datetime
    replies: list[CommentView] = field(default_factory=list)


def add_comment(
    url: str,
    actor: Actor | None,
    run_id: int,
    body: str,
    *,
    spot_id: int | None = None,
    parent_id: int | None = None,
) -> int:
    """Comment on run ``run_id`` (or on its spot ``spot_id``), or reply to ``parent_id``;
    returns the new comment's id.

    Raises :class:`ReviewInputError` for an empty or over-long body, a spot of another run,
    or a parent of another run or spot.
    """
    require_run(url, run_id)
    if spot_id is not None and run_of_spot(url, spot_id) != run_id:
        raise ReviewInputError(f"spot {spot_id} is not a spot of run {run_id}")
    action = "reply" if parent_id is not None else "comment"
    target = f"spot {spot_id}" if spot_id is not None else f"run {run_id}"
    authorize(url, actor, Permission.COMMENT, action=action, target=target, run_id=run_id,
              spot_id=spot_id)
    text = checked_text(body, what="the comment", max_chars=MAX_COMMENT_CHARS, required=True)
    with session_scope(url) as session:
        if parent_id is not None:
            parent = session.get(Comment, parent_id)
            if parent is None:
                raise UnknownComment(f"comment {parent_id} does not exist")
            if (parent.run_id, parent.spot_id) != (run_id, spot_id):
                raise UnknownComment(
                    f"comment {parent_id} belongs to run {parent.run_id}"
                    + (f", spot {parent.spot_id}" if parent.spot_id is not None else "")
                    + f"; a reply must stay on {target}")
        comment = Comment(run_id=run_id, spot_id=spot_id, parent_id=parent_id,
                          author=actor.name, body=text)
        session.add(comment)
        session.flush()
        comment_id = comment.id
    record_event(url, actor, action, ALLOWED, target=target, run_id=run_id, spot_id=spot_id,
                 detail={"comment_id": comment_id, "parent_id": parent_id})
    return comment_id


def comment_thread(url: str, run_id: int, *, spot_id: int | None = None) -> list[CommentView]:
    """The comments on the run itself (``spot_id`` None) or on one spot: top-level comments
    oldest first, each with its replies nested."""
    query = (select(Comment).where(Comment.run_id == run_id)
             .order_by(Comment.created_at, Comment.id))
    query = query.where(Comment.spot_id.is_(None) if spot_id is None
                        else Comment.spot_id == spot_id)
    with session_scope(url) as session:
        views = [CommentView(c.id, c.run_id, c.spot_id, c.parent_id, c.author, c.body,
                             c.created_at) for c in session.scalars(query)]
    by_id = {view.id: view for view in views}
    roots = []
    for view in views:
        parent = by_id.get(view.parent_id) if view.parent_id is not None else None
        (parent.replies if parent is not None else roots).append(view)
    return roots


def comment_bodies(url: str, comment_ids: list[int]) -> dict[int, str]:
    """Comment id → body, for the activity feed (missing ids are left out)."""
    if not comment_ids:
        return {}
    with session_scope(url) as session:
        rows = session.execute(
            select(Comment.id, Comment.body).where(Comment.id.in_(comment_ids))).all()
    return dict(rows)
