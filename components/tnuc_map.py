"""Map of the optical nucleation time t_nuc(IRM) over the footprint (one value per block)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def create_tnuc_map_figure(t_nuc_map: dict, pixel_size_nm: float) -> go.Figure:
    """Heatmap of a stored block map (``values_s``, ``block_px``, ``row0_px``, ``col0_px``).

    Axes in µm from the movie's top-left pixel; blocks with no significant rise are empty.
    """
    values = np.array([[np.nan if v is None else v for v in row]
                       for row in t_nuc_map["values_s"]], dtype=float)
    block_um = t_nuc_map["block_px"] * pixel_size_nm * 1e-3
    rows, cols = values.shape
    x_um = (t_nuc_map["col0_px"] + (np.arange(cols) + 0.5) * t_nuc_map["block_px"]) \
        * pixel_size_nm * 1e-3
    y_um = (t_nuc_map["row0_px"] + (np.arange(rows) + 0.5) * t_nuc_map["block_px"]) \
        * pixel_size_nm * 1e-3
    z = values.astype(object)
    z[~np.isfinite(values)] = None
    figure = go.Figure(go.Heatmap(
        z=z.tolist(), x=np.round(x_um, 3), y=np.round(y_um, 3), colorscale="Plasma",
        colorbar={"title": {"text": "t_nuc(IRM) (s)", "side": "right"}, "thickness": 12},
        hovertemplate=("x %{x:.2f} µm, y %{y:.2f} µm<br>t_nuc(IRM) = %{z:.2f} s"
                       "<extra></extra>"),
        hoverongaps=False,
    ))
    figure.update_layout(
        height=300, margin={"l": 55, "r": 10, "t": 30, "b": 45}, template="plotly_white",
        title={"text": f"blocks of {block_um * 1e3:.0f} nm", "font": {"size": 12}, "x": 0.02},
        xaxis={"title": {"text": "x (µm)"}, "constrain": "domain", "showgrid": False},
        yaxis={"title": {"text": "y (µm)"}, "autorange": "reversed", "scaleanchor": "x",
               "constrain": "domain", "showgrid": False},
    )
    return figure
