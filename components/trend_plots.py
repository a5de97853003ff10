"""Trend plots across conditions: mean ± sd over the repeats against current density.

The steady-state transport limit j_lim is drawn as a dashed vertical line: conditions to its
right ask for more current than diffusion under the meniscus supplies at steady state.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from components.number_format import MISSING, format_metric
from core.results.metrics import METRICS
from core.results.trends import ConditionTrend, Trends

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
SYMBOLS = ("circle", "square", "diamond", "triangle-up")


@dataclass(frozen=True)
class TrendPlot:
    """One trend plot: its title, the metric keys drawn on it (core.results.metrics), the
    y-axis title (None: the first metric's) and whether the y axis is logarithmic."""

    title: str
    metrics: tuple[str, ...]
    y_title: str | None = None
    log_y: bool = False

    def filename(self, run_id: int) -> str:
        """Download name of this plot of run ``run_id`` (without extension)."""
        return f"run_{run_id}_trend_{'_'.join(self.metrics)}"


#: the trend plots of a run, in the order the Trends page and the report show them
TREND_PLOTS = (
    TrendPlot("Nucleation and growth potentials", ("e_nuc_V", "e_growth_V"), "E (V vs Li/Li⁺)"),
    TrendPlot("Nucleation time, electrochemical and optical", ("t_nuc_s", "t_nuc_irm_s"),
              "t (s)"),
    TrendPlot("Charge to nucleation", ("q_nuc_uAh_cm2",)),
    TrendPlot("Particle density (SEM)", ("density_per_cm2",)),
    TrendPlot("Mean particle diameter (SEM)", ("mean_diameter_nm",)),
)


def trend_plots_with_values(trends: Trends) -> list[TrendPlot]:
    """The plots of :data:`TREND_PLOTS` with at least one value among the run's galvanostatic
    conditions (none when the run has no such condition)."""
    if not trends.galvanostatic():
        return []
    return [plot for plot in TREND_PLOTS
            if any(trends.has_values(key) for key in plot.metrics)]


def create_trend_plot(trends: Trends, plot: TrendPlot) -> go.Figure:
    """The figure of ``plot`` over the run's galvanostatic conditions, j_lim marked."""
    return create_trend_figure(trends.galvanostatic(), plot.metrics,
                               j_lim_mA_cm2=trends.j_lim_mA_cm2, y_title=plot.y_title,
                               log_y=plot.log_y)


def format_mean_sd(condition: ConditionTrend, key: str) -> str:
    """``mean ± sd (n=…)`` of metric ``key`` over the condition's repeats, in the metric's
    unit and digits; ``—`` without a value (the sd is left out for a single value)."""
    stat = condition.stats[key]
    if stat.mean is None:
        return MISSING
    text = format_metric(key, stat.mean)
    if stat.sd is not None:
        text += f" ± {format_metric(key, stat.sd)}"
    return f"{text} (n={stat.n})"


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
