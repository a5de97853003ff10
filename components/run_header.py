"""The header shared by a run's pages: name, state, spot counts and links between views."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.states import create_state_badge
from core.results.runs import RunRow

#: downloads of a run (label, file name under /runs/<id>/, tooltip), served by app_routes and
#: app_exports; the browser saves each as run_<id>_<file name>
EXPORTS = (
    ("Spot table (CSV)", "spots.csv", "every spot with its metrics, one row each"),
    ("HDF5 bundle", "bundle.h5", "the table, the grid and every spot's trace and movie"),
    ("Report (HTML)", "report.html", "one page: who ran it, heatmaps, trends, conditions"),
)


def create_run_header(run: RunRow, *, current: str) -> html.Div:
    """Run title with its state and counts; ``current`` (results, trends, review) is not linked."""
    views = (("results", "Heatmaps", f"/results/{run.id}"),
             ("trends", "Trends", f"/trends/{run.id}"),
             ("review", "Review", f"/review/{run.id}"),
             ("import", "SEM import", f"/import/{run.id}"))
    links = [
        html.Span(label, className="me-3 fw-semibold") if key == current
        else dcc.Link(label, href=href, className="me-3")
        for key, label, href in views
    ]
    links += [html.A(label, href=f"/runs/{run.id}/{name}", download=f"run_{run.id}_{name}",
                     title=hint, className="me-3")
              for label, name, hint in EXPORTS]
    counts = ", ".join(f"{n} {state.replace('_', ' ')}"
                       for state, n in sorted(run.by_state.items(), key=lambda kv: -kv[1]))
    return html.Div([
        html.Div([dcc.Link("Experiments", href="/"), html.Span(" / "),
                  html.Span(f"run {run.id}")], className="small text-muted"),
        html.Div([html.H3(run.name, className="d-inline me-2 mb-0"),
                  create_state_badge(run.state)], className="d-flex align-items-center"),
        html.Div([html.Span(f"{run.total} spots: {counts}" if run.total else "no spots",
                            className="text-muted me-3"),
                  html.Span(f"{run.instrument} · {run.operator or 'no operator'}",
                            className="text-muted")], className="small mb-1"),
        dbc.Nav(links, className="mb-2"),
    ])
