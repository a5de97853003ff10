"""validate_grid / check_grid: every instrument limit with its exact message, all at once."""

from __future__ import annotations

import pytest

from core.grid import LAB_LIMITS, Grid, GridError, InstrumentLimits, check_grid, validate_grid


def galvano(density=1.0, repeats=1, duration_s=5.0):
    return {
        "technique": "galvanostatic",
        "current_density_mA_cm2": density,
        "duration_s": duration_s,
        "repeats": repeats,
    }


def make_grid(**changes):
    data = {
        "name": "check",
        "origin": {"x_um": 10.0, "y_um": 10.0},
        "rows": 2,
        "cols": 3,
        "pitch_um": 11.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "conditions": [galvano(repeats=6)],
    }
    data.update(changes)
    return Grid(**{key: value for key, value in data.items() if value is not None})


def test_a_good_grid_has_no_problems():
    grid = make_grid()
    assert validate_grid(grid) == []
    assert validate_grid(grid, InstrumentLimits(coarse_xy_travel_um=0.0)) == []
    check_grid(grid)  # does not raise


def test_pitch_smaller_than_footprint_and_margin():
    assert validate_grid(make_grid(pitch_um=5.0)) == [
        "pitch 5.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin"
    ]
    assert validate_grid(make_grid(pitch_um=7.99)) == [
        "pitch 8.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin"
    ]
    assert validate_grid(make_grid(pitch_um=8.0)) == []


def test_each_pitch_axis_is_checked_where_it_is_used():
    grid = make_grid(pitch_um=None, pitch_x_um=20.0, pitch_y_um=7.0)
    assert validate_grid(grid) == [
        "pitch_y 7.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin"
    ]
    one_row = make_grid(
        rows=1, pitch_um=None, pitch_x_um=20.0, pitch_y_um=1.0, conditions=[galvano(repeats=3)]
    )
    assert validate_grid(one_row) == []


def test_the_measured_footprint_sets_the_spacing():
    assert validate_grid(make_grid(footprint_diameter_um=10.0)) == [
        "pitch 11.0 µm is smaller than the footprint 10.0 µm + 2.0 µm margin"
    ]


def test_explicit_positions_too_close_name_the_closest_pair():
    grid = make_grid(
        rows=None,
        cols=None,
        pitch_um=None,
        positions=[[0, 0], [20, 0], [24, 0], [0, 5], [50, 50]],
        traversal="raster",
        conditions=[galvano(repeats=5)],
    )
    assert validate_grid(grid) == [
        "positions 1 and 2 are 4.0 µm apart, closer than the footprint 6.0 µm + 2.0 µm margin "
        "(4 positions too close to a neighbour)"
    ]


def test_retract_must_lift_the_meniscus_and_fit_the_z_travel():
    assert validate_grid(make_grid(retract_um=2.0)) == [
        "retract 2.0 µm is less than 3.0 µm (0.5 × the 6.0 µm footprint) needed to lift the "
        "meniscus clear"
    ]
    tiny_tip = make_grid(pipette_diameter_um=1.0, pitch_um=5.0, retract_um=0.8)
    assert validate_grid(tiny_tip) == [
        "retract 0.8 µm is less than the 1.0 µm minimum needed to lift the meniscus clear"
    ]
    assert validate_grid(make_grid(retract_um=120.0)) == [
        "retract 120.0 µm is beyond the piezo's 100.0 µm z travel"
    ]


def test_speeds():
    grid = make_grid(approach_speed_um_s=20.0, move_speed_um_s=60.0, retract_speed_um_s=55.0)
    assert validate_grid(grid) == [
        "approach speed 20 µm/s is above the 10 µm/s at which the contact stop is safe",
        "move speed 60 µm/s is above the piezo's 50 µm/s limit",
        "retract speed 55 µm/s is above the piezo's 50 µm/s limit",
    ]


def test_travel_without_a_coarse_stage():
    piezo_only = InstrumentLimits(coarse_xy_travel_um=0.0)
    wide = make_grid(rows=1, cols=14, conditions=[galvano(repeats=14)])  # x 10 to 153 µm
    assert validate_grid(wide, piezo_only) == [
        "grid spans x 10.0 to 153.0 µm, outside the piezo's 0 to 100.0 µm travel, and the "
        "instrument has no coarse x/y stage"
    ]
    assert validate_grid(wide) == []  # the lab's coarse stage splits it into blocks
    negative = make_grid(origin={"x_um": 0.0, "y_um": -5.0})
    assert validate_grid(negative, piezo_only) == [
        "grid spans y -5.0 to 6.0 µm, outside the piezo's 0 to 100.0 µm travel, and the "
        "instrument has no coarse x/y stage"
    ]


def test_travel_of_the_coarse_stage():
    short_stage = InstrumentLimits(coarse_xy_travel_um=100.0)
    grid = make_grid(rows=16, cols=16, pitch_um=10.0, conditions=[galvano(repeats=256)])
    assert validate_grid(grid, short_stage) == [
        "grid spans 150.0 µm in x, beyond the coarse stage's 100.0 µm travel",
        "grid spans 150.0 µm in y, beyond the coarse stage's 100.0 µm travel",
    ]


def test_current_beyond_the_galvanostat_range():
    grid = make_grid(conditions=[galvano(40.0, repeats=3), galvano(2.92, repeats=3)])
    assert validate_grid(grid) == [
        "conditions[0] (40 mA/cm² × 5 s): current density 40 mA/cm² gives 11.3 nA over the "
        "6.0 µm footprint, beyond the galvanostat's ±10 nA range"
    ]


def test_current_below_the_galvanostat_resolution():
    grid = make_grid(conditions=[galvano(0.001, repeats=6)])
    assert validate_grid(grid) == [
        "conditions[0] (0.001 mA/cm² × 5 s): current density 0.001 mA/cm² gives 0.283 pA over "
        "the 6.0 µm footprint, below the galvanostat's 1 pA minimum"
    ]


def test_potentials_outside_the_electrochemical_window():
    cv = {
        "technique": "cv",
        "upper_V": 3.5,
        "lower_V": -1.2,
        "start_V": 0.0,
        "scan_rate_V_s": 0.1,
        "repeats": 3,
    }
    hold = {"technique": "chronoamperometry", "potential_V": -3.0, "duration_s": 5.0, "repeats": 3}
    assert validate_grid(make_grid(conditions=[cv, hold])) == [
        "conditions[0] (CV -1.2 to 3.5 V at 100 mV/s × 1): upper_V 3.5 V is outside the "
        "electrochemical window -1 to 3 V vs Li/Li+",
        "conditions[0] (CV -1.2 to 3.5 V at 100 mV/s × 1): lower_V -1.2 V is outside the "
        "electrochemical window -1 to 3 V vs Li/Li+",
        "conditions[1] (CA -3 V × 5 s): potential_V -3 V is outside the electrochemical window "
        "-1 to 3 V vs Li/Li+",
    ]
    article_cv = {**cv, "upper_V": 1.47, "lower_V": -0.27, "cycles": 10}
    assert validate_grid(make_grid(conditions=[article_cv])) == []


def test_measurement_too_long():
    slow = {
        "technique": "galvanostatic",
        "current_density_mA_cm2": 0.2,
        "charge_uAh_cm2": 40.0,
        "repeats": 6,
        "label": "slow",
    }
    assert validate_grid(make_grid(conditions=[slow])) == [
        "conditions[0] (slow): measurement 720 s is longer than the 600 s limit"
    ]


def test_too_many_spots_skips_the_per_spot_checks_but_reports_the_rest():
    grid = make_grid(rows=200, cols=200, retract_um=2.0, conditions=[galvano(40.0, repeats=100)])
    assert validate_grid(grid) == [
        "grid has 40,000 positions (200 × 200), more than the 10,000 the instrument allows",
        "retract 2.0 µm is less than 3.0 µm (0.5 × the 6.0 µm footprint) needed to lift the "
        "meniscus clear",
        "conditions[0] (40 mA/cm² × 5 s): current density 40 mA/cm² gives 11.3 nA over the "
        "6.0 µm footprint, beyond the galvanostat's ±10 nA range",
    ]


def test_check_grid_raises_every_problem_at_once():
    grid = make_grid(pitch_um=5.0, approach_speed_um_s=20.0, conditions=[galvano(40.0, 6)])
    with pytest.raises(GridError) as caught:
        check_grid(grid, LAB_LIMITS)
    assert caught.value.problems == [
        "pitch 5.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin",
        "approach speed 20 µm/s is above the 10 µm/s at which the contact stop is safe",
        "conditions[0] (40 mA/cm² × 5 s): current density 40 mA/cm² gives 11.3 nA over the "
        "6.0 µm footprint, beyond the galvanostat's ±10 nA range",
    ]
    assert str(caught.value) == "; ".join(caught.value.problems)


def test_limits_are_checked_for_sense():
    with pytest.raises(GridError, match=r"^window_lower_V 4 V must be below window_upper_V 3 V$"):
        InstrumentLimits(window_lower_V=4.0)
    with pytest.raises(GridError, match=r"^the window -11 to 3 V exceeds the ±10 V ADC range$"):
        InstrumentLimits(window_lower_V=-11.0)
    with pytest.raises(GridError) as caught:
        InstrumentLimits(piezo_travel=50.0)
    assert caught.value.problems == [
        "unknown key 'piezo_travel' in instrument limits (did you mean 'piezo_travel_um'?)"
    ]
