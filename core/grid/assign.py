"""Which condition runs at each visited place."""

from __future__ import annotations

import numpy as np

from core.grid.layout import Layout
from core.grid.model import Grid
from core.grid.order import ASSIGNMENT_STREAM, seeded_permutation

#: marks a place that stays empty
EMPTY = -1


def assign_conditions(grid: Grid, layout: Layout, visit: np.ndarray) -> np.ndarray:
    """Condition index for each place in visiting order, ``EMPTY`` where none runs.

    Parameters
    ----------
    grid : Grid
    layout : Layout
        Every place of ``grid``.
    visit : (P,) int ndarray
        Indices into ``layout`` in visiting order.

    Returns
    -------
    (P,) int ndarray
        ``row_blocks``: row k runs condition k in its first ``repeats`` columns. ``interleaved``
        and ``randomised``: the first ``sum(repeats)`` places visited take the conditions in
        turn (round robin, skipping conditions whose repeats are used up) or in a seeded
        shuffle; any places left over at the end of the traversal stay empty.
    """
    repeats = np.array([condition.repeats for condition in grid.conditions])
    mode = grid.assignment.mode
    if mode == "row_blocks":
        row, col = layout.row[visit], layout.col[visit]
        return np.where(col < repeats[row], row, EMPTY)
    if mode == "interleaved":
        # round r holds every condition with more than r repeats, in condition order
        rounds = np.arange(repeats.max())[:, None]
        conditions = np.broadcast_to(np.arange(repeats.size), (rounds.size, repeats.size))
        sequence = conditions[rounds < repeats]
    else:
        sequence = np.repeat(np.arange(repeats.size), repeats)
        sequence = sequence[
            seeded_permutation(sequence.size, seed=grid.assignment.seed, stream=ASSIGNMENT_STREAM)
        ]
    assigned = np.full(visit.size, EMPTY)
    assigned[: sequence.size] = sequence
    return assigned
