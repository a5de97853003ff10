"""Plan a grid: the ordered list of spots the instrument will measure.

``plan_spots`` is pure and deterministic: the same grid and limits give the same list, which the
acquisition engine runs and the tests compare by equality, with no hardware involved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.grid.assign import EMPTY, assign_conditions
from core.grid.errors import GridError
from core.grid.layout import grid_layout, split_blocks, too_many_positions
from core.grid.limits import LAB_LIMITS, InstrumentLimits
from core.grid.model import Galvanostatic, Grid
from core.grid.order import traversal_order
from core.units import current_A_from_density


class Spot(BaseModel):
    """One landing of the pipette and what it runs there.

    Attributes
    ----------
    order : int
        Place in the visiting order, 0-based (the list from ``plan_spots`` is sorted by it).
    index : int
        Place on the grid: ``row·cols + col``, or the index in the positions list.
    row, col : int or None
        Grid row (along y) and column (along x); ``None`` for explicit positions.
    x_um, y_um : float
        Target in the sample frame: ``block_origin + piezo``, µm.
    block : int
        Block of spots reached from one coarse-stage position, numbered in visiting order.
    block_origin_x_um, block_origin_y_um : float
        Coarse-stage position for the block, µm (0, 0 without a coarse x/y stage).
    piezo_x_um, piezo_y_um : float
        Piezo target inside its travel, µm.
    condition : int
        Index into ``grid.conditions``; ``condition_label`` its display label.
    repeat : int
        How many earlier spots ran the same condition (0 for the first).
    technique : dict
        What the instrument runs (``technique`` key plus resolved parameters).
    current_density_mA_cm2, current_A : float or None
        Galvanostatic only: current density and the current over the footprint area
        π(d/2)² (magnitude, plating direction); ``None`` for potential-controlled techniques.
    duration_s : float
        Length of the measurement, s.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: int
    index: int
    row: int | None
    col: int | None
    x_um: float
    y_um: float
    block: int
    block_origin_x_um: float
    block_origin_y_um: float
    piezo_x_um: float
    piezo_y_um: float
    condition: int
    condition_label: str
    repeat: int
    technique: dict[str, Any]
    current_density_mA_cm2: float | None
    current_A: float | None
    duration_s: float


def plan_spots(grid: Grid, *, limits: InstrumentLimits = LAB_LIMITS) -> list[Spot]:
    """The spots of ``grid`` in the order they are measured.

    Parameters
    ----------
    grid : Grid
    limits : InstrumentLimits
        Supplies the piezo travel that blocks must fit in, whether a coarse stage exists, and
        the position count beyond which planning is refused.

    Returns
    -------
    list of Spot
        Covers the blocks one after another. Does not check instrument limits beyond the count:
        run :func:`core.grid.validate.check_grid` before a run is accepted.

    Raises
    ------
    GridError
        When the grid has more positions than ``limits.max_spots``.
    """
    problem = too_many_positions(grid, limits)
    if problem:
        raise GridError(problem)
    layout = grid_layout(grid)
    blocks = split_blocks(layout, limits)
    visit = traversal_order(grid, layout, blocks)
    condition = assign_conditions(grid, layout, visit)
    used = condition != EMPTY
    visit, condition = visit[used], condition[used]

    block_key = blocks.block_row[visit] * blocks.origin_x_um.size + blocks.block_col[visit]
    block = _first_seen_rank(block_key)
    repeat = _running_count(condition)
    origin_x_um = blocks.origin_x_um[blocks.block_col[visit]]
    origin_y_um = blocks.origin_y_um[blocks.block_row[visit]]
    x_um, y_um = layout.x_um[visit], layout.y_um[visit]
    piezo_x_um, piezo_y_um = x_um - origin_x_um, y_um - origin_y_um
    row = None if layout.row is None else layout.row[visit]
    col = None if layout.col is None else layout.col[visit]

    per_condition = [_condition_fields(grid, number) for number in range(len(grid.conditions))]
    return [
        Spot(
            order=order,
            index=int(layout.index[visit[order]]),
            row=None if row is None else int(row[order]),
            col=None if col is None else int(col[order]),
            x_um=float(x_um[order]),
            y_um=float(y_um[order]),
            block=int(block[order]),
            block_origin_x_um=float(origin_x_um[order]),
            block_origin_y_um=float(origin_y_um[order]),
            piezo_x_um=float(piezo_x_um[order]),
            piezo_y_um=float(piezo_y_um[order]),
            condition=int(condition[order]),
            repeat=int(repeat[order]),
            **per_condition[condition[order]],
        )
        for order in range(visit.size)
    ]


def _condition_fields(grid: Grid, number: int) -> dict[str, Any]:
    condition = grid.conditions[number]
    galvanostatic = isinstance(condition, Galvanostatic)
    density = condition.current_density_mA_cm2 if galvanostatic else None
    return {
        "condition_label": condition.display_label,
        "technique": condition.run_parameters(),
        "current_density_mA_cm2": density,
        "current_A": (
            current_A_from_density(density, grid.footprint_area_cm2) if galvanostatic else None
        ),
        "duration_s": condition.measurement_s,
    }


def _first_seen_rank(keys: np.ndarray) -> np.ndarray:
    """Number each distinct key by where it first appears: [7, 7, 3, 7, 5] → [0, 0, 1, 0, 2]."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank_of_unique = np.argsort(np.argsort(first))
    return rank_of_unique[inverse]


def _running_count(labels: np.ndarray) -> np.ndarray:
    """How many earlier entries share each entry's label: [2, 0, 2, 2, 0] → [0, 0, 1, 2, 1]."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, sorted_labels.size]))
    count = np.empty(labels.size, dtype=int)
    count[order] = np.arange(labels.size) - group_start
    return count
