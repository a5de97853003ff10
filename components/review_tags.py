"""A run's tags and notes: editable for reviewers, read-only for everyone else."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from core.review.annotations import MAX_NOTES_CHARS, Annotations

TAGS_VIEW_ID = "review-tag-badges"
TAGS_INPUT_ID = "review-tags"
NOTES_INPUT_ID = "review-notes"
SAVE_ID = "review-annotations-save"


def create_tag_badges(tags: tuple[str, ...] | list[str]) -> list:
    """The tags as pills ("No tags" when there are none)."""
    return ([dbc.Badge(tag, color="light", text_color="dark", className="me-1 border")
             for tag in tags] or [html.Span("No tags", className="text-muted small")])


def create_tag_editor(annotations: Annotations, *, editable: bool) -> html.Div:
    """Tags (comma-separated) and notes with a Save button; disabled when not ``editable``."""
    return html.Div([
        html.Div(create_tag_badges(annotations.tags), id=TAGS_VIEW_ID, className="mb-2"),
        dbc.Label("Tags (comma-separated: letters, digits, - _ . and spaces)",
                  html_for=TAGS_INPUT_ID, className="small mb-0"),
        dbc.Input(id=TAGS_INPUT_ID, value=", ".join(annotations.tags), size="sm",
                  disabled=not editable, className="mb-2"),
        dbc.Label("Notes", html_for=NOTES_INPUT_ID, className="small mb-0"),
        dbc.Textarea(id=NOTES_INPUT_ID, value=annotations.notes, rows=4,
                     maxLength=MAX_NOTES_CHARS, disabled=not editable, className="mb-2"),
        dbc.Button("Save tags and notes", id=SAVE_ID, size="sm", color="primary",
                   disabled=not editable),
        None if editable else html.Div("Operators and admins edit tags and notes.",
                                       className="small text-muted mt-1"),
    ])
