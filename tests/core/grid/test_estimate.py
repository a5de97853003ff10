"""estimate_duration: per-spot moves, approach, measurement, retract, overheads, block changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from core.grid import (
    DurationEstimate,
    Grid,
    InstrumentLimits,
    estimate_duration,
    estimate_duration_s,
    load_grid,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def make_grid(**changes):
    data = {
        "name": "timing",
        "rows": 1,
        "cols": 3,
        "pitch_um": 10.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "move_speed_um_s": 2.0,
        "retract_speed_um_s": 4.0,
        "traversal": "raster",
        "conditions": [
            {
                "technique": "galvanostatic",
                "current_density_mA_cm2": 1.0,
                "duration_s": 5.0,
                "repeats": 3,
            }
        ],
    }
    data.update(changes)
    return Grid(**data)


def test_small_grid_by_hand():
    limits = InstrumentLimits(spot_overhead_s=0.5, camera_overhead_s=1.0)
    estimate = estimate_duration(make_grid(), limits)
    assert estimate == DurationEstimate(
        spots=3,
        blocks=1,
        move_s=10.0,  # 2 moves of 10 µm at 2 µm/s
        block_change_s=0.0,
        approach_s=12.0,  # 3 × 8 µm at 2 µm/s
        measurement_s=15.0,
        retract_s=6.0,  # 3 × 8 µm at 4 µm/s
        camera_s=3.0,
        overhead_s=1.5,
        total_s=47.5,
    )
    assert estimate_duration_s(make_grid(), limits) == 47.5


def test_camera_off_costs_nothing():
    limits = InstrumentLimits(spot_overhead_s=0.0, camera_overhead_s=1.0)
    estimate = estimate_duration(make_grid(camera={"enabled": False}), limits)
    assert estimate.camera_s == 0.0
    assert estimate.total_s == 10.0 + 12.0 + 15.0 + 6.0


def test_moves_follow_the_traversal():
    square = {
        "rows": 2,
        "cols": 2,
        "conditions": [
            {
                "technique": "galvanostatic",
                "current_density_mA_cm2": 1.0,
                "duration_s": 5.0,
                "repeats": 4,
            }
        ],
    }
    serpentine = estimate_duration(make_grid(**square, traversal="serpentine"))
    raster = estimate_duration(make_grid(**square, traversal="raster"))
    assert serpentine.move_s == 30.0 / 2.0  # 10 + 10 + 10 µm
    assert_allclose(raster.move_s, (20.0 + 200**0.5) / 2.0)  # the raster return is diagonal


def test_block_changes_cost_a_coarse_move_and_settling():
    limits = InstrumentLimits(
        coarse_speed_um_s=100.0, coarse_settle_s=5.0, spot_overhead_s=0.0, camera_overhead_s=0.0
    )
    grid = make_grid(
        cols=16,
        conditions=[
            {
                "technique": "galvanostatic",
                "current_density_mA_cm2": 1.0,
                "duration_s": 5.0,
                "repeats": 16,
            }
        ],
    )
    estimate = estimate_duration(grid, limits)
    assert estimate.blocks == 2
    # blocks of 8 columns centred at coarse x -15 and 65 µm: one 80 µm coarse move
    assert_allclose(estimate.block_change_s, 80.0 / 100.0 + 5.0)
    # 7 + 7 moves of 10 µm in the blocks, and piezo 85 → 15 µm between them
    assert_allclose(estimate.move_s, (140.0 + 70.0) / 2.0)


def test_article_screen_takes_about_twenty_minutes():
    estimate = estimate_duration(load_grid(EXAMPLES / "article_screen.yaml"))
    assert estimate.spots == 63
    assert estimate.measurement_s == 315.0
    assert estimate.approach_s == estimate.retract_s == 63 * 4.0
    assert 15 * 60 < estimate.total_s < 25 * 60
    assert estimate.total_s == pytest.approx(
        estimate.move_s
        + estimate.approach_s
        + estimate.measurement_s
        + estimate.retract_s
        + estimate.camera_s
        + estimate.overhead_s
    )
