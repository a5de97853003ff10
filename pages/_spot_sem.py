"""The SEM section of the spot page: the imported image with particle outlines, the size
histogram and the numbers of the footprint, its edge and its centre.

A spot may have several imported images (newest first); a picker switches between them, each
shown with the latest analysis of that image. ``_`` modules are not registered as pages:
:mod:`pages.spot` imports :func:`create_spot_sem_section`.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.feedback import create_empty_state, create_error
from components.graph_config import graph_config
from components.sem_view import (
    create_sem_image_figure,
    create_sem_numbers,
    create_size_histogram_figure,
    sem_image_url,
)
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.sem_import import sem_image_analysis, spot_sem_images
from core.results.sem_view import size_histogram
from pages._access import requires
from pages._context import database_url

PICKER_ID = "spot-sem-picker"
BODY_ID = "spot-sem-body"


def create_spot_sem_section(spot_id: int, run_id: int) -> html.Div:
    """The section for a spot: its newest image and a picker, or how to import one."""
    images = spot_sem_images(database_url(), spot_id)
    title = html.H5("SEM image", className="mt-3")
    if not images:
        return html.Div([title, create_empty_state(
            "No SEM image", "Images of this footprint are imported on the ",
            dcc.Link("SEM import page", href=f"/import/{run_id}"), ".")])
    picker = dcc.Dropdown(
        id=PICKER_ID, options=[{"label": image.label, "value": image.image_id}
                               for image in images],
        value=images[0].image_id, clearable=False, className="mb-2",
        style={} if len(images) > 1 else {"display": "none"})
    return html.Div([title, picker, html.Div(sem_image_body(images[0].image_id), id=BODY_ID)])


@callback(Output(BODY_ID, "children"), Input(PICKER_ID, "value"), prevent_initial_call=True)
@requires(Permission.VIEW)
def show_image(image_id):
    """The picked image with its analysis."""
    return sem_image_body(int(image_id))


def sem_image_body(image_id: int) -> list:
    """Image and analysis of one imported image (the image alone while it is queued)."""
    try:
        analysis = sem_image_analysis(database_url(), image_id)
    except MeniscusError as error:
        return [create_error(str(error), title="Cannot show this SEM image")]
    results = analysis.results
    if results is None or "error" in results:
        note = (dbc.Alert("Analysis queued: the analysis workers pick it up shortly.",
                          color="info", className="py-2") if results is None else
                dbc.Alert(f"The SEM analysis failed: {results['error']}", color="warning",
                          className="py-2"))
        return [note, html.Img(src=sem_image_url(image_id), alt="SEM image",
                               className="img-fluid", style={"maxHeight": "420px"})]
    figure = create_sem_image_figure(
        image_id, image_shape=tuple(results["image_shape"]),
        pixel_size_nm=results["pixel_size_nm"], outlines=analysis.outlines)
    histogram = size_histogram(results)
    side = [create_sem_numbers(results), html.Div(_caption(results, analysis.version),
                                                  className="small text-muted mb-2")]
    if histogram is not None:
        side.append(dcc.Graph(
            figure=create_size_histogram_figure(histogram),
            config=graph_config(f"sem_{image_id}_particle_sizes")))
    return [dbc.Row([
        dbc.Col(dcc.Graph(figure=figure, config=graph_config(f"sem_{image_id}_particles")),
                lg=7),
        dbc.Col(side, lg=5),
    ], className="g-3")]


def _caption(results: dict, version: int | None) -> str:
    parts = [f"{results.get('original_name', 'image')}",
             f"{results['pixel_size_nm']:.3g} nm/px ({results.get('pixel_size_source')})"]
    excluded = results.get("excluded") or {}
    if excluded:
        limit = (results.get("parameters") or {}).get("max_particle_area_um2", 0.1)
        parts.append(f"not counted: {excluded.get('large', 0)} over {limit:g} µm², "
                     f"{excluded.get('outside_footprint', 0)} outside the footprint")
    if results.get("faradaic_efficiency") is not None:
        parts.append(f"faradaic efficiency {100 * results['faradaic_efficiency']:.1f} %")
    parts.append(f"analysis v{version}")
    return " · ".join(parts)
