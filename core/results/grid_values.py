"""One metric of every spot of a run, laid out on the run's grid for a heatmap.

Built for 10,000-spot grids: one query selects only the columns needed (the metric is picked
out of the latest analysis' JSON by the database), and the rows × cols arrays are filled with
numpy fancy indexing. Values are rounded to the metric's precision so what the browser gets
stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from core.results.latest import excluded_spot_ids, join_latest, result_number
from core.results.metrics import (
    METRICS,
    RUNNING_STATES,
    STATUS,
    STATUS_CATEGORIES,
    Metric,
)
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Run, Spot
from core.storage.states import SpotState


class UnknownMetric(ValueError):
    """A metric key that :data:`core.results.metrics.METRICS` does not know."""


@dataclass(frozen=True)
class MetricGrid:
    """A metric over a run's grid (``layout="grid"``) or its explicit positions.

    Attributes
    ----------
    metric : str
        Metric key, or ``"status"``.
    title : str
        Colour-bar title with unit.
    layout : {"grid", "positions"}
        ``grid``: arrays are (rows, cols) with ``x_um`` (cols,) and ``y_um`` (rows,) the
        column and row positions from the grid origin, µm. ``positions``: arrays are (N,), one
        per spot, with ``x_um``/``y_um`` (N,) the spot positions, µm.
    values : float64 ndarray
        Metric values (NaN where missing); for ``status`` the index into ``categories``.
    spot_ids : int64 ndarray
        Spot ids, -1 where the grid has no spot.
    text : object ndarray of str
        Hover text per cell: the condition and, where the value is missing, why.
    categories : tuple of str
        Status categories (``status`` only).
    """

    metric: str
    title: str
    layout: str
    values: np.ndarray
    spot_ids: np.ndarray
    text: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    categories: tuple[str, ...] = ()

    @property
    def n_spots(self) -> int:
        return int((self.spot_ids >= 0).sum())

    @property
    def n_values(self) -> int:
        return int(np.isfinite(self.values).sum())


def metric_grid(url: str, run_id: int, metric: str) -> MetricGrid:
    """The values of ``metric`` for every spot of run ``run_id`` on its grid.

    Raises :class:`UnknownMetric` or :class:`~core.storage.ledger.UnknownRun`.
    """
    if metric != STATUS and metric not in METRICS:
        raise UnknownMetric(f"unknown metric {metric!r}; known: {', '.join(METRICS)}, status")
    spec = METRICS.get(metric)
    with session_scope(url) as session:
        grid = session.scalar(select(Run.grid).where(Run.id == run_id))
        if grid is None:
            raise UnknownRun(f"run {run_id} does not exist")
        columns = (Spot.id, Spot.row, Spot.col, Spot.x_um, Spot.y_um, Spot.condition_index,
                   Spot.state)
        query = select(*columns)
        if spec is not None:
            query, latest = join_latest(query, spec.kind)
            dialect = session.get_bind().dialect.name
            query = query.add_columns(result_number(latest, spec.path, dialect),
                                      latest.id.is_not(None))
        # Core execution: no ORM row processing for 10,000 plain tuples
        rows = session.connection().execute(
            query.where(Spot.run_id == run_id).order_by(Spot.order)).all()
        labels = dict(session.execute(
            select(Spot.condition_index, Spot.condition).where(Spot.run_id == run_id).distinct()
        ).all())
        excluded = excluded_spot_ids(session, run_id)
    return _assemble(metric, spec, grid, rows, labels, excluded)


def _assemble(metric, spec: Metric | None, grid: dict, rows, labels, excluded) -> MetricGrid:
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * (9 if spec else 7)
    spot_id = np.array(columns[0], dtype=np.int64)
    row = np.array([-1 if r is None else r for r in columns[1]], dtype=np.int64)
    col = np.array([-1 if c is None else c for c in columns[2]], dtype=np.int64)
    state = np.array(columns[6], dtype=object)
    is_excluded = np.isin(spot_id, np.fromiter(excluded, dtype=np.int64, count=len(excluded)))
    if spec is None:
        categories = STATUS_CATEGORIES
        values = _status_codes(state, is_excluded)
        title = "status"
    else:
        categories = ()
        values = np.array([np.nan if v is None else v for v in columns[7]], dtype=np.float64)
        values = round_values(values, spec.digits, significant=spec.significant)
        title = spec.axis_title
    text = _hover_text(spec, columns, labels, state, values, is_excluded, excluded, spot_id)

    if n == 0 or ((row >= 0).all() and (col >= 0).all()):
        n_rows = int(row.max()) + 1 if n else 0
        n_cols = int(col.max()) + 1 if n else 0
        pitch_x, pitch_y = _pitches(grid)
        return MetricGrid(
            metric=metric, title=title, layout="grid",
            values=_scatter(values, row, col, (n_rows, n_cols), np.nan, np.float64),
            spot_ids=_scatter(spot_id, row, col, (n_rows, n_cols), -1, np.int64),
            text=_scatter(text, row, col, (n_rows, n_cols), "", object),
            x_um=np.arange(n_cols) * pitch_x, y_um=np.arange(n_rows) * pitch_y,
            categories=categories,
        )
    return MetricGrid(
        metric=metric, title=title, layout="positions", values=values, spot_ids=spot_id,
        text=text, x_um=np.array(columns[3], dtype=float), y_um=np.array(columns[4], dtype=float),
        categories=categories,
    )


def round_values(values: np.ndarray, digits: int, *, significant: bool = False) -> np.ndarray:
    """Round to ``digits`` decimals, or to ``digits`` significant digits (NaN kept)."""
    if not significant:
        return np.round(values, digits)
    finite = np.isfinite(values) & (values != 0)
    magnitude = np.zeros_like(values)
    magnitude[finite] = np.floor(np.log10(np.abs(values[finite])))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


def _status_codes(state: np.ndarray, is_excluded: np.ndarray) -> np.ndarray:
    folded = np.where(np.isin(state, list(RUNNING_STATES)), "running", state)
    folded = np.where(is_excluded, "excluded", folded)
    index = {name: code for code, name in enumerate(STATUS_CATEGORIES)}
    return np.array([index.get(name, np.nan) for name in folded], dtype=np.float64)


def _hover_text(spec, columns, labels, state, values, is_excluded, excluded, spot_id):
    # the condition only: row/col and x/y come from the plot; a 10,000-cell payload stays small
    text = np.array([labels.get(index, "") for index in columns[5]], dtype=object)
    # only the few odd cells get a longer text: keeps a 10,000-spot payload small
    if spec is not None:
        analysed = np.array(columns[8], dtype=bool)
        done = state == SpotState.DONE.value
        missing = ~np.isfinite(values)
        for k in np.flatnonzero(missing):
            if not done[k]:
                why = f"spot {state[k].replace('_', ' ')}"
            elif not analysed[k]:
                why = "not analysed"
            else:
                why = spec.missing
            text[k] += f"<br><i>{why}</i>"
    else:
        names = np.array((*STATUS_CATEGORIES, ""), dtype=object)
        codes = np.where(np.isfinite(values), values, len(STATUS_CATEGORIES)).astype(int)
        text = np.where(is_excluded, text, text + "<br>" + names[codes])
    for k in np.flatnonzero(is_excluded):
        text[k] += f"<br><b>excluded</b>: {excluded[int(spot_id[k])]}"
    return text


def _scatter(values, row, col, shape, fill, dtype) -> np.ndarray:
    out = np.full(shape, fill, dtype=dtype)
    out[row, col] = values
    return out


def _pitches(grid: dict) -> tuple[float, float]:
    """(pitch along x, along y), µm, from the run's grid; 1 µm if the grid does not say."""
    pitch = grid.get("pitch_um")
    return (float(grid.get("pitch_x_um") or pitch or 1.0),
            float(grid.get("pitch_y_um") or pitch or 1.0))
