"""Results (``/results/<run_id>?metric=e_nuc_V``): one metric as a heatmap over the grid.

Clicking a cell opens that spot's page. The metric picker rewrites the URL (no reload), so
the address always reproduces the view (replaced, not pushed: Back leaves the page); live runs
refresh every :data:`REFRESH_MS`.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_error, create_loading
from components.graph_config import graph_config
from components.heatmap import create_heatmap
from components.run_header import create_run_header
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.grid_values import metric_grid
from core.results.metrics import is_known_metric, metric_choices
from core.results.runs import RunRow
from pages._access import requires
from pages._context import database_url, run_page

dash.register_page(__name__, path_template="/results/<run_id>", name="Results",
                   title="Results · Meniscus")

DEFAULT_METRIC = "e_nuc_V"
REFRESH_MS = 5000


def layout(run_id: str | None = None, metric: str = DEFAULT_METRIC, **_query):
    metric = metric if is_known_metric(metric) else DEFAULT_METRIC
    return run_page(run_id, lambda run: results_view(run, metric))


def results_view(run: RunRow, metric: str) -> html.Div:
    """The heatmap page of ``run`` opened on ``metric``."""
    return html.Div([
        dcc.Store(id="results-query"),
        dcc.Location(id="results-nav", refresh="callback-nav"),
        dcc.Store(id="results-run", data=run.id),
        create_run_header(run, current="results"),
        dbc.Row([
            dbc.Col(dbc.Select(id="results-metric", value=metric, options=[
                {"label": label, "value": key} for key, label in metric_choices()]),
                md=4, lg=3),
            dbc.Col(html.Div(id="results-summary", className="small text-muted pt-2")),
        ], className="g-2 mb-2"),
        html.Div(id="results-error"),
        create_loading(dcc.Graph(id="results-heatmap", className="results-heatmap",
                                 style={"height": "calc(100vh - 290px)", "minHeight": "300px"},
                                 config=graph_config(f"run_{run.id}_heatmap", scrollZoom=True,
                                                     responsive=True))),
        html.Div("Click a cell to open the spot: its curves, movie and analysis.",
                 className="small text-muted"),
        dcc.Interval(id="results-refresh", interval=REFRESH_MS, disabled=not run.is_live),
    ])


@callback(
    Output("results-heatmap", "figure"),
    Output("results-summary", "children"),
    Output("results-error", "children"),
    Output("results-query", "data"),
    Input("results-metric", "value"),
    Input("results-refresh", "n_intervals"),
    State("results-run", "data"),
)
@requires(Permission.VIEW)
def update_heatmap(metric, _tick, run_id):
    figure, summary, error = heatmap_view(run_id, metric)
    return figure, summary, error, f"?metric={metric}"


def heatmap_view(run_id: int, metric: str):
    """(figure, summary text, error) for one metric of one run."""
    try:
        grid = metric_grid(database_url(), run_id, metric)
    except (MeniscusError, ValueError) as error:
        return dash.no_update, "", create_error(str(error), title="Cannot show this metric")
    summary = f"{grid.n_values} of {grid.n_spots} spots have a value"
    return create_heatmap(grid), summary, None


@callback(Output("results-nav", "href"), Input("results-heatmap", "clickData"),
          prevent_initial_call=True)
@requires(Permission.VIEW)
def open_spot(click):
    """A click on a cell opens its spot (cells without a spot do nothing).

    Sets ``href``, not ``pathname``: a Location whose ``href`` went stale (another Location
    rewrote the query) pushes that stale ``href`` and ignores a new ``pathname``.
    """
    target = spot_path(click)
    if target is None:
        raise PreventUpdate
    return target


def spot_path(click: dict | None) -> str | None:
    """``/spot/<id>`` for a heatmap click, None for a click on an empty cell."""
    try:
        spot_id = int(click["points"][0]["customdata"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return f"/spot/{spot_id}" if spot_id >= 0 else None


clientside_callback(ClientsideFunction(namespace="url", function_name="replaceQuery"),
                    Input("results-query", "data"))
