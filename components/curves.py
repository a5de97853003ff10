"""Curves of one spot: E–t and E–Q with the analysis' features marked, CV, IRM intensity.

Markers: E_nuc at t_nuc (the minimum), E_growth over the window it was averaged on, and
t_nuc(IRM) as a dashed line (it precedes t_nuc: the potential minimum lags the optical onset).
The E–t figure can carry a vertical ``frame-cursor`` line that the movie player moves.
"""

from __future__ import annotations

from dataclasses import dataclass

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


#: share of the record (from its start) taken as the contact transient and left out of the
#: initial y range: the ≈ +1 V spike after contact decays within a few hundred ms (SEI and
#: alloy formation), ~10 % of a 3–5 s screening record
TRANSIENT_FRACTION = 0.1
#: percentiles of the record after the transient that bound the y range (noise spikes clip)
RANGE_PERCENTILES = (0.5, 99.5)
#: padding below and above that range, in fractions of its span (the top one leaves room
#: over the growth plateau for the clipped-transient note)
RANGE_PADDING = (0.12, 0.3)
#: smallest y span, V (a flat record would otherwise be drawn as pure noise)
MIN_SPAN_V = 0.02
#: name of the note shown where the contact transient leaves the top of the plot
CLIP_NOTE_NAME = "clipped-transient"


@dataclass(frozen=True)
class FocusRange:
    """Initial y range of an E–t or E–Q plot, V, and where the record leaves it at the top.

    Attributes
    ----------
    low_V, high_V : float
        The y range.
    clipped_max_V : float or None
        Highest potential of the record when it lies above ``high_V`` (the contact
        transient), else None.
    clip_index : int or None
        Index of the last sample above ``high_V``: where the curve comes into view.
    """

    low_V: float
    high_V: float
    clipped_max_V: float | None = None
    clip_index: int | None = None

    @property
    def range(self) -> list[float]:
        return [self.low_V, self.high_V]


def focus_range_V(time_s, potential_V, *marks_V: float | None) -> FocusRange:
    """Initial y range around where nucleation and growth happen, V.

    Bounded by the 0.5th and 99.5th percentiles of the record after its first
    :data:`TRANSIENT_FRACTION` (the contact transient), widened to hold the marked
    potentials ``marks_V`` (E_nuc, E_growth; None skipped), padded by :data:`RANGE_PADDING`.
    The transient would otherwise squash the nucleation dip into a few pixels; it is
    clipped, and :attr:`FocusRange.clipped_max_V` says how high it went.
    """
    time_s = np.asarray(time_s, dtype=float)
    values = np.asarray(potential_V, dtype=float)
    finite = np.isfinite(values) & np.isfinite(time_s)
    if not finite.any():
        return FocusRange(-1.0, 1.0)
    start, end = time_s[finite][0], time_s[finite][-1]
    settled = finite & (time_s >= start + TRANSIENT_FRACTION * (end - start))
    if settled.sum() < 10:  # too short to tell the transient apart
        settled = finite
    low, high = np.percentile(values[settled], RANGE_PERCENTILES)
    marks = [mark for mark in marks_V if mark is not None and np.isfinite(mark)]
    low, high = min([low, *marks]), max([high, *marks])
    span = max(high - low, MIN_SPAN_V)
    centre_pad = (span - (high - low)) / 2
    low = float(low - centre_pad - RANGE_PADDING[0] * span)
    high = float(high + centre_pad + RANGE_PADDING[1] * span)
    above = np.flatnonzero(finite & (values > high))
    if above.size == 0:
        return FocusRange(low, high)
    return FocusRange(low, high, float(values[above].max()), int(above[-1]))


def _show_range(figure: go.Figure, focus: FocusRange, x) -> None:
    """Set the y range; where the record runs off the top, an arrow note at the point the
    curve comes into view says how high it went."""
    figure.update_yaxes(range=focus.range)
    if focus.clipped_max_V is None:
        return
    figure.add_annotation(
        name=CLIP_NOTE_NAME, x=float(x[focus.clip_index]), y=focus.high_V, yref="y",
        text=f"▲ transient to {focus.clipped_max_V:+.2f} V (clipped)",
        hovertext="The contact transient runs above the plot: double-click to see all.",
        showarrow=False, xanchor="left", yanchor="top", xshift=6,
        font={"size": 10, "color": "#6c757d"}, bgcolor="rgba(255,255,255,0.8)")


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
    _show_range(figure, focus_range_V(trace.time_s, trace.potential_V, e_nuc_V, e_growth_V),
                trace.time_s)
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
    charge_uAh_cm2 = e_q_curve(trace.time_s, current_density_mA_cm2)
    figure.add_scatter(x=charge_uAh_cm2, y=trace.potential_V,
                       mode="lines", name="E", line={"color": LINE_COLOUR, "width": 1.3},
                       hovertemplate="Q = %{x:.3f} µAh/cm²<br>E = %{y:.4f} V<extra></extra>")
    _show_range(figure, focus_range_V(trace.time_s, trace.potential_V, e_nuc_V, e_growth_V),
                np.asarray(charge_uAh_cm2))
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
