"""Flags on a spot: kind buttons with a note, the list of flags with Clear, and badges."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.review_time import format_moment
from core.review.flags import FLAG_KINDS, MAX_FLAG_NOTE_CHARS, FlagView

#: pattern id types: ``{"type": FLAG_ADD, "kind": kind}``, ``{"type": FLAG_CLEAR, "flag": id}``
FLAG_ADD = "review-flag-add"
FLAG_CLEAR = "review-flag-clear"
FLAG_NOTE_ID = "review-flag-note"
#: Bootstrap colour of each kind's badge
FLAG_COLOURS = {"off_centre": "warning", "thick_deposit": "info", "failed_contact": "danger",
                "other": "secondary"}


def create_flag_badge(flag: FlagView) -> dbc.Badge:
    """One active flag as a coloured pill with its label."""
    return dbc.Badge(flag.label, color=FLAG_COLOURS.get(flag.kind, "secondary"), pill=True,
                     text_color="dark" if flag.kind == "off_centre" else None,
                     className="me-1")


def create_flag_buttons(*, enabled: bool) -> html.Div:
    """A note box and one button per flag kind (:data:`core.review.flags.FLAG_KINDS`)."""
    return html.Div([
        dbc.Input(id=FLAG_NOTE_ID, placeholder="Note (optional)", size="sm",
                  maxLength=MAX_FLAG_NOTE_CHARS, disabled=not enabled, className="mb-1"),
        html.Div([dbc.Button(label, id={"type": FLAG_ADD, "kind": kind}, size="sm",
                             color=FLAG_COLOURS[kind], outline=True, disabled=not enabled,
                             className="me-1 mb-1")
                  for kind, label in FLAG_KINDS.items()]),
    ])


def create_flag_list(flags: list[FlagView], *, can_clear: bool) -> html.Div:
    """Active flags then cleared ones (muted, with who cleared them); active flags get a
    Clear button only when ``can_clear`` (a button Dash inserts calls its callback, which
    those who may not clear must not reach)."""
    if not flags:
        return html.Div("Not flagged.", className="text-muted small")
    items = []
    for flag in sorted(flags, key=lambda f: (not f.active, f.created_at)):
        said = f" — {flag.note}" if flag.note else ""
        who = f"{flag.author}, {format_moment(flag.created_at)}"
        if flag.active:
            items.append(html.Div([
                create_flag_badge(flag), html.Span(said), html.Span(f" ({who})",
                                                                   className="text-muted"),
                dbc.Button("Clear", id={"type": FLAG_CLEAR, "flag": flag.id}, size="sm",
                           color="link", className="py-0") if can_clear else None,
            ], className="small"))
        else:
            items.append(html.Div(
                f"{flag.label}{said} ({who}; cleared by {flag.cleared_by}, "
                f"{format_moment(flag.cleared_at)})",
                className="small text-muted text-decoration-line-through"))
    return html.Div(items)
