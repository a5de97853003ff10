"""Experiments (``/``): every run, searchable and filterable, with live progress.

URL: ``/?search=...&operator=...&instrument=...&state=a,b&tag=x,y&from=YYYY-MM-DD&to=...``
reproduces the filtered list. Live runs (queued, active, paused) refresh every
:data:`REFRESH_MS` from the ledger; the timer stops when none is live.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, callback, clientside_callback, dcc, html

from components.feedback import code, create_empty_state, create_error, create_loading
from components.run_table import create_runs_table
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.runs import RunFilter, list_runs, live_progress, run_filter_options
from pages._access import requires
from pages._context import database_url

dash.register_page(__name__, path="/", name="Experiments", title="Experiments · Meniscus",
                   order=0)

#: refresh period while a run is live, ms
REFRESH_MS = 2000


def layout(search: str = "", operator: str | None = None, instrument: str | None = None,
           state: str = "", tag: str = "", **query):
    options = run_filter_options(database_url())
    return html.Div([
        dcc.Store(id="experiments-query"),
        html.H3("Experiments", className="mb-3"),
        dbc.Row([
            dbc.Col(dbc.Input(id="experiments-search", type="search", value=search,
                              placeholder="Search names and notes", debounce=True), lg=3),
            dbc.Col(_picker("experiments-operator", options["operators"], operator,
                            "Operator"), lg=2),
            dbc.Col(_picker("experiments-instrument", options["instruments"], instrument,
                            "Instrument"), lg=2),
            dbc.Col(_picker("experiments-state", options["states"], _split(state), "Status",
                            multi=True), lg=2),
            dbc.Col(_picker("experiments-tag", options["tags"], _split(tag), "Tags",
                            multi=True), lg=1),
            dbc.Col(dcc.DatePickerRange(
                id="experiments-dates", start_date=query.get("from"), end_date=query.get("to"),
                display_format="YYYY-MM-DD", clearable=True, start_date_placeholder_text="From",
                end_date_placeholder_text="To"), lg=2),
        ], className="g-2 mb-3"),
        create_loading(html.Div(id="experiments-table")),
        dcc.Interval(id="experiments-refresh", interval=REFRESH_MS, disabled=True),
    ])


@callback(
    Output("experiments-table", "children"),
    Output("experiments-refresh", "disabled"),
    Output("experiments-query", "data"),
    Input("experiments-search", "value"),
    Input("experiments-operator", "value"),
    Input("experiments-instrument", "value"),
    Input("experiments-state", "value"),
    Input("experiments-tag", "value"),
    Input("experiments-dates", "start_date"),
    Input("experiments-dates", "end_date"),
    Input("experiments-refresh", "n_intervals"),
)
@requires(Permission.VIEW)
def update_runs(search, operator, instrument, states, tags, start, end, _tick):
    run_filter = RunFilter(search=search or "", operator=operator or None,
                           instrument=instrument or None, states=tuple(states or ()),
                           tags=tuple(tags or ()), created_from=_day(start),
                           created_to=_day(end))
    table, any_live = runs_view(run_filter)
    return table, not any_live, filter_query(run_filter)


def runs_view(run_filter: RunFilter):
    """(table or empty state, whether any listed run is live) for ``run_filter``."""
    url = database_url()
    try:
        runs = list_runs(url, run_filter)
        live = [run.id for run in runs if run.is_live]
        progress = live_progress(url, live)
    except MeniscusError as error:
        return create_error(str(error), title="Cannot list the runs"), False
    if runs:
        return create_runs_table(runs, progress), bool(live)
    if run_filter == RunFilter():
        return create_empty_state(
            "No runs yet",
            ["Design a grid and submit it from the Design page, or from a terminal: ",
             code("python -m workers submit GRID.yaml"), "."],
            ["To look around first, seed a small demo run on the digital twin: ",
             code("python scripts/seed_demo.py"), "."],
        ), False
    return create_empty_state("No runs match these filters",
                              "Clear a filter or search for something else."), False


def filter_query(run_filter: RunFilter) -> str:
    """The URL query string that reproduces ``run_filter`` (empty filters left out)."""
    pairs = {
        "search": run_filter.search.strip(), "operator": run_filter.operator,
        "instrument": run_filter.instrument, "state": ",".join(run_filter.states),
        "tag": ",".join(run_filter.tags),
        "from": run_filter.created_from and run_filter.created_from.isoformat(),
        "to": run_filter.created_to and run_filter.created_to.isoformat(),
    }
    encoded = urlencode({key: value for key, value in pairs.items() if value})
    return f"?{encoded}" if encoded else ""


def _picker(id: str, options: list[str], value, placeholder: str, *, multi: bool = False):
    return dcc.Dropdown(id=id, options=options, value=value, placeholder=placeholder,
                        multi=multi, clearable=True)


def _split(text: str) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


clientside_callback(ClientsideFunction(namespace="url", function_name="replaceQuery"),
                    Input("experiments-query", "data"))
