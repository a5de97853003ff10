"""The experiments list: one row per run with its state, progress and links."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.states import create_state_badge
from core.results.runs import RunRow


def create_runs_table(runs: list[RunRow], progress: dict[int, dict] | None = None) -> dbc.Table:
    """Runs as a table; ``progress`` (run id → ledger progress) adds ETA to live runs."""
    progress = progress or {}
    header = html.Thead(html.Tr([html.Th(name) for name in (
        "Run", "State", "Spots", "Instrument", "Operator", "Tags", "Created (UTC)", "")]))
    body = html.Tbody([_row(run, progress.get(run.id)) for run in runs])
    return dbc.Table([header, body], hover=True, responsive=True, size="sm",
                     className="align-middle runs-table")


def _row(run: RunRow, live: dict | None) -> html.Tr:
    return html.Tr([
        html.Td([dcc.Link(run.name, href=f"/results/{run.id}", className="fw-semibold"),
                 html.Div(f"run {run.id}", className="text-muted small")]),
        html.Td([create_state_badge(run.state),
                 html.Div(run.error, className="text-danger small") if run.error else None]),
        html.Td(_spots(run, live), style={"minWidth": "11rem"}),
        html.Td(run.instrument),
        html.Td(run.operator or "—"),
        html.Td([dbc.Badge(tag, color="light", text_color="dark", className="me-1 border")
                 for tag in run.tags]),
        html.Td(run.created_at.strftime("%Y-%m-%d %H:%M"), className="text-nowrap"),
        html.Td([dcc.Link("Results", href=f"/results/{run.id}", className="me-2"),
                 dcc.Link("Trends", href=f"/trends/{run.id}")], className="text-nowrap"),
    ])


def _spots(run: RunRow, live: dict | None):
    total = live["total"] if live else run.total
    finished = live["finished"] if live else run.finished
    done = run.by_state.get("done", 0)
    missed = [f"{n} {state.replace('_', ' ')}" for state, n in sorted(run.by_state.items())
              if state in _MISSED and n]
    summary = " · ".join([f"{done}/{total} measured", *missed])
    if not run.is_live:
        return html.Span(summary, className="small")
    eta = live.get("eta_s") if live else None
    return html.Div([
        dbc.Progress(value=100 * finished / total if total else 0, striped=True,
                     animated=run.state == "active", style={"height": "0.6rem"},
                     className="mb-1"),
        html.Span(f"{finished}/{total}" + (f" · ETA {_duration(eta)}" if eta else ""),
                  className="small text-muted"),
    ])


#: final spot states other than done, shown by name in the spot summary
_MISSED = ("failed", "interrupted", "no_contact", "skipped")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
