"""CE(IRM) maps of a filmed CV as small multiples: one map per cycle, one colour scale 0–1."""

from __future__ import annotations

import math

import numpy as np
from plotly.subplots import make_subplots

#: maps per row of the small multiples
COLUMNS = 5
#: the shared colour scale (dimensionless CE); values beyond it show in the end colours
CE_RANGE = (0.0, 1.0)


def ce_map_arrays(maps: dict) -> np.ndarray:
    """(cycles, rows, cols) CE values from a stored ``ce_irm_maps`` ``maps`` entry (integers
    × ``step``, None where masked) as floats with NaN where masked."""
    step = float(maps["step"])
    values = [[[np.nan if v is None else v * step for v in row] for row in cycle]
              for cycle in maps["values"]]
    return np.array(values, dtype=np.float64)


def create_ce_maps_figure(maps: dict):
    """One heatmap per cycle (``maps["cycles"]`` numbers in the titles), a shared colour axis
    over :data:`CE_RANGE`, axes in µm from the crop's corner; masked blocks (inverted
    contrast, no significant plating rise, outside the footprint) are left empty."""
    values = ce_map_arrays(maps)
    n_maps = values.shape[0]
    n_cols = min(COLUMNS, max(n_maps, 1))
    n_rows = max(1, math.ceil(n_maps / n_cols))
    figure = make_subplots(
        rows=n_rows, cols=n_cols, subplot_titles=[f"cycle {c}" for c in maps["cycles"]],
        horizontal_spacing=0.02, vertical_spacing=0.08)
    block_um = maps["block_px"] * maps["pixel_size_nm"] * 1e-3
    for index in range(n_maps):
        z = values[index].astype(object)
        z[~np.isfinite(values[index])] = None
        rows, cols = values[index].shape
        figure.add_heatmap(
            z=z.tolist(), x=np.round((np.arange(cols) + 0.5) * block_um, 3).tolist(),
            y=np.round((np.arange(rows) + 0.5) * block_um, 3).tolist(), coloraxis="coloraxis",
            hoverongaps=False, name=f"cycle {maps['cycles'][index]}",
            hovertemplate=(f"cycle {maps['cycles'][index]}<br>x %{{x:.2f}} µm, "
                           "y %{y:.2f} µm<br>CE(IRM) = %{z:.2f}<extra></extra>"),
            row=index // n_cols + 1, col=index % n_cols + 1)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                        constrain="domain")
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False,
                        autorange="reversed", constrain="domain")
    for index in range(n_maps):  # square blocks in every panel
        suffix = "" if index == 0 else str(index + 1)
        figure.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    figure.update_layout(
        height=40 + 170 * n_rows, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        template="plotly_white", plot_bgcolor="#f4f4f4",
        coloraxis={"colorscale": "Viridis", "cmin": CE_RANGE[0], "cmax": CE_RANGE[1],
                   "colorbar": {"title": {"text": "CE(IRM)", "side": "right"},
                                "thickness": 12}},
    )
    return figure
