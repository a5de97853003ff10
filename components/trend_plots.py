"""Trend plots across conditions: mean ± sd over the repeats against current density.

The steady-state transport limit j_lim is drawn as a dashed vertical line: conditions to its
right ask for more current than diffusion under the meniscus supplies at steady state.
"""

from __future__ import annotations

import plotly.graph_objects as go

from core.results.metrics import METRICS
from core.results.trends import ConditionTrend

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def create_trend_figure(
    conditions: list[ConditionTrend],
    metrics: tuple[str, ...],
    *,
    j_lim_mA_cm2: float | None = None,
    y_title: str | None = None,
    log_y: bool = False,
) -> go.Figure:
    """One line per metric (mean ± sd vs j); ``conditions`` sorted by current density.

    Every trend plot of a run spans the same j axis (0 to the largest j or j_lim), so plots
    read side by side.

    Hover gives mean ± sd and n (spots with a value, out of the measured ones kept).
    """
    figure = go.Figure()
    for number, key in enumerate(metrics):
        metric = METRICS[key]
        points = [c for c in conditions if c.stats[key].mean is not None]
        figure.add_scatter(
            x=[c.current_density_mA_cm2 for c in points],
            y=[c.stats[key].mean for c in points],
            error_y={"type": "data", "array": [c.stats[key].sd or 0.0 for c in points],
                     "visible": True, "thickness": 1.2, "width": 4},
            customdata=[[c.stats[key].sd or 0.0, c.stats[key].n, c.n_measured]
                        for c in points],
            mode="lines+markers", name=metric.label,
            marker={"color": PALETTE[number % 4], "symbol": SYMBOLS[number % 4], "size": 8},
            line={"color": PALETTE[number % 4], "width": 1.2},
            hovertemplate=(f"j = %{{x}} mA/cm²<br>{metric.label} = %{{y:.4g}} ± "
                           f"%{{customdata[0]:.2g}} {metric.unit}<br>n = %{{customdata[1]}} "
                           f"of %{{customdata[2]}}<extra></extra>"),
        )
    if y_title is None:
        y_title = METRICS[metrics[0]].axis_title
    densities = [c.current_density_mA_cm2 for c in conditions] + [j_lim_mA_cm2 or 0.0]
    figure.update_layout(
        height=320, margin={"l": 70, "r": 15, "t": 30, "b": 45}, template="plotly_white",
        xaxis={"title": {"text": "j (mA/cm²)"}, "range": [0, 1.08 * max(densities)]},
        yaxis={"title": {"text": y_title}, "exponentformat": "power"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        yaxis_type="log" if log_y else None,
    )
    if j_lim_mA_cm2 is not None:
        figure.add_vline(x=j_lim_mA_cm2, line={"dash": "dash", "color": "#777", "width": 1.2},
                         annotation={"text": f"j_lim ≈ {j_lim_mA_cm2:.2f} mA/cm²",
                                     "font": {"size": 11, "color": "#555"}},
                         annotation_position="top left")
    return figure
