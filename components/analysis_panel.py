"""Key numbers of a spot and, per analysis kind, the parameters and results it ran with."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from core.results.metrics import METRICS
from core.results.spot_detail import AnalysisInfo

#: results keys not worth a row in the results table (arrays, nested structures)
_SKIPPED = ("cycles", "bounds", "intensity", "t_nuc_map")


def create_key_numbers(values: dict[str, float | None]) -> dbc.Row:
    """Small cards with each available metric (key → value), units in the labels."""
    cards = []
    width = {"xs": 6, "md": 4, "lg": 3, "xl": True} if len(values) > 4 else {"xs": 6, "md": 3}
    for key, value in values.items():
        metric = METRICS[key]
        text = "—" if value is None else (
            f"{value:.{metric.digits - 1}e}" if metric.significant
            else f"{value:.{metric.digits}f}")
        cards.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div(metric.axis_title, className="key-number-label", title=metric.axis_title),
            html.Div(text, className="key-number"),
        ], className="py-1 px-2"), className="h-100"), **width))
    return dbc.Row(cards, className="g-2 mb-3")


def create_analysis_panel(analyses: dict[str, AnalysisInfo]) -> dbc.Accordion:
    """One accordion item per analysis kind: version, software, parameters, results."""
    items = []
    for kind, info in sorted(analyses.items()):
        error = info.results.get("error")
        body = [
            html.Div(f"version {info.version} · software {info.software_version} · "
                     f"{info.created_at:%Y-%m-%d %H:%M} UTC", className="small text-muted mb-2"),
            dbc.Alert(f"This analysis failed: {error}", color="warning") if error else None,
            dbc.Row([
                dbc.Col([html.H6("Parameters"), _table(_flatten(info.parameters))], md=6),
                dbc.Col([html.H6("Results"), _table(_flatten(
                    {k: v for k, v in info.results.items() if k not in _SKIPPED}))], md=6),
            ]),
        ]
        items.append(dbc.AccordionItem(body, title=f"{kind} (v{info.version})"))
    return dbc.Accordion(items, start_collapsed=True, always_open=True)


def _flatten(mapping: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, f"{name}.")
        elif isinstance(value, float):
            rows.append((name, f"{value:.6g}"))
        elif isinstance(value, list):
            rows.append((name, f"[{len(value)} values]" if len(value) > 6 else str(value)))
        else:
            rows.append((name, "—" if value is None else str(value)))
    return rows


def _table(rows: list[tuple[str, str]]) -> dbc.Table:
    return dbc.Table(html.Tbody([html.Tr([html.Td(html.Code(k)), html.Td(v)]) for k, v in rows]),
                     size="sm", className="small mb-0")
