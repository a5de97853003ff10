"""Grid models: structure, defaults, derived values and every structural error message."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose
from pydantic import ValidationError

from core.errors import MeniscusError
from core.grid import (
    Assignment,
    Camera,
    Chronoamperometry,
    CyclicVoltammetry,
    Galvanostatic,
    Grid,
    GridError,
    Traversal,
)

GALVANO = {"technique": "galvanostatic", "current_density_mA_cm2": 1.0, "duration_s": 5.0}


def grid_data(**changes):
    data = {
        "name": "small",
        "rows": 2,
        "cols": 3,
        "pitch_um": 10.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "assignment": "row_blocks",
        "conditions": [{**GALVANO, "repeats": 3}, {**GALVANO, "repeats": 3}],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def problems_of(**changes):
    with pytest.raises(GridError) as caught:
        Grid(**grid_data(**changes))
    return caught.value.problems


def test_grid_error_is_a_meniscus_error_with_all_problems_in_its_message():
    error = GridError(["first", "second"], source="a.yaml")
    assert isinstance(error, MeniscusError)
    assert str(error) == "a.yaml: first; second"
    assert error.problems == ["first", "second"]
    assert str(GridError("only")) == "only"


def test_defaults_and_derived_values():
    grid = Grid(**grid_data())
    assert grid.pitch_xy_um == (10.0, 10.0)
    assert grid.position_count == 6
    assert grid.spot_count == 6
    assert grid.footprint_um == 6.0
    assert_allclose(grid.footprint_area_cm2, math.pi * (3e-4) ** 2, rtol=1e-12)
    assert grid.traversal == Traversal(order="serpentine")
    assert grid.camera == Camera(enabled=True, exposure_ms=100.0, interval_s=0.23)
    assert (grid.move_speed_um_s, grid.retract_speed_um_s) == (2.0, 2.0)


def test_footprint_diameter_overrides_the_pipette_for_currents():
    grid = Grid(**grid_data(footprint_diameter_um=8.0))
    assert grid.footprint_um == 8.0
    assert_allclose(grid.footprint_area_cm2, math.pi * (4e-4) ** 2, rtol=1e-12)


def test_separate_pitches():
    grid = Grid(**grid_data(pitch_um=None, pitch_x_um=12.0, pitch_y_um=15.0))
    assert grid.pitch_xy_um == (12.0, 15.0)


def test_models_are_frozen():
    grid = Grid(**grid_data())
    with pytest.raises(ValidationError):
        grid.rows = 4


def test_shorthand_strings_for_traversal_and_assignment():
    assert Traversal.model_validate("raster") == Traversal(order="raster")
    assert Assignment.model_validate("interleaved") == Assignment(mode="interleaved")


def test_positions_accept_pairs():
    grid = Grid(
        **grid_data(
            rows=None,
            cols=None,
            pitch_um=None,
            positions=[[0, 0], {"x_um": 20, "y_um": 5}],
            traversal="raster",
            assignment="interleaved",
            conditions=[{**GALVANO, "repeats": 2}],
        )
    )
    assert [(p.x_um, p.y_um) for p in grid.positions] == [(0.0, 0.0), (20.0, 5.0)]
    assert grid.pitch_xy_um is None
    assert grid.position_count == 2


# --- techniques --------------------------------------------------------------------------


def test_galvanostatic_fixed_duration():
    step = Galvanostatic(current_density_mA_cm2=0.22, duration_s=5.0)
    assert step.measurement_s == 5.0
    assert_allclose(step.passed_charge_uAh_cm2, 0.22 * 5.0 / 3.6)
    assert step.display_label == "0.22 mA/cm² × 5 s"
    assert step.run_parameters() == {
        "technique": "galvanostatic",
        "current_density_mA_cm2": 0.22,
        "duration_s": 5.0,
        "charge_uAh_cm2": pytest.approx(0.22 * 5.0 / 3.6),
    }


@pytest.mark.parametrize(
    ("density_mA_cm2", "charge_uAh_cm2", "duration_s"),
    [
        (0.20, 60 * 0.20 / 3.6, 60.0),
        (0.78, 3.25, 15.0),
        (3.82, 3.82 * 3 / 3.6, 3.0),
        (1.0, 1.0, 3.6),
    ],
)
def test_constant_charge_duration_is_charge_over_current_density(
    density_mA_cm2, charge_uAh_cm2, duration_s
):
    step = Galvanostatic(current_density_mA_cm2=density_mA_cm2, charge_uAh_cm2=charge_uAh_cm2)
    assert_allclose(step.measurement_s, duration_s, rtol=1e-12)
    assert_allclose(step.passed_charge_uAh_cm2, charge_uAh_cm2, rtol=1e-12)
    assert step.display_label == f"{density_mA_cm2:g} mA/cm² to {charge_uAh_cm2:g} µAh/cm²"


def test_cv_duration_is_the_same_wherever_the_cycle_starts():
    article = CyclicVoltammetry(upper_V=1.47, lower_V=-0.27, scan_rate_V_s=0.1, cycles=10)
    assert_allclose(article.measurement_s, 10 * 2 * 1.74 / 0.1)
    assert article.first_V == 1.47
    mid = article.model_copy(update={"start_V": 0.5})
    assert mid.measurement_s == article.measurement_s
    assert mid.run_parameters()["start_V"] == 0.5
    assert article.display_label == "CV -0.27 to 1.47 V at 100 mV/s × 10"


def test_chronoamperometry():
    hold = Chronoamperometry(potential_V=-0.1, duration_s=10.0, label="hold")
    assert hold.measurement_s == 10.0
    assert hold.display_label == "hold"
    assert hold.run_parameters() == {
        "technique": "chronoamperometry",
        "potential_V": -0.1,
        "duration_s": 10.0,
    }


# --- structural errors ---------------------------------------------------------------------


def test_unknown_key_is_an_error_with_a_suggestion():
    assert problems_of(pich_um=10.0) == ["unknown key 'pich_um' in grid (did you mean 'pitch_um'?)"]


def test_unknown_nested_keys_name_their_place():
    problems = problems_of(
        origin={"x": 1.0},
        conditions=[{**GALVANO, "repeats": 3, "durations_s": 5}, {**GALVANO, "repeats": 3}],
    )
    assert problems == [
        "unknown key 'x' in origin",
        "unknown key 'durations_s' in conditions[0] (did you mean 'duration_s'?)",
    ]


def test_zero_and_negative_values_are_all_reported():
    assert problems_of(rows=0, pitch_um=-5.0, retract_um=0.0) == [
        "rows is 0; it must be greater than 0",
        "pitch_um is -5 µm; it must be greater than 0 µm",
        "retract_um is 0 µm; it must be greater than 0 µm",
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"approach_speed_um_s": -2.0},
            "approach_speed_um_s is -2 µm/s; it must be greater than 0 µm/s",
        ),
        ({"pipette_diameter_um": 0}, "pipette_diameter_um is 0 µm; it must be greater than 0 µm"),
        ({"pitch_um": float("nan")}, "pitch_um is nan; it must be a finite number"),
        ({"pitch_um": float("inf")}, "pitch_um is inf; it must be a finite number"),
        (
            {"camera": {"exposure_ms": -1.0}},
            "camera.exposure_ms is -1 ms; it must be greater than 0 ms",
        ),
        (
            {"conditions": [{**GALVANO, "repeats": 0}, {**GALVANO, "repeats": 3}]},
            "conditions[0].repeats is 0; it must be greater than 0",
        ),
        (
            {"conditions": [{**GALVANO, "current_density_mA_cm2": -1.0}, GALVANO]},
            "conditions[0].current_density_mA_cm2 is -1 mA/cm²; it must be greater than 0 mA/cm²",
        ),
        (
            {"traversal": {"order": "random", "seed": -1}},
            "traversal.seed is -1; it must be at least 0",
        ),
    ],
)
def test_each_bad_value_names_key_value_limit_and_unit(changes, problem):
    assert problems_of(**changes) == [problem]


def test_missing_and_mistyped_values():
    with pytest.raises(GridError) as caught:
        Grid.model_validate({"name": "x", "rows": "eight"})
    assert caught.value.problems == [
        "rows: input should be a valid integer, unable to parse string as an integer (got 'eight')",
        "pipette_diameter_um is missing",
        "retract_um is missing",
        "approach_speed_um_s is missing",
        "conditions is missing",
    ]


def test_empty_lists_and_names():
    assert problems_of(conditions=[]) == ["conditions is empty; it needs at least 1 entry"]
    assert problems_of(name="") == ["name: string should have at least 1 character (got '')"]


def test_unknown_technique_reported_once():
    assert problems_of(conditions=[{"technique": "galvo"}]) == [
        "conditions[0].technique 'galvo' is not one of 'galvanostatic', 'cv', 'chronoamperometry'"
    ]
    assert problems_of(conditions=[{"current_density_mA_cm2": 1.0}]) == [
        "conditions[0] has no 'technique' key"
    ]


def test_galvanostatic_needs_exactly_one_of_duration_and_charge():
    both = {**GALVANO, "charge_uAh_cm2": 3.0, "repeats": 3}
    neither = {"technique": "galvanostatic", "current_density_mA_cm2": 1.0, "repeats": 3}
    assert problems_of(conditions=[both, neither]) == [
        "conditions[0]: give duration_s or charge_uAh_cm2 (constant charge), not both",
        "conditions[1]: give duration_s or charge_uAh_cm2 (constant charge)",
    ]
    with pytest.raises(GridError, match=r"^give duration_s or charge_uAh_cm2 \(constant charge\)$"):
        Galvanostatic(current_density_mA_cm2=1.0)


def test_cv_potentials_must_be_ordered():
    cv = {"technique": "cv", "upper_V": 0.0, "lower_V": 1.0, "scan_rate_V_s": 0.1, "repeats": 3}
    started = {**cv, "upper_V": 1.0, "lower_V": 0.0, "start_V": 2.0}
    assert problems_of(conditions=[cv, started]) == [
        "conditions[0]: lower_V 1 V must be below upper_V 0 V",
        "conditions[1]: start_V 2 V is outside lower_V to upper_V (0 to 1 V)",
    ]


def test_seeds():
    assert problems_of(traversal="random") == ["traversal: 'random' needs a seed"]
    assert problems_of(traversal={"order": "raster", "seed": 3}) == [
        "traversal: seed 3 is only used by 'random', not 'raster'"
    ]
    assert problems_of(assignment="randomised") == ["assignment: 'randomised' needs a seed"]
    assert problems_of(traversal="zigzag") == [
        "traversal.order is 'zigzag'; expected 'serpentine', 'raster' or 'random'"
    ]


def test_camera_exposure_must_fit_the_frame_interval():
    assert problems_of(camera={"exposure_ms": 300.0, "interval_s": 0.23}) == [
        "camera: exposure 300 ms is longer than the 230 ms frame interval"
    ]
    assert not Camera(enabled=False, exposure_ms=300.0, interval_s=0.23).enabled
    with pytest.raises(GridError, match=r"^exposure 300 ms is longer than the 230 ms frame"):
        Camera(exposure_ms=300.0)


def test_layout_must_be_rows_and_cols_or_positions():
    assert problems_of(cols=None) == ["give both rows and cols, or a positions list"]
    assert problems_of(pitch_um=None) == [
        "a rows × cols grid needs pitch_um, or both pitch_x_um and pitch_y_um"
    ]
    assert problems_of(pitch_x_um=3.0) == ["give pitch_um, or pitch_x_um with pitch_y_um, not both"]
    assert problems_of(positions=[[0, 0], [20, 0]]) == [
        "give rows and cols, or positions, not both",
        "pitch_um, pitch_x_um and pitch_y_um apply to rows × cols grids only",
        "serpentine traversal needs rows × cols; explicit positions are visited in list order "
        "('raster') or in 'random' order",
    ]


def test_row_blocks_need_one_row_per_condition_and_repeats_within_a_row():
    three = [{**GALVANO, "repeats": 3}] * 3
    assert problems_of(conditions=three) == [
        "the grid has 2 rows for 3 conditions; row_blocks runs one condition per row"
    ]
    assert problems_of(conditions=[{**GALVANO, "repeats": 4}, {**GALVANO, "repeats": 3}]) == [
        "conditions[0] (1 mA/cm² × 5 s) has 4 repeats, more than the 3 columns of its row"
    ]
    assert problems_of(
        rows=None,
        cols=None,
        pitch_um=None,
        positions=[[0, 0], [20, 0]],
        traversal="raster",
        conditions=[GALVANO],
    ) == ["row_blocks assignment needs rows × cols, not explicit positions"]


def test_repeats_must_fit_the_positions():
    conditions = [{**GALVANO, "repeats": 4}, {**GALVANO, "repeats": 3}]
    assert problems_of(assignment="interleaved", conditions=conditions) == [
        "the conditions' repeats add up to 7 spots, more than the grid's 6 positions"
    ]
    fewer = Grid(**grid_data(assignment="interleaved", conditions=[{**GALVANO, "repeats": 5}]))
    assert fewer.spot_count == 5
