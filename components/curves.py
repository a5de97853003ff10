"""Curves of one spot: E–t and E–Q with the analysis' features marked, CV, IRM intensity.

Markers: E_nuc at t_nuc (the minimum), E_growth over the window it was averaged on, and
t_nuc(IRM) as a dashed line (it precedes t_nuc: the potential minimum lags the optical onset).
The E–t figure can carry a vertical ``frame-cursor`` line that the movie player moves.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.analysis.galvanostatic import GROWTH_WINDOW_FRACTION, e_q_curve
from core.traces import Trace

CURSOR_NAME = "frame-cursor"
NUC_COLOUR = "#D55E00"
GROWTH_COLOUR = "#009E73"
IRM_COLOUR = "#CC79A7"
LINE_COLOUR = "#1f3b73"


def _base(x_title: str, y_title: str, *, height: int = 300) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        height=height, margin={"l": 65, "r": 15, "t": 30, "b": 45},
        xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "font_size": 11},
        hovermode="closest",
    )
    return figure


def growth_window_s(t_nuc_s: float | None, end_s: float,
                    fraction: float = GROWTH_WINDOW_FRACTION) -> tuple[float, float] | None:
    """The window E_growth was averaged over: the last ``fraction`` of t_nuc → end, s."""
    if t_nuc_s is None:
        return None
    return end_s - fraction * (end_s - t_nuc_s), end_s


def focus_range_V(potential_V, e_nuc_V: float | None = None) -> list[float]:
    """Initial y range around where nucleation and growth happen, V.

    The contact transient (≈ +1 V falling in a fraction of a second as SEI and alloy form)
    would otherwise squash the nucleation dip into a few pixels; it runs off the top and a
    double-click shows everything.
    """
    values = np.asarray(potential_V, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [-1.0, 1.0]
    low = float(values.min()) if e_nuc_V is None else min(float(values.min()), e_nuc_V)
    high = float(np.percentile(values, 90))
    span = max(high - low, 0.01)
    return [low - 0.15 * span, high + 0.5 * span]


def create_potential_time_figure(
    trace: Trace,
    *,
    e_nuc_V: float | None = None,
    t_nuc_s: float | None = None,
    e_growth_V: float | None = None,
    growth_window: tuple[float, float] | None = None,
    t_nuc_irm_s: float | None = None,
    cursor_s: float | None = None,
) -> go.Figure:
    """E–t curve with the nucleation and growth features marked (potentials in V)."""
    figure = _base("t (s)", "E (V vs Li/Li⁺)")
    figure.add_scatter(x=trace.time_s, y=trace.potential_V, mode="lines", name="E",
                       line={"color": LINE_COLOUR, "width": 1.3},
                       hovertemplate="t = %{x:.3f} s<br>E = %{y:.4f} V<extra></extra>")
    _mark_features(figure, e_nuc_V, t_nuc_s, e_growth_V, growth_window, t_nuc_irm_s,
                   x_unit="s", x_digits=3)
    figure.update_yaxes(range=focus_range_V(trace.potential_V, e_nuc_V))
    # the record's span: a cursor on a frame before landing must not stretch the axis
    figure.update_xaxes(range=[float(trace.time_s[0]), float(trace.time_s[-1])])
    if cursor_s is not None:
        figure.add_shape(type="line", name=CURSOR_NAME, x0=cursor_s, x1=cursor_s, y0=0, y1=1,
                         yref="paper", line={"color": "#444", "width": 1})
    return figure


def create_potential_charge_figure(
    trace: Trace,
    current_density_mA_cm2: float,
    *,
    e_nuc_V: float | None = None,
    t_nuc_s: float | None = None,
    e_growth_V: float | None = None,
    growth_window: tuple[float, float] | None = None,
    t_nuc_irm_s: float | None = None,
) -> go.Figure:
    """E–Q curve (Q = j·t, µAh/cm²) with the same features as the E–t figure."""
    def charge(time_s):
        return None if time_s is None else float(e_q_curve(time_s, current_density_mA_cm2))

    figure = _base("Q (µAh/cm²)", "E (V vs Li/Li⁺)")
    figure.add_scatter(x=e_q_curve(trace.time_s, current_density_mA_cm2), y=trace.potential_V,
                       mode="lines", name="E", line={"color": LINE_COLOUR, "width": 1.3},
                       hovertemplate="Q = %{x:.3f} µAh/cm²<br>E = %{y:.4f} V<extra></extra>")
    figure.update_yaxes(range=focus_range_V(trace.potential_V, e_nuc_V))
    window = None if growth_window is None else tuple(charge(t) for t in growth_window)
    _mark_features(figure, e_nuc_V, charge(t_nuc_s), e_growth_V, window, charge(t_nuc_irm_s),
                   x_unit="µAh/cm²", x_digits=3, x_name="Q")
    return figure


def _mark_features(figure, e_nuc_V, x_nuc, e_growth_V, window, x_irm, *, x_unit: str,
                   x_digits: int, x_name: str = "t") -> None:
    if e_nuc_V is not None and x_nuc is not None:
        figure.add_scatter(
            x=[x_nuc], y=[e_nuc_V], mode="markers", name="E_nuc",
            marker={"color": NUC_COLOUR, "size": 10, "symbol": "circle-open",
                    "line": {"width": 2}},
            hovertemplate=(f"E_nuc = %{{y:.4f}} V<br>{x_name}_nuc = %{{x:.{x_digits}f}} "
                           f"{x_unit}<extra></extra>"))
    if e_growth_V is not None and window is not None:
        figure.add_scatter(
            x=list(window), y=[e_growth_V, e_growth_V], mode="lines", name="E_growth",
            line={"color": GROWTH_COLOUR, "width": 3},
            hovertemplate="E_growth = %{y:.4f} V (mean over this window)<extra></extra>")
    if x_irm is not None:
        figure.add_vline(x=x_irm, line={"color": IRM_COLOUR, "dash": "dash", "width": 1.5})
        figure.add_scatter(x=[None], y=[None], mode="lines", name=f"{x_name}_nuc(IRM)",
                           line={"color": IRM_COLOUR, "dash": "dash"})


def create_voltammogram_figure(trace: Trace) -> go.Figure:
    """Cyclic voltammogram: current (nA) vs potential (V)."""
    figure = _base("E (V vs Li/Li⁺)", "I (nA)")
    figure.add_scatter(x=trace.potential_V, y=np.asarray(trace.current_A) * 1e9, mode="lines",
                       name="I", line={"color": LINE_COLOUR, "width": 1.2},
                       hovertemplate="E = %{x:.3f} V<br>I = %{y:.2f} nA<extra></extra>")
    return figure


def create_ce_figure(cycles: list[dict], *, ce_irm_cycles: list[dict] | None = None
                     ) -> go.Figure:
    """Coulombic efficiency per cycle (from the CV analysis' ``cycles``) and, for a filmed
    CV, the median CE(IRM) over the footprint (the ``ce_irm`` analysis' ``cycles``)."""
    figure = _base("cycle", "CE", height=240)
    figure.add_scatter(x=[c["cycle"] for c in cycles], y=[c["ce"] for c in cycles],
                       mode="lines+markers", name="CE = Q_a/Q_c", line={"color": LINE_COLOUR},
                       hovertemplate="cycle %{x}: CE = %{y:.3f}<extra></extra>")
    if ce_irm_cycles:
        figure.add_scatter(
            x=[c["cycle"] for c in ce_irm_cycles],
            y=[c["ce_irm_median"] for c in ce_irm_cycles], mode="markers",
            name="CE(IRM) median", marker={"color": IRM_COLOUR, "symbol": "diamond", "size": 8},
            hovertemplate="cycle %{x}: CE(IRM) median = %{y:.3f}<extra></extra>")
    figure.update_xaxes(dtick=1)
    return figure


def create_intensity_figure(times_s, mean_counts, *, t_nuc_irm_s: float | None = None,
                            t_nuc_s: float | None = None) -> go.Figure:
    """Processed IRM intensity (footprint mean, counts) vs time, with both nucleation times."""
    figure = _base("t (s)", "ΔI (counts)", height=240)
    figure.add_scatter(x=times_s, y=mean_counts, mode="lines+markers", name="ΔI footprint",
                       marker={"size": 4}, line={"color": LINE_COLOUR, "width": 1.2},
                       hovertemplate="t = %{x:.2f} s<br>ΔI = %{y:.1f}<extra></extra>")
    if t_nuc_irm_s is not None:
        figure.add_vline(x=t_nuc_irm_s, line={"color": IRM_COLOUR, "dash": "dash"})
    if t_nuc_s is not None:
        figure.add_vline(x=t_nuc_s, line={"color": NUC_COLOUR, "dash": "dot"})
    return figure
