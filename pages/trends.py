"""Trends (``/trends/<run_id>``): per condition mean ± sd over the repeats, against j.

E_nuc and E_growth, t_nuc and t_nuc(IRM), Q_nuc, and (when SEM exists) particle density and
mean diameter. Spots excluded in review are left out. The steady-state transport limit j_lim
of the run's pipette (core.analysis.transport) is marked on every plot.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.feedback import create_empty_state, create_error
from components.run_header import create_run_header
from components.trend_plots import create_trend_figure
from core.errors import MeniscusError
from core.results.metrics import METRICS
from core.results.runs import run_header
from core.results.trends import ConditionTrend, Trends, condition_trends
from pages._context import database_url

dash.register_page(__name__, path_template="/trends/<run_id>", name="Trends",
                   title="Trends · Meniscus")

#: (title, metrics on one plot, y-axis title or None for the first metric's, log y)
PLOTS = (
    ("Nucleation and growth potentials", ("e_nuc_V", "e_growth_V"), "E (V vs Li/Li⁺)", False),
    ("Nucleation time, electrochemical and optical", ("t_nuc_s", "t_nuc_irm_s"), "t (s)",
     False),
    ("Charge to nucleation", ("q_nuc_uAh_cm2",), None, False),
    ("Particle density (SEM)", ("density_per_cm2",), None, False),
    ("Mean particle diameter (SEM)", ("mean_diameter_nm",), None, False),
)
GRAPH_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "svg"}}


def layout(run_id: str | None = None, **_query):
    url = database_url()
    try:
        run = run_header(url, int(run_id))
        trends = condition_trends(url, run.id)
    except (TypeError, ValueError):
        return create_error(f"{run_id!r} is not a run id", title="No such run")
    except MeniscusError as error:
        return create_error(str(error), title="Cannot show the trends")
    return html.Div([create_run_header(run, current="trends"), trends_view(trends)])


def trends_view(trends: Trends) -> html.Div:
    """Plots for the metrics that have values, then the per-condition table."""
    conditions = trends.galvanostatic()
    plots = [
        dbc.Col(html.Div([html.H6(title), dcc.Graph(
            figure=create_trend_figure(conditions, metrics, j_lim_mA_cm2=trends.j_lim_mA_cm2,
                                       y_title=y_title, log_y=log_y),
            config=GRAPH_CONFIG)], className="card-panel"), lg=6)
        for title, metrics, y_title, log_y in PLOTS
        if any(trends.has_values(key) for key in metrics) and conditions
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
            + [html.Td(_mean_sd(condition, key)) for key in keys]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, responsive=True,
                     className="small bg-white")


def _mean_sd(condition: ConditionTrend, key: str) -> str:
    stat, metric = condition.stats[key], METRICS[key]
    if stat.mean is None:
        return "—"
    code = "e" if metric.significant else "f"
    digits = metric.digits - 1 if metric.significant else metric.digits
    text = f"{stat.mean:.{digits}{code}}"
    if stat.sd is not None:
        text += f" ± {stat.sd:.{digits}{code}}"
    return f"{text} (n={stat.n})"
