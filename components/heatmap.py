"""Heatmap of one metric over a run's grid; clicking a cell gives its spot id (customdata).

The figure is returned as a plain dict (what ``dcc.Graph`` takes): Plotly's per-element
validation of 10,000 hover texts alone costs ~50 ms, and the arrays are already checked
numpy data. NaN becomes ``None`` (JSON null), which Plotly draws as an empty cell.

Review marks are drawn over the cells as two small marker traces (a few points each): spots
excluded in review (grey ×) and spots with active flags (orange open diamond), with the reason
or the flag kinds in their hover text; both carry the spot id as ``customdata`` too. A spot
both excluded and flagged gets the × in the left and the diamond in the right part of its cell
(each alone would hide the other), and each hover names the other mark as well.
"""

from __future__ import annotations

import numpy as np

from components.number_format import metric_format_spec
from components.states import STATUS_COLOURS
from core.results.grid_values import MetricGrid
from core.results.metrics import METRICS, STATUS

#: cells on a side above which the 1 px gaps between cells are dropped (they would hide data)
GAP_LIMIT = 40
EXCLUDED_MARKER = {"symbol": "x-thin", "color": "#555555",
                   "line": {"width": 2, "color": "#555555"}}
FLAG_MARKER = {"symbol": "diamond-open", "color": "#E69F00", "line": {"width": 2}}
#: sideways shift of the marks of a spot both excluded and flagged, in cell widths (the × to
#: the left, the diamond to the right: 0.22 keeps both inside the cell and apart)
BOTH_MARKS_SHIFT = 0.22
#: fraction of the colour bar's height left free at its top for its title, below the toolbar
COLORBAR_LEN = 0.85


def create_heatmap(grid: MetricGrid) -> dict:
    """The metric on the grid layout (rows × cols) or, for explicit positions, as markers.

    Every cell carries its spot id as ``customdata`` (-1 where the grid has no spot), so a
    click handler reads ``clickData["points"][0]["customdata"]``. Missing values are left
    empty; the hover text says why (not measured, not analysed, no nucleation...).
    """
    trace = _grid_trace(grid) if grid.layout == "grid" else _positions_trace(grid)
    layout = {
        "margin": {"l": 60, "r": 20, "t": 10, "b": 50},
        "xaxis": {"title": {"text": "x from grid origin (µm)"}, "constrain": "domain",
                  "showgrid": False, "zeroline": False},
        "yaxis": {"title": {"text": "y from grid origin (µm)"}, "autorange": "reversed",
                  "scaleanchor": "x", "constrain": "domain", "showgrid": False,
                  "zeroline": False},
        "plot_bgcolor": "#f4f4f4",
        "uirevision": grid.metric,
        "hoverlabel": {"align": "left"},
    }
    figure = {"data": [trace], "layout": layout}
    figure = _single_line_cells(figure) if grid.layout == "grid" else figure
    figure["data"] += _mark_traces(grid)
    if len(figure["data"]) > 1:
        layout["showlegend"] = True
        layout["legend"] = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0}
        layout["margin"]["t"] = 30
        if grid.layout == "grid":  # markers would pad the axes beyond the cells
            pitch = _pitch(grid)
            layout["xaxis"]["range"] = [grid.x_um[0] - pitch / 2, grid.x_um[-1] + pitch / 2]
            layout["yaxis"]["range"] = [grid.y_um[-1] + pitch / 2, grid.y_um[0] - pitch / 2]
            layout["yaxis"].pop("autorange")
    return figure


def _pitch(grid: MetricGrid) -> float:
    """Distance between neighbouring cell centres, µm (1 µm for a single cell)."""
    axes = [axis for axis in (grid.x_um, grid.y_um) if len(axis) > 1]
    return float(abs(axes[0][1] - axes[0][0])) if axes else 1.0


def _cell_width(grid: MetricGrid) -> float:
    """Width of a cell, µm: the pitch of a grid; for explicit positions, the smallest gap
    between two distinct x (or y) coordinates (1 µm for a single spot)."""
    if grid.layout == "grid":
        return _pitch(grid)
    gaps = [np.diff(np.unique(axis)) for axis in (grid.x_um, grid.y_um)]
    gaps = np.concatenate(gaps)
    gaps = gaps[gaps > 0]
    return float(gaps.min()) if gaps.size else 1.0


def _mark_traces(grid: MetricGrid) -> list[dict]:
    """Marker overlays for excluded and flagged spots (none when no spot is marked)."""
    traces = []
    both = set(grid.excluded) & set(grid.flags)
    shift = BOTH_MARKS_SHIFT * _cell_width(grid)
    for name, marks, marker, side, other, other_marks in (
            ("excluded", grid.excluded, EXCLUDED_MARKER, -1, "flagged", grid.flags),
            ("flagged", grid.flags, FLAG_MARKER, +1, "excluded", grid.excluded)):
        if not marks:
            continue
        ids = np.fromiter(marks, dtype=np.int64, count=len(marks))
        if grid.layout == "grid":
            rows, cols = np.nonzero(np.isin(grid.spot_ids, ids))
            x, y, spots = grid.x_um[cols], grid.y_um[rows], grid.spot_ids[rows, cols]
        else:
            at = np.flatnonzero(np.isin(grid.spot_ids, ids))
            x, y, spots = grid.x_um[at], grid.y_um[at], grid.spot_ids[at]
        doubled = np.isin(spots, np.fromiter(both, dtype=np.int64, count=len(both)))
        x = x + side * shift * doubled
        size = 12 if max(grid.values.shape) <= GAP_LIMIT else 7
        traces.append({
            "type": "scatter", "mode": "markers", "name": name, "x": x.tolist(),
            "y": y.tolist(), "customdata": spots.tolist(),
            "text": [marks[int(spot)] + (f"<br><b>{other}</b>: {other_marks[int(spot)]}"
                                         if int(spot) in both else "")
                     for spot in spots],
            "marker": {**marker, "size": size},
            "hovertemplate": f"<b>{name}</b>: %{{text}}<extra>spot %{{customdata}}</extra>",
        })
    return traces


def _single_line_cells(figure: dict) -> dict:
    """Give a one-row (one-column) grid's cells the pitch as height (width): Plotly draws a
    single row 1 unit tall, a sliver at µm scale. Cell edges instead of centres fix that."""
    trace = figure["data"][0]
    if trace.get("type") != "heatmap":
        return figure
    x, y = trace["x"], trace["y"]
    # neighbouring centres along the axis that has more than one cell give the pitch
    pitch = next((abs(axis[1] - axis[0]) for axis in (x, y) if len(axis) > 1), None)
    if pitch is None:
        return figure
    for axis in ("x", "y"):
        if len(trace[axis]) == 1:
            centre = trace[axis][0]
            trace[axis] = [centre - pitch / 2, centre + pitch / 2]
    return figure


def _hovertemplate(grid: MetricGrid, value: str) -> str:
    where = "x %{x} µm, y %{y} µm<extra>spot %{customdata}</extra>"
    if grid.metric == STATUS:
        return f"%{{text}}<br>{where}"
    metric = METRICS[grid.metric]
    number = f"%{{{value}:{metric_format_spec(grid.metric)}}}"
    unit = f" {metric.unit}" if metric.unit else ""
    return f"%{{text}}<br>{metric.label} = {number}{unit}<br>{where}"


def _colour_options(grid: MetricGrid) -> dict:
    if grid.metric != STATUS:
        return {"colorscale": "Viridis",
                "colorbar": {"title": {"text": grid.title, "side": "right"}, "thickness": 14}}
    n = len(grid.categories)
    scale = []
    for code, name in enumerate(grid.categories):
        colour = STATUS_COLOURS.get(name, "#999999")
        scale += [[code / n, colour], [(code + 1) / n, colour]]
    return {"colorscale": scale, "zmin": -0.5, "zmax": n - 0.5,
            # the bar ends below the top, so its title sits under Plotly's toolbar, not on it
            "colorbar": {"title": {"text": "status"}, "tickvals": list(range(n)),
                         "ticktext": [name.replace("_", " ") for name in grid.categories],
                         "thickness": 14, "len": COLORBAR_LEN, "y": 0,
                         "yanchor": "bottom"}}


def _grid_trace(grid: MetricGrid) -> dict:
    rows, cols = grid.values.shape
    gap = 1 if max(rows, cols) <= GAP_LIMIT else 0
    return {
        "type": "heatmap", "z": _nullable(grid.values), "x": grid.x_um.tolist(),
        "y": grid.y_um.tolist(), "customdata": grid.spot_ids.tolist(),
        "text": grid.text.tolist(), "hovertemplate": _hovertemplate(grid, "z"),
        "xgap": gap, "ygap": gap, "hoverongaps": False, **_colour_options(grid),
    }


def _positions_trace(grid: MetricGrid) -> dict:
    colour = _colour_options(grid)
    marker = {"color": _nullable(grid.values), "colorscale": colour["colorscale"],
              "colorbar": colour["colorbar"], "size": 10, "symbol": "square",
              "showscale": True}
    if grid.metric == STATUS:
        marker.update(cmin=colour["zmin"], cmax=colour["zmax"])
    return {
        "type": "scatter", "mode": "markers", "x": grid.x_um.tolist(),
        "y": grid.y_um.tolist(), "marker": marker, "customdata": grid.spot_ids.tolist(),
        "text": grid.text.tolist(), "hovertemplate": _hovertemplate(grid, "marker.color"),
    }


def _nullable(values: np.ndarray) -> list:
    """Values as (nested) lists with None for NaN: JSON-ready, no NaN re-parse on encoding."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()
