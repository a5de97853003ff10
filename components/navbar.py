"""The top navigation bar shared by every page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

#: (label, path) of the main sections; Design and Run are filled in by their own pages
NAV_ITEMS = (
    ("Experiments", "/"),
    ("Design", "/design"),
    ("Run", "/run"),
)


def create_navbar() -> dbc.Navbar:
    """Brand plus the main sections; the current section is highlighted by its path."""
    links = [
        dbc.NavItem(dbc.NavLink(label, href=path, active="exact" if path == "/" else "partial"))
        for label, path in NAV_ITEMS
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span("Meniscus", className="fw-semibold"),
                     html.Small(" SECCM · IRM screening", className="text-white-50 ms-2")],
                    href="/",
                ),
                dbc.Nav(links, navbar=True, className="ms-auto"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )
