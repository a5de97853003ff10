"""How long a grid takes to run, from its moves, approaches, measurements and overheads."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.grid.limits import LAB_LIMITS, InstrumentLimits
from core.grid.model import Grid
from core.grid.plan import plan_spots


class DurationEstimate(BaseModel):
    """Where the time of a run goes, s. ``total_s`` is the sum of the parts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spots: int
    blocks: int
    move_s: float
    block_change_s: float
    approach_s: float
    measurement_s: float
    retract_s: float
    camera_s: float
    overhead_s: float
    total_s: float


def estimate_duration(grid: Grid, limits: InstrumentLimits = LAB_LIMITS) -> DurationEstimate:
    """Time to run ``grid`` on an instrument with ``limits``, by part.

    Per spot: the piezo's lateral move from the previous spot (straight-line distance over
    ``move_speed_um_s``), the approach through the retract height (``retract_um /
    approach_speed_um_s``; contact is assumed where the last landing was, i.e. a flat sample),
    the measurement, the retract (``retract_um / retract_speed_um_s``), the instrument's
    per-spot overhead and, when filming, the camera's. Per block change: the coarse move
    between block origins over ``coarse_speed_um_s`` plus ``coarse_settle_s`` (the piezo's
    move to the new block's first spot is counted as a lateral move). The first approach from
    wherever the pipette starts is not included.
    """
    spots = plan_spots(grid, limits=limits)
    piezo_um = np.array([(spot.piezo_x_um, spot.piezo_y_um) for spot in spots])
    coarse_um = np.array([(spot.block_origin_x_um, spot.block_origin_y_um) for spot in spots])
    block = np.array([spot.block for spot in spots])
    durations_s = np.array([spot.duration_s for spot in spots])

    move_um = np.linalg.norm(np.diff(piezo_um, axis=0), axis=1)
    changes = np.flatnonzero(np.diff(block) != 0)
    coarse_move_um = np.linalg.norm(coarse_um[changes + 1] - coarse_um[changes], axis=1)

    count = len(spots)
    move_s = float(move_um.sum()) / grid.move_speed_um_s
    coarse_s = float(coarse_move_um.sum()) / limits.coarse_speed_um_s
    block_change_s = coarse_s + changes.size * limits.coarse_settle_s
    approach_s = count * grid.retract_um / grid.approach_speed_um_s
    measurement_s = float(durations_s.sum())
    retract_s = count * grid.retract_um / grid.retract_speed_um_s
    camera_s = count * limits.camera_overhead_s if grid.camera.enabled else 0.0
    overhead_s = count * limits.spot_overhead_s
    parts = (move_s, block_change_s, approach_s, measurement_s, retract_s, camera_s, overhead_s)
    return DurationEstimate(
        spots=count,
        blocks=int(block.max()) + 1,
        move_s=move_s,
        block_change_s=block_change_s,
        approach_s=approach_s,
        measurement_s=measurement_s,
        retract_s=retract_s,
        camera_s=camera_s,
        overhead_s=overhead_s,
        total_s=float(sum(parts)),
    )


def estimate_duration_s(grid: Grid, limits: InstrumentLimits = LAB_LIMITS) -> float:
    """Total time to run ``grid``, s (see :func:`estimate_duration` for what it counts)."""
    return estimate_duration(grid, limits).total_s
