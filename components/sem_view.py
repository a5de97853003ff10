"""The SEM image of a footprint with its particle outlines, and the particle size histogram.

The image itself is never in the figure: it is a layout image whose source is the display PNG
served by ``/sem/<image_id>.png`` (≤ 1024 px a side), so the figure holds only the outlines
(a few thousand vertices) and stays small whatever the scan's size.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from components.number_format import MISSING, format_metric
from core.results.sem_view import SizeHistogram

#: outline colours: counted particles, other particles (too large, outside), footprint, ring
COUNTED_COLOUR = "#3ce63c"
EXCLUDED_COLOUR = "#f03c28"
FOOTPRINT_COLOUR = "#ffd700"
RING_COLOUR = "#00c8ff"


def sem_image_url(image_id: int) -> str:
    """Address of the display PNG of an imported SEM image."""
    return f"/sem/{image_id}.png"


def create_sem_image_figure(image_id: int, *, image_shape: tuple[int, int],
                            pixel_size_nm: float, outlines: dict | None = None) -> go.Figure:
    """The image with the outlines of a ``sem_outlines`` result drawn over it, axes in µm.

    Parameters
    ----------
    image_id : the imported image (its PNG is loaded by the browser from the route).
    image_shape : (rows, cols) of the analysed image, px.
    pixel_size_nm : its pixel size, nm.
    outlines : ``counted`` and ``excluded`` polygons (``x_um``/``y_um`` with ``None`` between
        polygons) and ``footprint`` (``x_um``, ``y_um``, ``r_um``, ``ring_fraction``); None
        draws the image alone (analysis not done yet).
    """
    rows, cols = image_shape
    px_um = pixel_size_nm * 1e-3
    width_um, height_um = cols * px_um, rows * px_um
    figure = go.Figure()
    for key, colour, label in (("counted", COUNTED_COLOUR, "counted particles"),
                               ("excluded", EXCLUDED_COLOUR, "not counted")):
        polygons = (outlines or {}).get(key) or {}
        if polygons.get("x_um"):
            figure.add_trace(go.Scatter(
                x=polygons["x_um"], y=polygons["y_um"], mode="lines", name=label,
                line={"color": colour, "width": 1}, hoverinfo="skip"))
    footprint = (outlines or {}).get("footprint")
    if footprint:
        _add_circle(figure, footprint, footprint["r_um"], FOOTPRINT_COLOUR, "solid")
        if footprint.get("ring_fraction"):
            _add_circle(figure, footprint, footprint["r_um"] * (1 - footprint["ring_fraction"]),
                        RING_COLOUR, "dot")
    figure.add_layout_image(
        source=sem_image_url(image_id), xref="x", yref="y", x=-px_um / 2, y=-px_um / 2,
        sizex=width_um, sizey=height_um, sizing="stretch", layer="below",
        xanchor="left", yanchor="top")
    figure.update_layout(
        # the top margin keeps Plotly's toolbar off the image
        height=420, margin={"l": 50, "r": 10, "t": 30, "b": 40}, template="plotly_white",
        legend={"orientation": "h", "y": -0.15, "x": 0},
        xaxis={"title": {"text": "x (µm)"}, "range": [-px_um / 2, width_um - px_um / 2],
               "showgrid": False, "zeroline": False, "constrain": "domain"},
        yaxis={"title": {"text": "y (µm)"}, "range": [height_um - px_um / 2, -px_um / 2],
               "showgrid": False, "zeroline": False, "scaleanchor": "x",
               "constrain": "domain"},
    )
    return figure


def _add_circle(figure: go.Figure, centre: dict, radius_um: float, colour: str,
                dash: str) -> None:
    figure.add_shape(type="circle", xref="x", yref="y", line={"color": colour, "width": 2,
                                                               "dash": dash},
                     x0=centre["x_um"] - radius_um, x1=centre["x_um"] + radius_um,
                     y0=centre["y_um"] - radius_um, y1=centre["y_um"] + radius_um)


def create_size_histogram_figure(histogram: SizeHistogram) -> go.Figure:
    """Counts per diameter bin (nm) with the fitted populations' expected counts."""
    figure = go.Figure(go.Bar(
        x=histogram.centres_nm, y=histogram.counts, width=histogram.widths_nm,
        name="particles", marker={"color": "#7a8ca3", "line": {"width": 0}},
        hovertemplate="d %{x:.0f} nm: %{y} particles<extra></extra>"))
    if histogram.fit_counts is not None:
        figure.add_trace(go.Scatter(
            x=histogram.centres_nm, y=histogram.fit_counts, mode="lines",
            name=histogram.fit_label, line={"color": "#d62728", "width": 2, "shape": "spline"},
            hovertemplate="fit: %{y:.1f}<extra></extra>"))
    figure.update_layout(
        height=290, margin={"l": 50, "r": 10, "t": 10, "b": 40}, template="plotly_white",
        bargap=0, showlegend=histogram.fit_counts is not None,
        legend={"orientation": "h", "y": -0.25, "x": 0, "yanchor": "top"},
        xaxis={"title": {"text": "equivalent diameter (nm)"}},
        yaxis={"title": {"text": "particles"}})
    return figure


def create_sem_numbers(results: dict) -> dbc.Table:
    """Count, density and diameters of the whole footprint, its edge and its centre; densities
    with 3 significant digits and diameters with 1 decimal, as everywhere in the app
    (:mod:`components.number_format`)."""
    regions = (("footprint", results), ("edge", results.get("edge") or {}),
               ("centre", results.get("centre") or {}))
    header = html.Thead(html.Tr([html.Th(text) for text in (
        "region", "count", "density (cm⁻²)", "mean d (nm)", "sd d (nm)")]))
    body = html.Tbody([
        html.Tr([html.Td(name), html.Td(_text(region.get("count"), "d")),
                 html.Td(format_metric("density_per_cm2", region.get("density_per_cm2"))),
                 html.Td(format_metric("mean_diameter_nm", region.get("mean_diameter_nm"))),
                 # the spread in the mean's unit and decimals
                 html.Td(format_metric("mean_diameter_nm", region.get("sd_diameter_nm")))])
        for name, region in regions])
    return dbc.Table([header, body], size="sm", className="small mb-1")


def _text(value, spec: str) -> str:
    return MISSING if value is None else format(value, spec)
