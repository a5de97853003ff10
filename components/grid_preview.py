"""A grid design drawn at true scale: footprints coloured by condition and the traversal path.

Each footprint is a filled circle of the footprint's diameter (the wetted disc), so crowding
and margins read off the plot as they will be on the sample; axes are µm in the sample frame
with equal aspect and row 0 at the top, as on the results heatmaps. Above
:data:`TRUE_SCALE_LIMIT` spots the circles would make the figure megabytes large, so the
spots are drawn as markers instead (the title says so).

The figure is a plain dict (what ``dcc.Graph`` takes), as in :mod:`components.heatmap`.
"""

from __future__ import annotations

import numpy as np
from plotly.colors import sample_colorscale

from core.grid import Grid, InstrumentLimits, plan_spots
from core.grid.limits import LAB_LIMITS

#: spots above which footprints are drawn as markers rather than true-scale circles
TRUE_SCALE_LIMIT = 2500
#: vertices per footprint circle (the polygon's area is within 2.6 % of the disc's)
CIRCLE_VERTICES = 24
PATH_COLOUR = "#555555"


def condition_colours(count: int) -> list[str]:
    """One colour per condition, ordered (a current-density ladder reads as a ramp)."""
    if count == 1:
        return ["#0072B2"]
    return sample_colorscale("Plasma", list(np.linspace(0.0, 0.85, count)))


def circle_outline_um(x_um: np.ndarray, y_um: np.ndarray, radius_um: float,
                      *, vertices: int = CIRCLE_VERTICES) -> tuple[list, list]:
    """Closed polygons around each centre, separated by ``None`` (one Plotly trace for all).

    Parameters
    ----------
    x_um, y_um : (N,) ndarray
        Centres, µm.
    radius_um : float
        Circle radius, µm.

    Returns
    -------
    xs, ys : list
        ``N · (vertices + 2)`` coordinates each: the closed ring of each circle then ``None``.
    """
    angle = np.linspace(0.0, 2 * np.pi, vertices + 1)
    ring_x = x_um[:, None] + radius_um * np.cos(angle)[None, :]
    ring_y = y_um[:, None] + radius_um * np.sin(angle)[None, :]
    gap = np.full((x_um.size, 1), np.nan)
    xs = np.hstack([ring_x, gap]).ravel()
    ys = np.hstack([ring_y, gap]).ravel()
    return _nullable(np.round(xs, 3)), _nullable(np.round(ys, 3))


def create_grid_preview(grid: Grid, *, limits: InstrumentLimits = LAB_LIMITS) -> dict:
    """The spots of ``grid`` where they land, coloured by condition, with the visiting path.

    Traces: one filled footprint trace per condition (legend = condition label), the path as
    a thin line through the spot centres in visiting order, the first spot marked, and
    hoverable centre markers (visit number, row/col, condition, position in µm).
    """
    spots = plan_spots(grid, limits=limits)
    x_um = np.array([spot.x_um for spot in spots])
    y_um = np.array([spot.y_um for spot in spots])
    condition = np.array([spot.condition for spot in spots])
    labels = [c.display_label for c in grid.conditions]
    colours = condition_colours(len(labels))
    true_scale = len(spots) <= TRUE_SCALE_LIMIT
    radius_um = grid.footprint_um / 2

    traces = [{
        "type": "scatter", "mode": "lines", "x": x_um.tolist(), "y": y_um.tolist(),
        "line": {"color": PATH_COLOUR, "width": 1}, "name": "path", "hoverinfo": "skip",
        "showlegend": False,
    }]
    for number, (label, colour) in enumerate(zip(labels, colours, strict=True)):
        mine = condition == number
        if not mine.any():
            continue
        if true_scale:
            xs, ys = circle_outline_um(x_um[mine], y_um[mine], radius_um)
            traces.append({"type": "scatter", "mode": "lines", "x": xs, "y": ys,
                           "fill": "toself", "fillcolor": colour, "opacity": 0.75,
                           "line": {"color": colour, "width": 0.5}, "name": label,
                           "legendgroup": str(number), "hoverinfo": "skip"})
        traces.append({
            "type": "scatter", "mode": "markers", "x": x_um[mine].tolist(),
            "y": y_um[mine].tolist(), "name": label, "legendgroup": str(number),
            "showlegend": not true_scale,
            "marker": {"color": colour, "size": 3 if true_scale else 6},
            "customdata": [[s.order + 1, _place(s), label] for s in spots if s.condition == number],
            "hovertemplate": ("visit %{customdata[0]} · %{customdata[1]}<br>%{customdata[2]}"
                              "<br>x %{x:.1f} µm, y %{y:.1f} µm<extra></extra>"),
        })
    traces.append({"type": "scatter", "mode": "markers", "x": [x_um[0]], "y": [y_um[0]],
                   "name": "start", "hoverinfo": "skip", "showlegend": False,
                   "marker": {"symbol": "triangle-right", "size": 9, "color": PATH_COLOUR}})

    title = (f"{len(spots)} spots · footprint {grid.footprint_um:g} µm to scale"
             if true_scale else f"{len(spots)} spots (centres only: too many to draw to scale)")
    pad_um = radius_um + 0.5 * grid.footprint_um
    layout = {
        "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
        "margin": {"l": 60, "r": 10, "t": 35, "b": 45},
        "xaxis": {"title": {"text": "x (µm)"}, "zeroline": False, "constrain": "domain",
                  "range": [float(x_um.min() - pad_um), float(x_um.max() + pad_um)]},
        "yaxis": {"title": {"text": "y (µm)"}, "zeroline": False, "scaleanchor": "x",
                  "scaleratio": 1, "constrain": "domain",
                  "range": [float(y_um.max() + pad_um), float(y_um.min() - pad_um)]},
        "legend": {"font": {"size": 11}, "itemsizing": "constant"},
        "plot_bgcolor": "#fafafa",
        "hovermode": "closest",
    }
    return {"data": traces, "layout": layout}


def _place(spot) -> str:
    return f"row {spot.row}, col {spot.col}" if spot.row is not None else f"position {spot.index}"


def _nullable(values: np.ndarray) -> list:
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()
