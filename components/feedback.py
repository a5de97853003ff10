"""Empty states, errors and loading wrappers: one look for every page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def create_empty_state(title: str, *body, icon: str = "○") -> html.Div:
    """A centred, quiet message for "nothing here yet" with what to do about it."""
    return html.Div(
        [html.Div(icon, className="empty-state-icon"), html.H5(title, className="mb-2"),
         *[html.P(part, className="text-muted mb-1") for part in body]],
        className="empty-state text-center py-5",
    )


def create_error(message: str, *, title: str = "Something went wrong") -> dbc.Alert:
    """An error shown in the page (never a silent blank or a browser console trace)."""
    return dbc.Alert([html.Strong(f"{title}: "), message], color="danger", className="my-3")


def create_loading(child, *, id: str | None = None) -> dcc.Loading:
    """A spinner over ``child`` while a callback that feeds it runs (after 200 ms only)."""
    kwargs = {"id": id} if id else {}
    return dcc.Loading(child, type="circle", delay_show=200, color="#0d6efd", **kwargs)


def code(text: str) -> html.Code:
    """Inline command or file name."""
    return html.Code(text, className="px-1")
