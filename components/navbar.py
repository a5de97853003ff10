"""The top navigation bar shared by every page: sections, the user, and logout."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.auth.roles import Actor, Permission, Role

#: (label, path) of the main sections; Design and Run are filled in by their own pages
NAV_ITEMS = (
    ("Experiments", "/"),
    ("Design", "/design"),
    ("Run", "/run"),
)
#: the section only admins see
ADMIN_ITEM = ("Admin", "/admin")
#: badge colour of each role
ROLE_COLOURS = {Role.VIEWER: "secondary", Role.OPERATOR: "info", Role.ADMIN: "warning"}


def create_navbar(actor: Actor | None = None, csrf_token: str = "") -> dbc.Navbar:
    """Brand, the main sections (highlighted by path) and, for a logged-in ``actor``, its
    name, role badge and a logout button (a form posting ``csrf_token`` to ``/logout``)."""
    items = list(NAV_ITEMS)
    if actor is not None and actor.can(Permission.MANAGE_USERS):
        items.append(ADMIN_ITEM)
    links = [
        dbc.NavItem(dbc.NavLink(label, href=path, active="exact" if path == "/" else "partial"))
        for label, path in items
    ]
    right = [dbc.Nav(links, navbar=True, className="ms-auto")]
    if actor is not None:
        right.append(create_user_menu(actor, csrf_token))
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span("Meniscus", className="fw-semibold"),
                     html.Small(" SECCM · IRM screening", className="text-white-50 ms-2")],
                    href="/",
                ),
                *right,
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )


def create_user_menu(actor: Actor, csrf_token: str) -> html.Div:
    """``name [role]  Log out``: logging out is a POST form (the server checks the token)."""
    return html.Div([
        html.Span(actor.name, id="navbar-user", className="text-white me-2"),
        dbc.Badge(str(actor.role), id="navbar-role", color=ROLE_COLOURS[actor.role],
                  className="me-3"),
        html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
            html.Button("Log out", id="navbar-logout", type="submit",
                        className="btn btn-outline-light btn-sm"),
        ], method="POST", action="/logout", className="d-inline m-0"),
    ], className="d-flex align-items-center ms-3")
