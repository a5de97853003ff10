"""The order the pipette visits a grid's places: block by block, then within each block.

Random orders come from NumPy's PCG64 bit generator seeded through ``SeedSequence([seed,
purpose])``. Its raw output is stable across NumPy releases (unlike ``Generator`` methods such as
``permutation``), so a seed names the same order years later and a grid's hash stays meaningful.
"""

from __future__ import annotations

import numpy as np

from core.grid.layout import Blocks, Layout
from core.grid.model import Grid

#: separate streams for separate uses of one seed
BLOCK_ORDER_STREAM = 1
SPOT_ORDER_STREAM = 2
ASSIGNMENT_STREAM = 3


def seeded_permutation(size: int, *, seed: int, stream: int) -> np.ndarray:
    """A permutation of ``range(size)`` fixed by ``seed`` and ``stream``, shape (size,)."""
    keys = np.random.PCG64(np.random.SeedSequence([seed, stream])).random_raw(size)
    return np.argsort(keys, kind="stable")


def traversal_order(grid: Grid, layout: Layout, blocks: Blocks) -> np.ndarray:
    """Indices into ``layout`` in visiting order, shape (P,).

    Blocks are visited in rows along y; ``serpentine`` alternates the direction of block columns
    and, inside a block, of spot rows (starting each block left to right); ``raster`` keeps every
    row left to right; explicit positions keep their list order inside a block; ``random``
    shuffles the blocks and the spots inside each block.
    """
    order = grid.traversal.order
    if order == "random":
        seed = grid.traversal.seed
        block_count = blocks.origin_x_um.size * blocks.origin_y_um.size
        block_key = blocks.block_row * blocks.origin_x_um.size + blocks.block_col
        # a rank is the place of each item in its shuffled order: the inverse permutation
        block_rank = np.argsort(
            seeded_permutation(block_count, seed=seed, stream=BLOCK_ORDER_STREAM)
        )
        spot_rank = np.argsort(
            seeded_permutation(layout.index.size, seed=seed, stream=SPOT_ORDER_STREAM)
        )
        return np.lexsort((spot_rank, block_rank[block_key]))
    if layout.row is None:
        return np.lexsort((layout.index, blocks.block_col, blocks.block_row))
    block_col, col = blocks.block_col, layout.col
    if order == "serpentine":
        block_col = np.where(blocks.block_row % 2 == 0, block_col, -block_col)
        first_row = np.full(blocks.origin_y_um.size, np.iinfo(int).max)
        np.minimum.at(first_row, blocks.block_row, layout.row)
        col = np.where((layout.row - first_row[blocks.block_row]) % 2 == 0, col, -col)
    return np.lexsort((col, layout.row, block_col, blocks.block_row))
