"""Exclude a spot from trends (with a reason) or include it again, and what stands now.

The reason box and the buttons are built once per page; after a change only the status
(:func:`create_exclusion_status`) and the buttons' ``disabled`` flags
(:func:`exclusion_buttons_disabled`) are sent again, so the buttons are never re-inserted
(re-inserted buttons make Dash call their callbacks, which a viewer may not).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.review_time import format_moment
from core.review.exclusions import MAX_REASON_CHARS, Decision

EXCLUDE_ID = "review-exclude"
INCLUDE_ID = "review-include"
REASON_ID = "review-exclusion-reason"
STATUS_ID = "review-exclusion-status"
#: the alert at the top of the spot page, refreshed with the status
BANNER_ID = "review-exclusion-banner"


def create_exclusion_control(decision: Decision | None, *, enabled: bool) -> html.Div:
    """The spot's standing decision, a reason box, and Exclude / Include again (the one that
    does not apply is disabled, both are when not ``enabled``)."""
    exclude_disabled, include_disabled = exclusion_buttons_disabled(decision, enabled=enabled)
    return html.Div([
        html.Div(create_exclusion_status(decision), id=STATUS_ID, className="small mb-1"),
        dbc.InputGroup([
            dbc.Input(id=REASON_ID, maxLength=MAX_REASON_CHARS, disabled=not enabled,
                      placeholder="Reason (required to exclude)"),
            dbc.Button("Exclude", id=EXCLUDE_ID, color="danger", outline=True,
                       disabled=exclude_disabled),
            dbc.Button("Include again", id=INCLUDE_ID, color="success", outline=True,
                       disabled=include_disabled),
        ], size="sm"),
    ])


def exclusion_buttons_disabled(decision: Decision | None, *, enabled: bool
                               ) -> tuple[bool, bool]:
    """(Exclude disabled, Include again disabled) for the standing ``decision``."""
    excluded = decision is not None and decision.excluded
    return not enabled or excluded, not enabled or not excluded


def create_exclusion_status(decision: Decision | None) -> list:
    """Kept, excluded (why, by whom, when) or included again (by whom, when, why)."""
    if decision is None:
        return [html.Span("Kept in trends", className="text-muted")]
    when = f"{decision.reviewer or 'someone'}, {format_moment(decision.at)}"
    if decision.excluded:
        return [dbc.Badge("excluded", color="secondary", className="me-1"),
                html.Span(decision.reason), html.Span(f" ({when})", className="text-muted")]
    reason = f": {decision.reason}" if decision.reason else ""
    return [html.Span(f"Kept in trends (included again by {when}{reason})",
                      className="text-muted")]


def create_exclusion_banner(decision: Decision | None) -> dbc.Alert | None:
    """The page-top alert while the spot is excluded (why, by whom, when); None when kept."""
    if decision is None or not decision.excluded:
        return None
    when = f"{decision.reviewer or 'someone'}, {format_moment(decision.at)}"
    return dbc.Alert([html.Strong("Excluded in review: "), decision.reason,
                      html.Span(f" ({when}). Left out of trends and statistics.",
                                className="text-muted")],
                     color="secondary", className="py-2")
