"""Spot (``/spot/<spot_id>?frame=N&view=raw``): curves, movie and analyses of one spot.

E–t and E–Q with E_nuc, E_growth, t_nuc and t_nuc(IRM) marked (CV spots: the voltammogram and
CE per cycle); the IRM movie player, whose frame is mirrored in the URL and as a cursor on the
E–t plot; the t_nuc(IRM) map; the parameters every analysis ran with.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components import movie_player as player
from components.analysis_panel import create_analysis_panel, create_key_numbers
from components.curves import (
    create_ce_figure,
    create_intensity_figure,
    create_potential_charge_figure,
    create_potential_time_figure,
    create_voltammogram_figure,
    growth_window_s,
)
from components.feedback import create_empty_state, create_error
from components.tnuc_map import create_tnuc_map_figure
from core.errors import MeniscusError
from core.results.metrics import CV, GALVANOSTATIC, IRM, IRM_MAPS, METRICS
from core.results.spot_detail import SpotDetail, spot_detail
from pages._context import data_dir, database_url

dash.register_page(__name__, path_template="/spot/<spot_id>", name="Spot",
                   title="Spot · Meniscus")

ET_GRAPH_ID = "spot-et"
GRAPH_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "svg"}}


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
        _header(detail),
        create_key_numbers(_key_numbers(detail)),
        dbc.Row([
            dbc.Col(_curves(detail, frame), lg=7),
            dbc.Col(_movie_column(detail, frame, view), lg=5),
        ], className="g-3"),
        html.H5("Analyses", className="mt-3"),
        create_analysis_panel(detail.analyses) if detail.analyses else html.P(
            "Not analysed yet: the analysis workers pick measured spots up as they come.",
            className="text-muted"),
    ])


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
        dbc.Alert(f"Excluded in review: {detail.excluded}", color="secondary", className="py-2")
        if detail.excluded else None,
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
        return [_panel("Cyclic voltammogram", create_voltammogram_figure(detail.trace)),
                _panel("Coulombic efficiency", create_ce_figure(cycles)) if cycles else None]
    marks = _marks(detail)
    cursor = None
    if detail.movie is not None:
        cursor = float(detail.movie.times_s[min(max(frame, 0), detail.movie.n_frames - 1)])
    et = create_potential_time_figure(detail.trace, cursor_s=cursor, **marks)
    panels = [_panel("Potential vs time", et, graph_id=ET_GRAPH_ID)]
    if detail.current_density_mA_cm2:
        panels.append(_panel("Potential vs charge (Q = j·t)", create_potential_charge_figure(
            detail.trace, detail.current_density_mA_cm2, **marks)))
    maps = detail.analyses.get(IRM_MAPS)
    if maps is not None and "intensity" in maps.results:
        intensity = maps.results["intensity"]
        panels.append(_panel("IRM intensity over the footprint (processed)",
                             create_intensity_figure(
                                 intensity["times_s"], intensity["mean_counts"],
                                 t_nuc_irm_s=marks["t_nuc_irm_s"], t_nuc_s=marks["t_nuc_s"])))
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
            maps.results["t_nuc_map"], detail.movie.pixel_size_nm)))
    return column


def _panel(title: str, figure, *, graph_id: str | None = None):
    graph = dcc.Graph(figure=figure, config=GRAPH_CONFIG,
                      **({"id": graph_id} if graph_id else {}))
    return _panel_box(title, graph)


def _panel_box(title: str, child) -> html.Div:
    return html.Div([html.H6(title), child], className="card-panel")


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
