"""Trends (``/trends/<run_id>``): per condition mean ± sd over the repeats, against j.

E_nuc and E_growth, t_nuc and t_nuc(IRM), Q_nuc, and (when SEM exists) particle density and
mean diameter. Spots excluded in review are left out. The steady-state transport limit j_lim
of the run's pipette (core.analysis.transport) is marked on every plot.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.feedback import create_empty_state
from components.graph_config import graph_config
from components.run_header import create_run_header
from components.trend_plots import create_trend_plot, format_mean_sd, trend_plots_with_values
from core.results.metrics import METRICS
from core.results.trends import ConditionTrend, Trends, condition_trends
from pages._context import database_url, run_page

dash.register_page(__name__, path_template="/trends/<run_id>", name="Trends",
                   title="Trends · Meniscus")

def layout(run_id: str | None = None, **_query):
    return run_page(run_id, lambda run: html.Div([
        create_run_header(run, current="trends"),
        trends_view(condition_trends(database_url(), run.id))]),
        title="Cannot show the trends")


def trends_view(trends: Trends) -> html.Div:
    """Plots for the metrics that have values, then the per-condition table."""
    plots = [
        dbc.Col(html.Div([html.H6(plot.title), dcc.Graph(
            figure=create_trend_plot(trends, plot),
            config=graph_config(plot.filename(trends.run_id)))],
            className="card-panel"), lg=6)
        for plot in trend_plots_with_values(trends)
    ]
    if not plots:
        body = create_empty_state(
            "No trends yet",
            "Trends need galvanostatic spots with analysed values; none of this run's "
            "conditions has any yet.")
    else:
        body = dbc.Row(plots, className="g-3")
    note = html.P([
        "Mean ± sd over the repeats of each condition; spots excluded in review are left out. ",
        f"Dashed line: steady-state transport limit j_lim ≈ {trends.j_lim_mA_cm2:.2f} mA/cm² "
        f"for the {trends.pipette_diameter_um:g} µm pipette (Anderson & Edwards)."
        if trends.j_lim_mA_cm2 else ""], className="small text-muted")
    return html.Div([note, body, html.H5("Per condition", className="mt-3"),
                     _table(trends.conditions)])


def _table(conditions: list[ConditionTrend]) -> dbc.Table:
    keys = [key for key in METRICS if any(c.stats[key].mean is not None for c in conditions)]
    header = html.Thead(html.Tr(
        [html.Th("Condition"), html.Th("Spots (kept / excluded)")]
        + [html.Th(METRICS[key].axis_title) for key in keys]))
    rows = []
    for condition in conditions:
        flag = (dbc.Badge("above j_lim", color="warning", text_color="dark", className="ms-1")
                if condition.above_transport_limit else None)
        rows.append(html.Tr(
            [html.Td([condition.condition, flag]),
             html.Td(f"{condition.n_measured} / {condition.n_excluded} of {condition.n_spots}")]
            + [html.Td(format_mean_sd(condition, key)) for key in keys]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, responsive=True,
                     className="small bg-white")

