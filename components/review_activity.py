"""A run's activity feed: who did what, when, newest first."""

from __future__ import annotations

from dash import dcc, html

from components.review_time import format_moment
from core.review.activity import ActivityItem


def create_activity_feed(items: list[ActivityItem]) -> html.Div:
    """One line per item: time, who (role), what, and a link to the spot it concerns."""
    if not items:
        return html.Div("Nothing happened on this run yet.", className="text-muted small")
    return html.Ul([
        html.Li([
            html.Span(format_moment(item.at), className="text-muted me-2"),
            html.Strong(item.actor or "someone"),
            html.Span(f" ({item.role})", className="text-muted") if item.role else None,
            html.Span(f" {item.summary}"),
            dcc.Link(" open spot", href=f"/spot/{item.spot_id}", className="ms-1")
            if item.spot_id is not None else None,
        ], className="small mb-1")
        for item in items
    ], className="list-unstyled mb-0")
