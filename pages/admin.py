"""Admin (``/admin``): accounts (add, change role, deactivate) and the audit log.

Only admins see it (``MANAGE_USERS``): the navigation bar shows the link to admins only, the
layout shows a refusal to anyone else, and every callback requires ``MANAGE_USERS``. Account
changes go through :mod:`core.auth.users` with the logged-in admin as ``by`` (authorized and
audited there).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_error
from core.auth.audit import DENIED, Event, list_events
from core.auth.roles import Permission, Role
from core.auth.users import Account, add_user, deactivate, list_users, set_role
from core.errors import MeniscusError
from pages._access import current_actor, requires
from pages._context import database_url

dash.register_page(__name__, path="/admin", name="Admin", title="Admin · Meniscus", order=90)

#: how many audit events the page shows, newest first
AUDIT_ROWS = 200
ROLE_OPTIONS = [{"label": role.value, "value": role.value} for role in Role]


def layout(**_query):
    actor = current_actor()
    if actor is None or not actor.can(Permission.MANAGE_USERS):
        return create_error("The Admin page is for admins.", title="Not allowed")
    return html.Div([
        dcc.Store(id="admin-changes", data=0),
        html.H3("Admin", className="mb-3"),
        dbc.Row([
            dbc.Col([html.H5("Accounts"), html.Div(id="admin-users")], lg=7),
            dbc.Col([_add_form(), _change_form(), html.Div(id="admin-message")], lg=5),
        ], className="g-4 mb-4"),
        html.H5("Audit log"),
        dbc.Switch(id="admin-denied-only", label="Refusals only", value=False,
                   className="mb-2"),
        html.Div(id="admin-audit"),
    ])


def _add_form() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H6("Add an account"),
        dbc.Input(id="admin-new-name", placeholder="user name", size="sm", className="mb-2"),
        dbc.Select(id="admin-new-role", options=ROLE_OPTIONS, value=Role.VIEWER.value,
                   size="sm", className="mb-2"),
        dbc.Input(id="admin-new-password", type="password", size="sm", className="mb-2",
                  placeholder="password (8 characters or more)", autoComplete="new-password"),
        dbc.Button("Add", id="admin-add", color="primary", size="sm"),
    ]), className="mb-3")


def _change_form() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H6("Change an account"),
        dbc.Select(id="admin-user", size="sm", className="mb-2", placeholder="user"),
        dbc.Select(id="admin-role", options=ROLE_OPTIONS, size="sm", className="mb-2",
                   placeholder="new role"),
        dbc.Button("Set role", id="admin-set-role", color="secondary", size="sm",
                   className="me-2"),
        dbc.Button("Deactivate", id="admin-deactivate", color="danger", outline=True,
                   size="sm"),
    ]), className="mb-3")


@callback(
    Output("admin-users", "children"), Output("admin-user", "options"),
    Output("admin-audit", "children"),
    Input("admin-changes", "data"), Input("admin-denied-only", "value"),
)
@requires(Permission.MANAGE_USERS)
def show_accounts_and_log(_changes, denied_only):
    url = database_url()
    accounts = list_users(url)
    events = list_events(url, outcome=DENIED if denied_only else None, limit=AUDIT_ROWS)
    options = [{"label": a.name, "value": a.name} for a in accounts if a.active]
    return accounts_table(accounts), options, audit_table(events)


@callback(
    Output("admin-message", "children"), Output("admin-changes", "data"),
    Output("admin-new-password", "value"),
    Input("admin-add", "n_clicks"), Input("admin-set-role", "n_clicks"),
    Input("admin-deactivate", "n_clicks"),
    State("admin-new-name", "value"), State("admin-new-role", "value"),
    State("admin-new-password", "value"), State("admin-user", "value"),
    State("admin-role", "value"), State("admin-changes", "data"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_USERS)
def change_account(_add, _set_role, _deactivate, new_name, new_role, new_password, name, role,
                   changes):
    """Add, re-role or deactivate an account as the logged-in admin; the outcome message."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    try:
        text = apply_change(ctx.triggered_id, new_name, new_role, new_password, name, role)
    except MeniscusError as error:
        return create_error(str(error), title="Not changed"), dash.no_update, dash.no_update
    return (dbc.Alert(text, color="success", duration=5000, className="py-2"),
            (changes or 0) + 1, "")


def apply_change(trigger: str, new_name: str | None, new_role: str | None,
                 new_password: str | None, name: str | None, role: str | None) -> str:
    """Do what button ``trigger`` asks; the message (raises MeniscusError on a refusal)."""
    url, actor = database_url(), current_actor()
    if trigger == "admin-add":
        add_user(url, (new_name or "").strip(), new_role or "", new_password or "", by=actor)
        return f"Added {new_name.strip()} as {new_role}."
    if not name:
        raise PreventUpdate
    if trigger == "admin-set-role":
        if not role:
            raise PreventUpdate
        set_role(url, name, role, by=actor)
        return f"{name} is now {role}."
    deactivate(url, name, by=actor)
    return f"Deactivated {name}; their sessions are ended."


def accounts_table(accounts: list[Account]) -> dbc.Table:
    """Name, role, status and creation date of every account."""
    rows = [html.Tr([html.Td(a.name), html.Td(str(a.role)),
                     html.Td("active" if a.active else "deactivated"),
                     html.Td(f"{a.created_at:%Y-%m-%d}")]) for a in accounts]
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("User", "Role", "Status",
                                                                "Created")])),
                      html.Tbody(rows)], size="sm", striped=True, className="bg-white")


def audit_table(events: list[Event]) -> dbc.Table | html.P:
    """The audit events, newest first (time in UTC)."""
    if not events:
        return html.P("No events.", className="text-muted")
    rows = [html.Tr([html.Td(f"{e.at:%Y-%m-%d %H:%M:%S}"), html.Td(e.actor or "anonymous"),
                     html.Td(e.role), html.Td(e.action), html.Td(e.outcome), html.Td(e.target),
                     html.Td(e.ip), html.Td(str(e.detail.get("reason", "")))])
            for e in events]
    header = ("Time (UTC)", "User", "Role", "Action", "Outcome", "Target", "Address", "Reason")
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                     size="sm", striped=True, responsive=True, className="bg-white small")
