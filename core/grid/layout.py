"""Where the spots of a grid are, and how they split into blocks that fit the piezo's travel.

A block is the set of spots the piezo reaches from one coarse-stage position. Each axis is cut
into the fewest blocks no wider than ``piezo_travel_um`` (greedily from its lowest coordinate);
on a rows × cols grid these are then evened out so each block holds as many grid lines.
The coarse stage centres each block in the piezo's range, keeping spots off the end stops where
the piezo is least linear. Without a coarse x/y stage there is one block at the coarse origin
(0, 0) and spot coordinates are piezo coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.grid.limits import InstrumentLimits
from core.grid.model import Grid

#: coordinates this close (µm) to a block's far edge still belong to it (float rounding)
_EDGE_TOLERANCE_UM = 1e-6


@dataclass(frozen=True)
class Layout:
    """Every place on a grid as parallel arrays of shape (P,).

    ``index`` is ``row·cols + col`` (or the position's place in the list); ``row`` and ``col``
    are ``None`` for explicit positions; ``x_um``/``y_um`` are in the sample frame, µm.
    """

    index: np.ndarray
    row: np.ndarray | None
    col: np.ndarray | None
    x_um: np.ndarray
    y_um: np.ndarray


@dataclass(frozen=True)
class Blocks:
    """Block of every place and the coarse-stage position of every block row/column.

    ``block_row``/``block_col`` : (P,) int, the block along y / along x of each place;
    ``origin_x_um`` : (n_block_cols,) and ``origin_y_um`` : (n_block_rows,) coarse positions, µm.
    """

    block_row: np.ndarray
    block_col: np.ndarray
    origin_x_um: np.ndarray
    origin_y_um: np.ndarray


def too_many_positions(grid: Grid, limits: InstrumentLimits) -> str | None:
    """The problem sentence when the grid has more places than the instrument allows."""
    if grid.position_count <= limits.max_spots:
        return None
    shape = "" if grid.positions is not None else f" ({grid.rows} × {grid.cols})"
    return (
        f"grid has {grid.position_count:,} positions{shape}, more than the "
        f"{limits.max_spots:,} the instrument allows"
    )


def grid_layout(grid: Grid) -> Layout:
    """Places of ``grid`` in the sample frame, in index order."""
    if grid.positions is not None:
        offsets = np.array([(p.x_um, p.y_um) for p in grid.positions], dtype=float)
        return Layout(
            index=np.arange(len(grid.positions)),
            row=None,
            col=None,
            x_um=grid.origin.x_um + offsets[:, 0],
            y_um=grid.origin.y_um + offsets[:, 1],
        )
    pitch_x_um, pitch_y_um = grid.pitch_xy_um
    index = np.arange(grid.rows * grid.cols)
    row, col = np.divmod(index, grid.cols)
    return Layout(
        index=index,
        row=row,
        col=col,
        x_um=grid.origin.x_um + col * pitch_x_um,
        y_um=grid.origin.y_um + row * pitch_y_um,
    )


def split_blocks(layout: Layout, limits: InstrumentLimits) -> Blocks:
    """Cut the places into blocks no wider than the piezo's travel on either axis."""
    if not limits.has_coarse_xy:
        zeros = np.zeros(layout.index.size, dtype=int)
        return Blocks(zeros, zeros, np.zeros(1), np.zeros(1))
    regular = layout.row is not None
    block_col, origin_x_um = _split_axis(layout.x_um, limits.piezo_travel_um, balance=regular)
    block_row, origin_y_um = _split_axis(layout.y_um, limits.piezo_travel_um, balance=regular)
    return Blocks(block_row, block_col, origin_x_um, origin_y_um)


def _split_axis(
    coords_um: np.ndarray, travel_um: float, *, balance: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Block of each coordinate, and the coarse position centring each block in the travel.

    ``balance`` evens out the blocks of a regular grid; explicit positions keep the greedy cut,
    whose blocks follow the clusters of positions.
    """
    values = np.unique(coords_um)
    value_block = _balanced_blocks(values, travel_um) if balance else None
    if value_block is None:
        value_block = _greedy_blocks(values, travel_um)
    block = value_block[np.searchsorted(values, coords_um)]
    count = int(value_block[-1]) + 1
    starts_um = np.full(count, np.inf)
    ends_um = np.full(count, -np.inf)
    np.minimum.at(starts_um, value_block, values)
    np.maximum.at(ends_um, value_block, values)
    origins_um = starts_um - (travel_um - (ends_um - starts_um)) / 2.0
    return block, origins_um


def _greedy_blocks(values_um: np.ndarray, travel_um: float) -> np.ndarray:
    """Fewest blocks: each takes every value within the travel of its first. (V,) int."""
    block = np.empty(values_um.size, dtype=int)
    first, number = 0, 0
    while first < values_um.size:  # one pass per block, not per spot
        reach_um = values_um[first] + travel_um + _EDGE_TOLERANCE_UM
        end = int(np.searchsorted(values_um, reach_um, side="right"))
        block[first:end] = number
        first, number = end, number + 1
    return block


def _balanced_blocks(values_um: np.ndarray, travel_um: float) -> np.ndarray | None:
    """As many blocks as the greedy cut, with equal numbers of values, if each still fits.

    On a regular grid this turns 16 columns at 10 µm into 8 + 8 (70 µm each, centred away from
    the end stops) instead of 11 + 5. ``None`` when an even split would not fit the travel.
    """
    count = int(_greedy_blocks(values_um, travel_um)[-1]) + 1
    block = np.arange(values_um.size) * count // values_um.size
    starts = np.flatnonzero(np.r_[True, np.diff(block) != 0])
    ends = np.r_[starts[1:], values_um.size] - 1
    if np.any(values_um[ends] - values_um[starts] > travel_um + _EDGE_TOLERANCE_UM):
        return None
    return block
