import numpy as np
import pytest
from numpy.testing import assert_allclose

from components.curves import (
    CLIP_NOTE_NAME,
    CURSOR_NAME,
    create_ce_figure,
    create_intensity_figure,
    create_potential_charge_figure,
    create_potential_time_figure,
    create_voltammogram_figure,
    focus_range_V,
    growth_window_s,
)
from core.traces import Trace

TIME_S = np.linspace(0.0, 5.0, 501)
# analytic curve: +1 V contact transient, a dip to −0.15 V at 2 s, plateau at −0.07 V
POTENTIAL_V = (1.0 * np.exp(-TIME_S / 0.1) - 0.07
               - 0.08 * np.exp(-((TIME_S - 2.0) / 0.4) ** 2))
TRACE = Trace(TIME_S, POTENTIAL_V, np.full_like(TIME_S, -1e-7))
MARKS = {"e_nuc_V": -0.15, "t_nuc_s": 2.0, "e_growth_V": -0.07,
         "growth_window": (4.4, 5.0), "t_nuc_irm_s": 1.6}


def _trace_named(figure, name):
    return next(trace for trace in figure.data if trace.name == name)


def test_e_t_marks_nucleation_growth_and_the_optical_onset():
    figure = create_potential_time_figure(TRACE, cursor_s=1.2, **MARKS)
    assert _trace_named(figure, "E_nuc").x == (2.0,) and _trace_named(figure, "E_nuc").y == (
        -0.15,)
    assert _trace_named(figure, "E_growth").x == (4.4, 5.0)
    assert _trace_named(figure, "E_growth").y == (-0.07, -0.07)
    lines = {shape.name: shape for shape in figure.layout.shapes}
    assert lines[CURSOR_NAME].x0 == 1.2
    assert [s.x0 for s in figure.layout.shapes if s.name != CURSOR_NAME] == [1.6]
    assert figure.layout.xaxis.title.text == "t (s)"
    assert figure.layout.yaxis.title.text == "E (V vs Li/Li⁺)"
    assert figure.layout.xaxis.range == (0.0, 5.0)  # a cursor before landing does not stretch it


def test_e_q_uses_q_equal_j_times_t_in_microampere_hours():
    figure = create_potential_charge_figure(TRACE, 0.78, **MARKS)
    assert_allclose(figure.data[0].x[-1], 0.78 * 5.0 / 3.6)
    assert _trace_named(figure, "E_nuc").x[0] == pytest.approx(0.78 * 2.0 / 3.6)
    assert_allclose(_trace_named(figure, "E_growth").x, [0.78 * 4.4 / 3.6, 0.78 * 5.0 / 3.6])
    assert figure.layout.xaxis.title.text == "Q (µAh/cm²)"
    assert figure.layout.shapes[0].x0 == pytest.approx(0.78 * 1.6 / 3.6)


def test_no_markers_when_the_spot_never_nucleated():
    figure = create_potential_time_figure(TRACE)
    assert [trace.name for trace in figure.data] == ["E"] and not figure.layout.shapes


def test_initial_range_frames_the_dip_and_plateau_not_the_contact_transient():
    focus = focus_range_V(TIME_S, POTENTIAL_V, -0.15, -0.07)
    dip_to_plateau = -0.07 - -0.15
    # the dip and the plateau fill most of the height, with room above the plateau
    assert focus.low_V < -0.15 < -0.07 < focus.high_V < 0.0
    assert (-0.07 - -0.15) / (focus.high_V - focus.low_V) > 0.5
    assert focus.high_V - -0.07 > 0.2 * dip_to_plateau
    # the +1 V transient is clipped, and where it comes into view is known
    assert focus.clipped_max_V == pytest.approx(0.93)
    assert POTENTIAL_V[focus.clip_index] > focus.high_V >= POTENTIAL_V[focus.clip_index + 1]


def test_marked_potentials_stay_in_view_even_outside_the_record_percentiles():
    focus = focus_range_V(TIME_S, POTENTIAL_V, -0.4, None)
    assert focus.low_V < -0.4


def test_a_record_without_transient_is_not_clipped_and_a_flat_one_gets_a_minimum_span():
    flat = np.full_like(TIME_S, -0.05)
    focus = focus_range_V(TIME_S, flat)
    assert focus.clipped_max_V is None and focus.clip_index is None
    assert focus.high_V - focus.low_V >= 0.02 and focus.low_V < -0.05 < focus.high_V
    assert focus_range_V(TIME_S[:1], [np.nan]).range == [-1.0, 1.0]


def test_e_t_and_e_q_show_the_clipped_transient_and_keep_the_markers_in_view():
    for figure in (create_potential_time_figure(TRACE, **MARKS),
                   create_potential_charge_figure(TRACE, 0.78, **MARKS)):
        low, high = figure.layout.yaxis.range
        assert low < -0.15 and -0.07 < high < 0.0
        (note,) = [a for a in figure.layout.annotations if a.name == CLIP_NOTE_NAME]
        assert "transient to +0.93 V (clipped)" in note.text and note.y == high
        assert "double-click" in note.hovertext
    e_t_note = create_potential_time_figure(TRACE).layout.annotations[0]
    assert 0.1 < e_t_note.x < 0.5  # where the decaying transient enters the plot, s


def test_growth_window_is_the_last_fraction_after_nucleation():
    assert growth_window_s(1.0, 5.0) == pytest.approx((4.2, 5.0))
    assert growth_window_s(1.0, 5.0, 0.5) == pytest.approx((3.0, 5.0))
    assert growth_window_s(None, 5.0) is None


def test_cv_figures_have_units():
    cv = create_voltammogram_figure(TRACE)
    assert_allclose(cv.data[0].y[0], -100.0)  # −1e-7 A in nA
    assert cv.layout.yaxis.title.text == "I (nA)"
    ce = create_ce_figure([{"cycle": 1, "ce": 0.25}, {"cycle": 2, "ce": 0.5}])
    assert ce.data[0].x == (1, 2) and ce.data[0].y == (0.25, 0.5)
    intensity = create_intensity_figure([0.0, 1.0], [0.0, 5.0], t_nuc_irm_s=0.5, t_nuc_s=0.8)
    assert [shape.x0 for shape in intensity.layout.shapes] == [0.5, 0.8]
    assert intensity.layout.yaxis.title.text == "ΔI (counts)"
