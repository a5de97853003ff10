"""plan_spots: traversal orders, assignments, spot fields and blocks, by exact comparison."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.grid import Grid, GridError, InstrumentLimits, Spot, plan_spots
from core.grid.order import seeded_permutation

PIEZO_ONLY = InstrumentLimits(coarse_xy_travel_um=0.0)


def galvano(density=1.0, repeats=1, duration_s=5.0):
    return {
        "technique": "galvanostatic",
        "current_density_mA_cm2": density,
        "duration_s": duration_s,
        "repeats": repeats,
    }


def make_grid(**changes):
    data = {
        "name": "plan",
        "rows": 2,
        "cols": 3,
        "pitch_um": 10.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "traversal": "serpentine",
        "assignment": "interleaved",
        "conditions": [galvano(repeats=6)],
    }
    data.update(changes)
    return Grid(**{key: value for key, value in data.items() if value is not None})


def indices(grid, limits=PIEZO_ONLY):
    return [spot.index for spot in plan_spots(grid, limits=limits)]


def test_first_spot_in_full():
    grid = make_grid(origin={"x_um": 5.0, "y_um": 7.0}, conditions=[galvano(2.0, repeats=6)])
    first = plan_spots(grid, limits=PIEZO_ONLY)[0]
    current_A = 2.0e-3 * math.pi * (6.0e-4 / 2) ** 2
    assert_allclose(first.current_A, current_A, rtol=1e-12)
    assert first.model_copy(update={"current_A": current_A}) == Spot(
        order=0,
        index=0,
        row=0,
        col=0,
        x_um=5.0,
        y_um=7.0,
        block=0,
        block_origin_x_um=0.0,
        block_origin_y_um=0.0,
        piezo_x_um=5.0,
        piezo_y_um=7.0,
        condition=0,
        condition_label="2 mA/cm² × 5 s",
        repeat=0,
        technique={
            "technique": "galvanostatic",
            "current_density_mA_cm2": 2.0,
            "duration_s": 5.0,
            "charge_uAh_cm2": 10.0 / 3.6,
        },
        current_density_mA_cm2=2.0,
        current_A=current_A,
        duration_s=5.0,
    )


def test_serpentine_order():
    assert indices(make_grid()) == [0, 1, 2, 5, 4, 3]
    three = make_grid(rows=3, conditions=[galvano(repeats=9)])
    assert indices(three) == [0, 1, 2, 5, 4, 3, 6, 7, 8]


def test_raster_order():
    assert indices(make_grid(traversal="raster")) == [0, 1, 2, 3, 4, 5]


def test_positions_and_orders_in_the_sample_frame():
    spots = plan_spots(
        make_grid(pitch_um=None, pitch_x_um=10.0, pitch_y_um=20.0), limits=PIEZO_ONLY
    )
    assert [(s.row, s.col, s.x_um, s.y_um) for s in spots] == [
        (0, 0, 0.0, 0.0),
        (0, 1, 10.0, 0.0),
        (0, 2, 20.0, 0.0),
        (1, 2, 20.0, 20.0),
        (1, 1, 10.0, 20.0),
        (1, 0, 0.0, 20.0),
    ]
    assert [s.order for s in spots] == list(range(6))


def test_random_order_is_a_seeded_permutation_pinned_for_provenance():
    grid = make_grid(
        rows=3, traversal={"order": "random", "seed": 7}, conditions=[galvano(repeats=9)]
    )
    # pinned: a seed must name the same order on every machine and NumPy release
    assert indices(grid) == [8, 6, 4, 0, 5, 7, 1, 3, 2]
    other = make_grid(
        rows=3, traversal={"order": "random", "seed": 8}, conditions=[galvano(repeats=9)]
    )
    assert sorted(indices(other)) == list(range(9))
    assert indices(other) != indices(grid)


def test_seeded_permutation_is_pinned():
    assert seeded_permutation(10, seed=7, stream=2).tolist() == [8, 6, 4, 0, 5, 7, 1, 3, 9, 2]
    assert seeded_permutation(10, seed=7, stream=3).tolist() != [8, 6, 4, 0, 5, 7, 1, 3, 9, 2]


def test_explicit_positions_keep_list_order_under_raster():
    grid = make_grid(
        rows=None,
        cols=None,
        pitch_um=None,
        positions=[[30, 0], [0, 0], [0, 40], [15, 15]],
        traversal="raster",
        conditions=[galvano(repeats=4)],
    )
    spots = plan_spots(grid, limits=PIEZO_ONLY)
    assert [(s.index, s.row, s.col, s.x_um, s.y_um) for s in spots] == [
        (0, None, None, 30.0, 0.0),
        (1, None, None, 0.0, 0.0),
        (2, None, None, 0.0, 40.0),
        (3, None, None, 15.0, 15.0),
    ]


def test_plan_is_deterministic():
    grid = make_grid(
        rows=4,
        cols=5,
        traversal={"order": "random", "seed": 3},
        assignment={"mode": "randomised", "seed": 4},
        conditions=[galvano(0.5, repeats=10), galvano(1.5, repeats=10)],
    )
    assert plan_spots(grid) == plan_spots(grid)
    rebuilt = Grid.model_validate(grid.model_dump())
    assert plan_spots(rebuilt) == plan_spots(grid)


# --- assignment ------------------------------------------------------------------------------


def conditions_and_repeats(grid):
    return [(s.index, s.condition, s.repeat) for s in plan_spots(grid, limits=PIEZO_ONLY)]


def test_row_blocks_run_one_condition_per_row():
    grid = make_grid(assignment="row_blocks", conditions=[galvano(1, 3), galvano(2, 3)])
    assert conditions_and_repeats(grid) == [
        (0, 0, 0),
        (1, 0, 1),
        (2, 0, 2),
        (5, 1, 0),
        (4, 1, 1),
        (3, 1, 2),
    ]


def test_row_blocks_leave_the_end_of_a_short_row_empty():
    grid = make_grid(assignment="row_blocks", conditions=[galvano(1, 2), galvano(2, 3)])
    assert conditions_and_repeats(grid) == [(0, 0, 0), (1, 0, 1), (5, 1, 0), (4, 1, 1), (3, 1, 2)]
    assert [s.order for s in plan_spots(grid, limits=PIEZO_ONLY)] == [0, 1, 2, 3, 4]


def test_interleaved_takes_turns_along_the_traversal():
    grid = make_grid(conditions=[galvano(1, 3), galvano(2, 3)])
    assert conditions_and_repeats(grid) == [
        (0, 0, 0),
        (1, 1, 0),
        (2, 0, 1),
        (5, 1, 1),
        (4, 0, 2),
        (3, 1, 2),
    ]


def test_interleaved_skips_conditions_whose_repeats_are_used_up():
    grid = make_grid(traversal="raster", conditions=[galvano(1, 1), galvano(2, 3), galvano(3, 1)])
    assert [s.condition for s in plan_spots(grid, limits=PIEZO_ONLY)] == [0, 1, 2, 1, 1]
    assert [s.index for s in plan_spots(grid, limits=PIEZO_ONLY)] == [0, 1, 2, 3, 4]


def test_randomised_is_a_seeded_shuffle_with_the_right_counts():
    grid = make_grid(
        assignment={"mode": "randomised", "seed": 11}, conditions=[galvano(1, 3), galvano(2, 3)]
    )
    assert [(s.index, s.condition) for s in plan_spots(grid, limits=PIEZO_ONLY)] == [
        (0, 0),
        (1, 1),
        (2, 1),
        (5, 1),
        (4, 0),
        (3, 0),
    ]
    big = make_grid(
        rows=10,
        cols=10,
        assignment={"mode": "randomised", "seed": 5},
        conditions=[galvano(1, 50), galvano(2, 30), galvano(3, 20)],
    )
    spots = plan_spots(big, limits=PIEZO_ONLY)
    assert Counter(s.condition for s in spots) == {0: 50, 1: 30, 2: 20}
    # not confounded with order: each condition is spread over the whole run
    orders = np.array([s.order for s in spots if s.condition == 0])
    assert orders.min() < 10 and orders.max() > 90


def test_current_from_footprint_area_and_potential_techniques_have_none():
    grid = make_grid(
        conditions=[
            galvano(2.92, repeats=2),
            {
                "technique": "cv",
                "upper_V": 1.47,
                "lower_V": -0.27,
                "scan_rate_V_s": 0.1,
                "cycles": 10,
                "repeats": 2,
            },
            {
                "technique": "chronoamperometry",
                "potential_V": -0.1,
                "duration_s": 7.0,
                "repeats": 2,
            },
        ],
        footprint_diameter_um=7.0,
    )
    spots = plan_spots(grid, limits=PIEZO_ONLY)
    by_condition = {s.condition: s for s in spots}
    assert_allclose(by_condition[0].current_A, 2.92e-3 * math.pi * (3.5e-4) ** 2, rtol=1e-12)
    assert by_condition[1].current_A is None and by_condition[1].current_density_mA_cm2 is None
    assert_allclose(by_condition[1].duration_s, 10 * 2 * 1.74 / 0.1)
    assert by_condition[1].technique["start_V"] == 1.47
    assert by_condition[2].duration_s == 7.0
    assert by_condition[2].condition_label == "CA -0.1 V × 7 s"


def test_constant_charge_spots_get_q_over_j():
    grid = make_grid(
        rows=1,
        conditions=[
            {"technique": "galvanostatic", "current_density_mA_cm2": j, "charge_uAh_cm2": 3.2}
            for j in (0.2, 0.8, 3.2)
        ],
    )
    durations = [s.duration_s for s in plan_spots(grid, limits=PIEZO_ONLY)]
    assert_allclose(durations, [57.6, 14.4, 3.6], rtol=1e-12)


# --- blocks ------------------------------------------------------------------------------------


def test_a_150_um_grid_splits_into_four_even_blocks_visited_one_after_another():
    grid = make_grid(rows=16, cols=16, conditions=[galvano(repeats=256)])
    spots = plan_spots(grid)  # lab limits: 100 µm piezo with a coarse x/y stage
    blocks = [s.block for s in spots]
    assert blocks == sorted(blocks)  # each block finished before the next
    assert Counter(blocks) == {0: 64, 1: 64, 2: 64, 3: 64}
    first_of_block = {}
    for s in spots:
        first_of_block.setdefault(s.block, s)
    # 8 columns (70 µm) per block, centred in the 100 µm travel; blocks in serpentine order
    assert [(s.block_origin_x_um, s.block_origin_y_um) for s in first_of_block.values()] == [
        (-15.0, -15.0),
        (65.0, -15.0),
        (65.0, 65.0),
        (-15.0, 65.0),
    ]
    assert [(s.row, s.col) for s in first_of_block.values()] == [(0, 0), (0, 8), (8, 8), (8, 0)]
    piezo = np.array([(s.piezo_x_um, s.piezo_y_um) for s in spots])
    assert piezo.min() == 15.0 and piezo.max() == 85.0
    for s in spots:
        assert s.x_um == s.block_origin_x_um + s.piezo_x_um
        assert s.y_um == s.block_origin_y_um + s.piezo_y_um
    # inside a block the rows snake, starting left to right
    assert [(s.row, s.col) for s in spots[6:10]] == [(0, 6), (0, 7), (1, 7), (1, 6)]
    assert sorted(s.index for s in spots) == list(range(256))


def test_a_grid_within_the_travel_is_one_centred_block():
    spots = plan_spots(make_grid(rows=8, cols=8, pitch_um=11.0, conditions=[galvano(repeats=64)]))
    assert {s.block for s in spots} == {0}
    assert {(s.block_origin_x_um, s.block_origin_y_um) for s in spots} == {(-11.5, -11.5)}


def test_a_full_travel_fits_one_block_but_one_pitch_more_does_not():
    fits = make_grid(rows=1, cols=11, conditions=[galvano(repeats=11)])  # 100 µm
    assert {s.block for s in plan_spots(fits)} == {0}
    wider = make_grid(rows=1, cols=12, conditions=[galvano(repeats=12)])  # 110 µm
    assert Counter(s.block for s in plan_spots(wider)) == {0: 6, 1: 6}


def test_explicit_positions_split_greedily_around_clusters():
    grid = make_grid(
        rows=None,
        cols=None,
        pitch_um=None,
        positions=[[0, 0], [10, 0], [20, 0], [30, 0], [130, 0]],
        traversal="raster",
        conditions=[galvano(repeats=5)],
    )
    spots = plan_spots(grid)
    assert [(s.block, s.block_origin_x_um, s.piezo_x_um) for s in spots] == [
        (0, -35.0, 35.0),
        (0, -35.0, 45.0),
        (0, -35.0, 55.0),
        (0, -35.0, 65.0),
        (1, 80.0, 50.0),
    ]


def test_random_traversal_still_covers_block_by_block():
    grid = make_grid(
        rows=16,
        cols=16,
        traversal={"order": "random", "seed": 1},
        conditions=[galvano(repeats=256)],
    )
    spots = plan_spots(grid)
    blocks = [s.block for s in spots]
    assert blocks == sorted(blocks)
    assert len({(s.block_origin_x_um, s.block_origin_y_um) for s in spots}) == 4


def test_without_a_coarse_stage_there_is_one_block_in_piezo_coordinates():
    grid = make_grid(rows=16, cols=16, conditions=[galvano(repeats=256)])
    spots = plan_spots(grid, limits=PIEZO_ONLY)
    assert {(s.block, s.block_origin_x_um, s.block_origin_y_um) for s in spots} == {(0, 0.0, 0.0)}
    assert max(s.piezo_x_um for s in spots) == 150.0


def test_planning_refuses_more_positions_than_the_instrument_allows():
    grid = make_grid(rows=101, cols=100)
    with pytest.raises(
        GridError,
        match=r"^grid has 10,100 positions \(101 × 100\), more than "
        r"the 10,000 the instrument allows$",
    ):
        plan_spots(grid)


def test_ten_thousand_spots_plan_quickly():
    grid = make_grid(
        rows=100,
        cols=100,
        pitch_um=11.0,
        traversal={"order": "random", "seed": 2},
        assignment={"mode": "randomised", "seed": 3},
        conditions=[galvano(0.5 + k, repeats=1000) for k in range(10)],
    )
    spots = plan_spots(grid)
    assert len(spots) == 10_000
    assert sorted(s.index for s in spots) == list(range(10_000))
    # 10 columns of 11 µm (99 µm) fit the 100 µm travel: 10 blocks per axis
    assert len({s.block for s in spots}) == 100
