"""A comment thread with replies, and the box to write a new comment.

Ids carry a ``scope`` (``run`` on the review page, ``spot`` on the spot page) so that the two
pages' callbacks never answer each other's buttons; reply boxes and buttons carry the id of
the comment they answer (``parent``), for pattern-matching callbacks.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.review_time import format_moment
from core.review.comments import MAX_COMMENT_CHARS, CommentView

#: id types of the pieces (dict ids: ``{"type": ..., "scope": ...}`` plus ``parent``)
NEW_BODY = "review-comment-body"
NEW_SEND = "review-comment-send"
REPLY_BODY = "review-reply-body"
REPLY_SEND = "review-reply-send"


def new_comment_ids(scope: str) -> tuple[dict, dict]:
    """(text box id, button id) of the new-comment box of ``scope``."""
    return {"type": NEW_BODY, "scope": scope}, {"type": NEW_SEND, "scope": scope}


def create_comment_box(scope: str, *, enabled: bool, placeholder: str = "Write a comment"
                       ) -> html.Div:
    """A text area and a Post button (disabled for someone who may not comment)."""
    body_id, send_id = new_comment_ids(scope)
    return html.Div([
        dbc.Textarea(id=body_id, placeholder=placeholder, maxLength=MAX_COMMENT_CHARS,
                     rows=2, disabled=not enabled, className="mb-1"),
        dbc.Button("Post", id=send_id, size="sm", color="primary", disabled=not enabled),
    ], className="mb-3")


def create_comment_thread(comments: list[CommentView], *, scope: str, can_reply: bool
                          ) -> html.Div:
    """Comments oldest first with their replies indented under them."""
    if not comments:
        return html.Div("No comments yet.", className="text-muted small")
    return html.Div([_comment(comment, scope, can_reply) for comment in comments])


def _comment(comment: CommentView, scope: str, can_reply: bool) -> html.Div:
    reply_box = dbc.InputGroup([
        dbc.Input(id={"type": REPLY_BODY, "scope": scope, "parent": comment.id},
                  placeholder="Reply", maxLength=MAX_COMMENT_CHARS, disabled=not can_reply),
        dbc.Button("Reply", id={"type": REPLY_SEND, "scope": scope, "parent": comment.id},
                   color="secondary", outline=True, disabled=not can_reply),
    ], size="sm", className="mt-1")
    return html.Div([
        html.Div([html.Strong(comment.author, className="me-2"),
                  html.Span(format_moment(comment.created_at), className="text-muted")],
                 className="small"),
        html.Div(comment.body, style={"whiteSpace": "pre-wrap"}),
        reply_box,
        html.Div([_comment(reply, scope, can_reply) for reply in comment.replies],
                 className="ms-4") if comment.replies else None,
    ], className="border-start ps-2 mb-2")
