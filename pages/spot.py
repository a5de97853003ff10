"""Spot (``/spot/<spot_id>?frame=N&view=raw``): curves, movie and analyses of one spot.

E–t and E–Q with E_nuc, E_growth, t_nuc and t_nuc(IRM) marked (CV spots: the voltammogram,
CE per cycle and, when filmed, the CE(IRM) map of every cycle); the IRM movie player, whose
frame is mirrored in the URL and as a cursor on the E–t plot; the t_nuc(IRM) map; the
parameters every analysis ran with, editable and re-run as a new version (operators), with
each kind's list of versions, followed until the new one is stored.
"""

from __future__ import annotations

import time

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import (
    ALL,
    MATCH,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
)

import core
from components import analysis_panel as panel
from components import movie_player as player
from components.analysis_panel import (
    create_analysis_panel,
    create_key_numbers,
    create_reanalysis_form,
    create_version_table,
)
from components.ce_maps import create_ce_maps_figure
from components.curves import (
    create_ce_figure,
    create_intensity_figure,
    create_potential_charge_figure,
    create_potential_time_figure,
    create_voltammogram_figure,
    growth_window_s,
)
from components.feedback import create_empty_state, create_error
from components.graph_config import graph_config
from components.tnuc_map import create_tnuc_map_figure
from core.analysis.parameters import (
    PARAMETERS,
    default_parameters,
    parameter_errors,
)
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.metrics import CV, GALVANOSTATIC, IRM, IRM_MAPS, METRICS
from core.results.movie_analysis import CE_IRM, CE_IRM_MAPS
from core.results.spot_detail import SpotDetail, analysis_versions, spot_detail
from pages._access import current_actor, requires
from pages._context import data_dir, database_url, submit_settings
from pages._spot_review import exclusion_banner, review_panel
from pages._spot_sem import create_spot_sem_section
from workers import guarded

dash.register_page(__name__, path_template="/spot/<spot_id>", name="Spot",
                   title="Spot · Meniscus")

ET_GRAPH_ID = "spot-et"
SPOT_REF_ID = "spot-ref"
#: a queued re-run not stored after this long is reported as stuck, s
PENDING_LIMIT_S = 300.0


def layout(spot_id: str | None = None, frame: str | None = None, view: str = "raw",
           **_query):
    try:
        detail = spot_detail(database_url(), data_dir(), int(spot_id))
    except (TypeError, ValueError):
        return create_error(f"{spot_id!r} is not a spot id", title="No such spot")
    except MeniscusError as error:
        return create_error(str(error), title="Cannot show this spot")
    try:
        frame_index = int(frame) if frame is not None else default_frame(detail)
    except ValueError:
        frame_index = 0
    return spot_view(detail, frame=frame_index, view=view)


def default_frame(detail: SpotDetail) -> int:
    """The frame a spot opens on: nearest t_nuc (the moment to look at), else the landing."""
    if detail.movie is None:
        return 0
    t_nuc = detail.result(GALVANOSTATIC, "t_nuc_s")
    if t_nuc is None:
        return detail.movie.landing_frame
    return int(np.argmin(np.abs(np.asarray(detail.movie.times_s) - t_nuc)))


def spot_view(detail: SpotDetail, *, frame: int = 0, view: str = "raw") -> html.Div:
    """The page for a loaded spot."""
    return html.Div([
        dcc.Store(id=SPOT_REF_ID, data={"spot_id": detail.spot_id, "run_id": detail.run_id}),
        _header(detail),
        create_key_numbers(_key_numbers(detail)),
        dbc.Row([
            dbc.Col(_curves(detail, frame), lg=7),
            dbc.Col(_movie_column(detail, frame, view), lg=5),
        ], className="g-3"),
        _ce_maps_section(detail),
        create_spot_sem_section(detail.spot_id, detail.run_id),
        review_panel(detail.spot_id, detail.run_id),
        _analyses_section(detail),
    ])


def _analyses_section(detail: SpotDetail) -> html.Div:
    """Every analysis' parameters and results; editable kinds with their re-run form."""
    if not detail.analyses:
        body = html.P("Not analysed yet: the analysis workers pick measured spots up as "
                      "they come.", className="text-muted")
    else:
        body = create_analysis_panel(detail.analyses, extras=_reanalysis_forms(detail))
    return html.Div([html.H5("Analyses", className="mt-3"), body])


def _reanalysis_forms(detail: SpotDetail) -> dict[str, list]:
    actor = current_actor()
    allowed = actor is not None and actor.can(Permission.REANALYSE)
    forms = {}
    for kind, specs in PARAMETERS.items():
        if kind not in detail.analyses:
            continue
        current = {**default_parameters(kind), **detail.analyses[kind].parameters}
        forms[kind] = [create_reanalysis_form(
            kind, specs, current, allowed=allowed,
            versions=analysis_versions(database_url(), detail.spot_id, kind))]
    return forms


def _ce_maps_section(detail: SpotDetail):
    """CE(IRM) per cycle of a filmed CV: the maps, or why there are none."""
    maps = detail.analyses.get(CE_IRM_MAPS)
    if maps is None:
        return None
    if "error" in maps.results:
        return _panel_box("CE(IRM) per cycle", dbc.Alert(
            f"No CE(IRM) maps: {maps.results['error']}", color="warning", className="mb-0"))
    calibration = detail.result(CE_IRM, "calibration") or {}
    note = ""
    if calibration:
        note = (f"CE = {calibration['slope']:.3f}·(I_a/I_c) {calibration['intercept']:+.3f} "
                f"(R² {calibration['r2']:.3f}, {calibration['n_cycles']} cycles); "
                "empty blocks: inverted contrast, no significant plating rise, or outside "
                "the footprint.")
    return _panel_box("CE(IRM) per cycle", html.Div([
        dcc.Graph(figure=create_ce_maps_figure(maps.results["maps"]),
                  config=graph_config(_download_name(detail, "ce_irm_maps"))),
        html.Div(note, className="small text-muted"),
    ]))


def _header(detail: SpotDetail) -> html.Div:
    place = (f"row {detail.row}, col {detail.col}" if detail.row is not None
             else f"({detail.x_um:g}, {detail.y_um:g}) µm")
    neighbours = [
        dcc.Link("← previous", href=f"/spot/{detail.previous_id}", className="me-3")
        if detail.previous_id else None,
        dcc.Link("next →", href=f"/spot/{detail.next_id}") if detail.next_id else None,
    ]
    return html.Div([
        html.Div([dcc.Link("Experiments", href="/"), " / ",
                  dcc.Link(detail.run_name, href=f"/results/{detail.run_id}"), " / ",
                  f"spot {detail.spot_id}"], className="small text-muted"),
        html.Div([
            html.H3(f"{detail.condition}", className="d-inline me-2 mb-0"),
            dbc.Badge(detail.state.replace("_", " "),
                      color="success" if detail.state == "done" else "warning", pill=True),
            html.Div(neighbours, className="ms-auto small"),
        ], className="d-flex align-items-center"),
        html.Div(f"{place} · visit {detail.order + 1} · repeat {detail.repeat + 1} · "
                 f"x {detail.x_um:g} µm, y {detail.y_um:g} µm"
                 + (f" · {detail.n_samples} samples" if detail.n_samples else ""),
                 className="small text-muted mb-2"),
        exclusion_banner(detail.spot_id),
        dbc.Alert(f"Spot error: {detail.error}", color="warning", className="py-2")
        if detail.error else None,
    ])


def _key_numbers(detail: SpotDetail) -> dict:
    values = {}
    for key, metric in METRICS.items():
        if metric.kind in detail.analyses and "error" not in detail.analyses[metric.kind].results:
            node = detail.analyses[metric.kind].results
            for step in metric.path:
                node = _step(node, step)
            values[key] = node if isinstance(node, int | float) else None
    return values


def _step(node, step):
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and node else None
    return node.get(step) if isinstance(node, dict) else None


def _curves(detail: SpotDetail, frame: int) -> list:
    if detail.trace is None:
        return [create_empty_state("No data for this spot",
                                   f"The spot is {detail.state.replace('_', ' ')}: "
                                   "nothing was recorded here.")]
    technique = detail.technique.get("technique")
    if technique == "cv":
        cycles = detail.result(CV, "cycles") or []
        ce_irm = detail.result(CE_IRM, "cycles")
        return [_panel("Cyclic voltammogram", create_voltammogram_figure(detail.trace),
                       _download_name(detail, "voltammogram")),
                _panel("Coulombic efficiency", create_ce_figure(cycles, ce_irm_cycles=ce_irm),
                       _download_name(detail, "ce")) if cycles else None]
    marks = _marks(detail)
    cursor = None
    if detail.movie is not None:
        cursor = float(detail.movie.times_s[min(max(frame, 0), detail.movie.n_frames - 1)])
    et = create_potential_time_figure(detail.trace, cursor_s=cursor, **marks)
    panels = [_panel("Potential vs time", et, _download_name(detail, "potential_time"),
                     graph_id=ET_GRAPH_ID)]
    if detail.current_density_mA_cm2:
        panels.append(_panel("Potential vs charge (Q = j·t)", create_potential_charge_figure(
            detail.trace, detail.current_density_mA_cm2, **marks),
            _download_name(detail, "potential_charge")))
    maps = detail.analyses.get(IRM_MAPS)
    if maps is not None and "intensity" in maps.results:
        intensity = maps.results["intensity"]
        panels.append(_panel("IRM intensity over the footprint (processed)",
                             create_intensity_figure(
                                 intensity["times_s"], intensity["mean_counts"],
                                 t_nuc_irm_s=marks["t_nuc_irm_s"], t_nuc_s=marks["t_nuc_s"]),
                             _download_name(detail, "irm_intensity")))
    return panels


def _marks(detail: SpotDetail) -> dict:
    t_nuc = detail.result(GALVANOSTATIC, "t_nuc_s")
    window = None
    if detail.result(GALVANOSTATIC, "e_growth_V") is not None:
        fraction = (detail.analyses[GALVANOSTATIC].parameters
                    .get("growth_window_fraction", 0.2))
        window = growth_window_s(t_nuc, float(detail.trace.time_s[-1]), fraction)
    return {"e_nuc_V": detail.result(GALVANOSTATIC, "e_nuc_V"), "t_nuc_s": t_nuc,
            "e_growth_V": detail.result(GALVANOSTATIC, "e_growth_V"), "growth_window": window,
            "t_nuc_irm_s": detail.result(IRM, "t_nuc_irm_s")}


def _movie_column(detail: SpotDetail, frame: int, view: str) -> list:
    if detail.movie is None:
        return [_panel_box("IRM movie", create_empty_state(
            "No movie", "This spot was not filmed (camera off, or a CV without a movie)."))]
    column = [_panel_box("IRM movie", player.create_movie_player(
        detail.spot_id, detail.movie, frame=frame, view=view))]
    maps = detail.analyses.get(IRM_MAPS)
    if maps is not None and "t_nuc_map" in maps.results and detail.movie.pixel_size_nm:
        column.append(_panel("t_nuc(IRM) map", create_tnuc_map_figure(
            maps.results["t_nuc_map"], detail.movie.pixel_size_nm),
            _download_name(detail, "tnuc_irm_map")))
    return column


def _panel(title: str, figure, filename: str, *, graph_id: str | None = None):
    """``figure`` under ``title``; its PNG/SVG downloads are named ``filename``."""
    graph = dcc.Graph(figure=figure, config=graph_config(filename),
                      **({"id": graph_id} if graph_id else {}))
    return _panel_box(title, graph)


def _download_name(detail: SpotDetail, what: str) -> str:
    """Download name of the plot ``what`` of this spot: ``run_3_spot_41_potential_time``."""
    return f"run_{detail.run_id}_spot_{detail.spot_id}_{what}"


def _panel_box(title: str, child) -> html.Div:
    return html.Div([html.H6(title), child], className="card-panel")


@callback(
    Output({"type": panel.FEEDBACK, "kind": MATCH}, "children"),
    Output({"type": panel.PENDING, "kind": MATCH}, "data"),
    Input({"type": panel.RUN_BUTTON, "kind": MATCH}, "n_clicks"),
    State({"type": panel.PARAM, "kind": MATCH, "name": ALL}, "value"),
    State({"type": panel.PARAM, "kind": MATCH, "name": ALL}, "id"),
    State({"type": panel.SCOPE, "kind": MATCH}, "value"),
    State(SPOT_REF_ID, "data"),
    prevent_initial_call=True,
)
@requires(Permission.REANALYSE)
def rerun_analysis(_clicks, values, ids, scope, spot):
    """Queue the kind with the form's options as a new version (its companion kinds, e.g.
    the arrays of ``ce_irm``, are stored by the same task)."""
    kind = dash.ctx.triggered_id["kind"]
    options = {ident["name"]: value for ident, value in zip(ids, values, strict=True)}
    return request_reanalysis(spot, kind, options, every_spot=scope == "run")


def request_reanalysis(spot: dict, kind: str, options: dict, *, every_spot: bool):
    """(feedback, pending) for a re-run request: refused with the reasons, or queued
    through :func:`workers.guarded.reanalyse` as the request's user."""
    empty = [name for name, value in options.items() if value is None]
    errors = [f"{name} is empty or not a number" for name in empty] + parameter_errors(
        kind, {name: value for name, value in options.items() if value is not None})
    if errors:
        return dbc.Alert([html.Strong("Not re-run: "), html.Ul([html.Li(e) for e in errors],
                                                              className="mb-0")],
                         color="danger"), dash.no_update
    versions = analysis_versions(database_url(), spot["spot_id"], kind)
    latest = versions[0] if versions else None
    if (not every_spot and latest is not None
            and latest.software_version == core.__version__
            and all(latest.parameters.get(name) == value for name, value in options.items())):
        return dbc.Alert(f"Version {latest.version} already ran with these options and this "
                         "software: nothing to re-run.", color="info"), dash.no_update
    try:
        # one task stores the kind and its companion kinds (core.analysis.parameters)
        queued = guarded.reanalyse(current_actor(), spot["run_id"], kind=kind,
                                   parameters=options,
                                   spot_id=None if every_spot else spot["spot_id"],
                                   settings=submit_settings())
    except MeniscusError as error:
        return create_error(str(error), title="Not re-run"), dash.no_update
    after = latest.version if latest is not None else 0
    where = f"{len(queued)} measured spots of the run" if every_spot else "this spot"
    return (dbc.Alert(f"Queued {kind} for {where}: version {after + 1} of this spot appears "
                      "below once the analysis workers have stored it.", color="info"),
            {"spot_id": spot["spot_id"], "kind": kind, "after": after, "since": time.time()})


@callback(
    Output({"type": panel.VERSIONS, "kind": MATCH}, "children"),
    Output({"type": panel.POLL, "kind": MATCH}, "disabled"),
    Output({"type": panel.STATUS, "kind": MATCH}, "children"),
    Input({"type": panel.PENDING, "kind": MATCH}, "data"),
    Input({"type": panel.POLL, "kind": MATCH}, "n_intervals"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def follow_reanalysis(pending, _tick):
    """While a re-run is queued, refresh the version list until its version is stored."""
    return reanalysis_progress(pending, now=time.time())


def reanalysis_progress(pending: dict | None, *, now: float):
    """(version table, poll disabled, status) for a queued re-run (``pending``)."""
    if not pending:
        return dash.no_update, True, None
    versions = analysis_versions(database_url(), pending["spot_id"], pending["kind"])
    table = create_version_table(versions)
    if versions and versions[0].version > pending["after"]:
        newest = versions[0]
        return table, True, dbc.Alert([
            f"Version {newest.version} is stored"
            + (" (the analysis failed: see its results)" if newest.failed else "") + ". ",
            html.A("Reload the page", href=f"/spot/{pending['spot_id']}"),
            " to see its results on the curves."], color="success")
    waited = now - pending["since"]
    if waited > PENDING_LIMIT_S:
        return table, True, dbc.Alert(
            f"No new version after {waited / 60:.0f} min: the analysis workers may be busy "
            "or stopped (python -m workers status).", color="warning")
    return table, False, html.Div([dbc.Spinner(size="sm", spinner_class_name="me-2"),
                                   f"Waiting for the analysis workers ({waited:.0f} s)…"],
                                  className="small text-muted")


clientside_callback(
    ClientsideFunction(namespace="movie", function_name="toggle"),
    Output(player.TIMER_ID, "disabled"), Output(player.PLAY_ID, "children"),
    Input(player.PLAY_ID, "n_clicks"), State(player.TIMER_ID, "disabled"),
)
clientside_callback(
    ClientsideFunction(namespace="movie", function_name="step"),
    Output(player.SLIDER_ID, "value"),
    Input(player.TIMER_ID, "n_intervals"), State(player.SLIDER_ID, "value"),
    State(player.META_ID, "data"),
)
clientside_callback(
    ClientsideFunction(namespace="movie", function_name="period"),
    Output(player.TIMER_ID, "interval"),
    Input(player.SPEED_ID, "value"), State(player.META_ID, "data"),
)
clientside_callback(
    ClientsideFunction(namespace="movie", function_name="show"),
    Output(player.IMAGE_ID, "src"), Output(player.LABEL_ID, "children"),
    Output(ET_GRAPH_ID, "figure"),
    Input(player.SLIDER_ID, "value"), Input(player.VIEW_ID, "value"),
    State(player.META_ID, "data"), State(ET_GRAPH_ID, "figure"),
    prevent_initial_call=True,
)
