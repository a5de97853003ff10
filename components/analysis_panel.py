"""Key numbers of a spot and, per analysis kind, the parameters and results it ran with;
for kinds with adjustable options, a form to re-run them and the list of stored versions.

Companion kinds (the arrays of a computation stored as two kinds: ``irm_maps``,
``ce_irm_maps``, ``sem_outlines``; :data:`core.analysis.parameters.COMPANION_KINDS`) get no
item: the page draws them, and their scalar kind's item lists the options both ran with."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.number_format import format_metric
from core.analysis.parameters import ParameterSpec, is_companion_kind
from core.results.metrics import METRICS
from core.results.spot_detail import AnalysisInfo, AnalysisVersion

#: results keys not worth a row in the results table (per-cycle lists of the CV kinds)
_SKIPPED = ("cycles", "bounds")

#: pattern-matching id types of the re-run form's pieces (``{"type": ..., "kind": kind}``;
#: each option input also carries ``"name"``)
PARAM = "reanalyse-param"
RUN_BUTTON = "reanalyse-run"
SCOPE = "reanalyse-scope"
FEEDBACK = "reanalyse-feedback"
STATUS = "reanalyse-status"
VERSIONS = "reanalyse-versions"
PENDING = "reanalyse-pending"
POLL = "reanalyse-poll"
#: how often the page looks for the new version while one is queued, ms
POLL_MS = 2000


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


def create_analysis_panel(analyses: dict[str, AnalysisInfo],
                          extras: dict[str, list] | None = None) -> dbc.Accordion:
    """One accordion item per analysis kind but companion kinds: version, software,
    parameters, results, and ``extras[kind]`` (e.g. its re-run form) at the end of the item."""
    extras = extras or {}
    items = []
    for kind, info in sorted(analyses.items()):
        if is_companion_kind(kind):
            continue
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
            *extras.get(kind, []),
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
            # a metric reads as on the cards and heatmaps; other numbers keep 6 digits
            rows.append((name, format_metric(key, value) if key in METRICS else f"{value:.6g}"))
        elif isinstance(value, list):
            rows.append((name, f"[{len(value)} values]" if len(value) > 6 else str(value)))
        else:
            rows.append((name, "—" if value is None else str(value)))
    return rows


def _table(rows: list[tuple[str, str]]) -> dbc.Table:
    return dbc.Table(html.Tbody([html.Tr([html.Td(html.Code(k)), html.Td(v)]) for k, v in rows]),
                     size="sm", className="small mb-0")


def create_reanalysis_form(kind: str, specs: tuple[ParameterSpec, ...], current: dict, *,
                           allowed: bool, versions: list[AnalysisVersion]) -> html.Div:
    """The options of ``kind`` filled with ``current`` (the latest version's), a Re-run
    button (disabled with a note when not ``allowed``), the scope (this spot or every
    measured spot of the run), the feedback area and the version list, with the store and
    interval that follow a queued re-run."""
    rows = [_option_row(kind, spec, current.get(spec.name)) for spec in specs]
    button = dbc.Button("Re-run as a new version", id={"type": RUN_BUTTON, "kind": kind},
                        color="primary", size="sm", disabled=not allowed)
    return html.Div([
        html.H6("Re-run with other options", className="mt-3"),
        html.Div(rows),
        dbc.RadioItems(id={"type": SCOPE, "kind": kind}, value="spot", inline=True,
                       className="small my-2", options=[
                           {"label": "this spot", "value": "spot"},
                           {"label": "every measured spot of the run", "value": "run"}]),
        html.Div([button, html.Span(
            "" if allowed else "Re-running needs the operator role.",
            className="small text-muted ms-2")]),
        dcc.Loading(html.Div(id={"type": FEEDBACK, "kind": kind}, className="mt-2"),
                    type="dot", delay_show=200),
        html.Div(id={"type": STATUS, "kind": kind}, className="mt-2"),
        dcc.Store(id={"type": PENDING, "kind": kind}),
        dcc.Interval(id={"type": POLL, "kind": kind}, interval=POLL_MS, disabled=True),
        html.H6("Versions", className="mt-3"),
        html.Div(create_version_table(versions), id={"type": VERSIONS, "kind": kind}),
    ], className="border-top pt-2 mt-3")


def _option_row(kind: str, spec: ParameterSpec, value) -> dbc.Row:
    ident = {"type": PARAM, "kind": kind, "name": spec.name}
    if spec.type == "bool":
        field = dbc.Switch(id=ident, value=bool(value), label=spec.label,
                           className="small mb-0")
        label = html.Code(spec.name)
    else:
        field = dbc.InputGroup([
            # no min/max here: the browser would send an out-of-range entry as empty; the
            # page's check names the value and its limit instead
            dbc.Input(id=ident, type="number", value=value, size="sm",
                      step="any" if spec.type == "float" else 1),
            dbc.InputGroupText(spec.unit, className="small") if spec.unit else None,
        ], size="sm")
        label = html.Span([html.Code(spec.name), html.Span(f" {spec.label}",
                                                          className="text-muted")])
    return dbc.Row([
        dbc.Col(label, md=7, className="small"),
        dbc.Col([field, html.Div(spec.describe_range(), className="form-text mt-0")], md=5),
    ], className="g-2 mb-1 align-items-center")


def create_version_table(versions: list[AnalysisVersion]) -> dbc.Table | html.P:
    """Version, when (UTC), software and options of every stored version, newest first."""
    if not versions:
        return html.P("No version stored yet.", className="small text-muted")
    header = html.Thead(html.Tr([html.Th(name) for name in
                                 ("version", "when (UTC)", "software", "options")]))
    body = html.Tbody([
        html.Tr([
            html.Td([f"v{version.version}", dbc.Badge("failed", color="warning",
                                                      className="ms-1")
                     if version.failed else None]),
            html.Td(f"{version.created_at:%Y-%m-%d %H:%M:%S}"),
            html.Td(version.software_version),
            html.Td(", ".join(f"{name} = {text}" for name, text in
                              _flatten(version.parameters)) or "defaults"),
        ]) for version in versions
    ])
    return dbc.Table([header, body], size="sm", className="small mb-0", striped=True)
