"""One metric of every spot of a run, laid out on the run's grid for a heatmap.

Built for 10,000-spot grids: one query selects only the columns needed (the metric is picked
out of the latest analysis' JSON by the database), and the rows × cols arrays are filled with
numpy fancy indexing. Values are rounded to the metric's precision so what the browser gets
stays small.

Grids are cached per (database, run, metric) and reused while the run's *fingerprint* is
unchanged: its creation time, its spots' count per state, the count and highest id of its
analyses (a new version, a review decision) and of its flags with how many are cleared. Those
small aggregate queries cost a few ms, so a finished run's heatmap is built once. A live run's
is rebuilt when something changed, cheaply: the spots' positions and conditions never change
after submission (read once per run), and of the metric's analyses only the versions stored
since the last read are fetched (the latest-version anti-join runs on the first read only).
Active flags (not cleared) ride along per spot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

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
from core.storage.models import Analysis, Flag, Run, Spot
from core.storage.states import SpotState


class UnknownMetric(ValueError):
    """A metric key that :data:`core.results.metrics.METRICS` does not know."""


@dataclass(frozen=True)
class _Layout:
    """What a run's heatmap needs that never changes after submission, per spot in visiting
    order: ``spot_ids``, ``rows``/``cols`` (-1 where the spot has none), ``x_um``/``y_um``
    and ``conditions`` (the condition's label: every cell's hover text starts with it); and
    the run's grid mapping."""

    grid: dict
    spot_ids: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    conditions: np.ndarray


@dataclass(frozen=True)
class _Latest:
    """One metric's latest values as read so far: the count and highest id of the kind's
    stored versions then and, sorted by spot id, each analysed spot's latest version and
    value (NaN where the analysis has none)."""

    count: int
    max_id: int
    spot_ids: np.ndarray
    versions: np.ndarray
    values: np.ndarray

    def merged(self, count: int, max_id: int, rows) -> _Latest:
        """With newer versions ``rows`` (spot id, version, value) taken in."""
        spot_ids, versions, values = self.spot_ids, self.versions.copy(), self.values.copy()
        for spot_id, version, value in rows:
            at = int(np.searchsorted(spot_ids, spot_id))
            value = np.nan if value is None else value
            if at < spot_ids.size and spot_ids[at] == spot_id:
                if version > versions[at]:
                    versions[at], values[at] = version, value
            else:
                spot_ids = np.insert(spot_ids, at, spot_id)
                versions = np.insert(versions, at, version)
                values = np.insert(values, at, value)
        return _Latest(count, max_id, spot_ids, versions, values)

    def aligned(self, spot_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, analysed) for ``spot_ids`` in their order (NaN/False where none)."""
        if self.spot_ids.size == 0:
            return np.full(spot_ids.shape, np.nan), np.zeros(spot_ids.shape, dtype=bool)
        at = np.minimum(np.searchsorted(self.spot_ids, spot_ids), self.spot_ids.size - 1)
        analysed = self.spot_ids[at] == spot_ids
        return np.where(analysed, self.values[at], np.nan), analysed


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
        Hover text per cell: the condition, where the value is missing why, and the review
        marks (excluded with its reason, active flags).
    categories : tuple of str
        Status categories (``status`` only).
    excluded : dict of int → str
        Spots excluded in review → the reason.
    flags : dict of int → str
        Spots with active (not cleared) flags → their kinds, comma-separated.
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
    excluded: dict[int, str] = field(default_factory=dict)
    flags: dict[int, str] = field(default_factory=dict)

    @property
    def n_spots(self) -> int:
        return int((self.spot_ids >= 0).sum())

    @property
    def n_values(self) -> int:
        return int(np.isfinite(self.values).sum())


#: entries kept in each cache; one 100 × 100 grid holds ~1 MB of arrays
CACHE_SIZE = 16
_cache_lock = threading.Lock()
_grids: OrderedDict[tuple, tuple[tuple, MetricGrid]] = OrderedDict()
_layouts: OrderedDict[tuple, _Layout] = OrderedDict()
_latest: OrderedDict[tuple, _Latest] = OrderedDict()


def metric_grid(url: str, run_id: int, metric: str) -> MetricGrid:
    """The values of ``metric`` for every spot of run ``run_id`` on its grid (cached while
    the run's fingerprint is unchanged; see the module docstring).

    Raises :class:`UnknownMetric` or :class:`~core.storage.ledger.UnknownRun`.
    """
    if metric != STATUS and metric not in METRICS:
        raise UnknownMetric(f"unknown metric {metric!r}; known: {', '.join(METRICS)}, status")
    key = (url, run_id, metric)
    with session_scope(url) as session:
        fingerprint = run_fingerprint(session, run_id)
        cached = _cached(_grids, key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        grid = _build_grid(session, (url, run_id, fingerprint[0]), metric)
    _store(_grids, key, (fingerprint, grid))
    return grid


def clear_cache() -> None:
    """Forget every cached grid, layout and latest value (the next request reads all)."""
    with _cache_lock:
        for cache in (_grids, _layouts, _latest):
            cache.clear()


def _cached(cache: OrderedDict, key):
    with _cache_lock:
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
        return entry


def _store(cache: OrderedDict, key, entry) -> None:
    with _cache_lock:
        cache[key] = entry
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)


def run_fingerprint(session, run_id: int) -> tuple:
    """What changes whenever a run's heatmap would (see the module docstring)."""
    created = session.scalar(select(Run.created_at).where(Run.id == run_id))
    if created is None:
        raise UnknownRun(f"run {run_id} does not exist")
    states = tuple(session.execute(
        select(Spot.state, func.count()).where(Spot.run_id == run_id).group_by(Spot.state)
        .order_by(Spot.state)).all())
    analyses = tuple(session.execute(
        select(func.count(Analysis.id), func.max(Analysis.id))
        .join(Spot, Spot.id == Analysis.spot_id).where(Spot.run_id == run_id)).one())
    flags = tuple(session.execute(
        select(func.count(Flag.id), func.max(Flag.id), func.count(Flag.cleared_at))
        .where(Flag.run_id == run_id)).one())
    return str(created), states, analyses, flags


def active_flags(session, run_id: int) -> dict[int, str]:
    """Spots of the run with flags not cleared → their kinds (sorted, comma-separated)."""
    kinds: dict[int, set[str]] = {}
    for spot_id, kind in session.execute(
            select(Flag.spot_id, Flag.kind).where(Flag.run_id == run_id,
                                                 Flag.cleared_at.is_(None))):
        kinds.setdefault(spot_id, set()).add(kind.replace("_", " "))
    return {spot_id: ", ".join(sorted(names)) for spot_id, names in kinds.items()}


def _build_grid(session, run_key: tuple, metric: str) -> MetricGrid:
    """The grid from the run's layout, its spots' states and the metric's latest values;
    ``run_key`` is (url, run id, creation time).

    With the layout and the metric's values cached, only the states and the versions stored
    since are read; otherwise one query reads spots and latest values together.
    """
    run_id = run_key[1]
    spec = METRICS.get(metric)
    layout = _cached(_layouts, run_key)
    states = latest = None
    if layout is not None:
        rows = session.connection().execute(
            select(Spot.id, Spot.state).where(Spot.run_id == run_id).order_by(Spot.order)).all()
        spot_ids, states = zip(*rows, strict=True) if rows else ((), ())
        if not np.array_equal(spot_ids, layout.spot_ids):  # not after submission; read again
            layout = None
    if layout is not None and spec is not None:
        latest = _refreshed_latest(session, (*run_key, metric), spec)
    if layout is None or (spec is not None and latest is None):
        layout, states, latest = _read_all(session, run_key, metric, spec)
    values = analysed = None
    if spec is not None:
        values, analysed = latest.aligned(layout.spot_ids)
    excluded = excluded_spot_ids(session, run_id)
    flags = active_flags(session, run_id)
    return _assemble(metric, spec, layout, np.array(states, dtype=object), values, analysed,
                     excluded, flags)


def _kind_versions(session, run_id: int, kind: str) -> tuple[int, int]:
    """(count, highest id) of the run's stored ``kind`` versions (0, 0 when none)."""
    count, max_id = session.execute(
        select(func.count(Analysis.id), func.max(Analysis.id))
        .join(Spot, Spot.id == Analysis.spot_id)
        .where(Spot.run_id == run_id, Analysis.kind == kind)).one()
    return int(count), int(max_id or 0)


def _read_all(session, run_key: tuple, metric: str, spec: Metric | None):
    """(layout, states, latest values or None) in one query over the run's spots (the
    metric's latest version joined); caches the layout and the values."""
    run_id = run_key[1]
    grid = session.scalar(select(Run.grid).where(Run.id == run_id)) or {}
    query = select(Spot.id, Spot.row, Spot.col, Spot.x_um, Spot.y_um, Spot.condition_index,
                   Spot.state)
    if spec is not None:
        count, max_id = _kind_versions(session, run_id, spec.kind)  # before: see _Latest
        query, newest = join_latest(query, spec.kind)
        query = query.add_columns(newest.version,
                                  result_number(newest, spec.path, session.get_bind().dialect.name))
    rows = session.connection().execute(
        query.where(Spot.run_id == run_id).order_by(Spot.order)).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (9 if spec else 7)
    labels = dict(session.execute(
        select(Spot.condition_index, Spot.condition).where(Spot.run_id == run_id).distinct()
    ).all())
    layout = _Layout(
        grid=grid, spot_ids=np.array(columns[0], dtype=np.int64),
        rows=np.array([-1 if r is None else r for r in columns[1]], dtype=np.int64),
        cols=np.array([-1 if c is None else c for c in columns[2]], dtype=np.int64),
        x_um=np.array(columns[3], dtype=np.float64), y_um=np.array(columns[4], dtype=np.float64),
        conditions=np.array([labels.get(index, "") for index in columns[5]], dtype=object))
    _store(_layouts, run_key, layout)
    latest = None
    if spec is not None:
        versions = np.array([-1 if v is None else v for v in columns[7]], dtype=np.int64)
        analysed = versions >= 0
        order = np.argsort(layout.spot_ids[analysed])
        latest = _Latest(count, max_id, layout.spot_ids[analysed][order],
                         versions[analysed][order],
                         np.array(columns[8], dtype=np.float64)[analysed][order])
        _store(_latest, (*run_key, metric), latest)
    return layout, columns[6], latest


def _refreshed_latest(session, key: tuple, spec: Metric) -> _Latest | None:
    """The cached latest values of ``key`` (url, run, created, metric) brought up to date
    with the versions stored since (ids grow with versions); None when nothing is cached or
    the count of versions says some are missing from that (removed, or committed late with a
    lower id): then everything is read again."""
    cached = _cached(_latest, key)
    if cached is None:
        return None
    run_id = key[1]
    count, max_id = _kind_versions(session, run_id, spec.kind)
    if (cached.count, cached.max_id) == (count, max_id):
        return cached
    new = session.connection().execute(
        select(Analysis.spot_id, Analysis.version,
               result_number(Analysis, spec.path, session.get_bind().dialect.name))
        .join(Spot, Spot.id == Analysis.spot_id)
        .where(Spot.run_id == run_id, Analysis.kind == spec.kind,
               Analysis.id > cached.max_id)).all()
    if cached.count + len(new) != count:
        return None
    latest = cached.merged(count, max_id, new)
    _store(_latest, key, latest)
    return latest


def _assemble(metric, spec: Metric | None, layout: _Layout, state: np.ndarray, values,
              analysed, excluded, flags) -> MetricGrid:
    """The grid from the layout, the spots' states and, for a metric, each spot's value
    (NaN where none) and whether it was analysed (all in visiting order)."""
    spot_id, row, col = layout.spot_ids, layout.rows, layout.cols
    n = spot_id.size
    is_excluded = np.isin(spot_id, np.fromiter(excluded, dtype=np.int64, count=len(excluded)))
    if spec is None:
        categories = STATUS_CATEGORIES
        values = _status_codes(state, is_excluded)
        title = "status"
    else:
        categories = ()
        values = round_values(values, spec.digits, significant=spec.significant)
        title = spec.axis_title
    text = _hover_text(spec, layout.conditions, analysed, state, values, is_excluded,
                       excluded, spot_id)
    for k in np.flatnonzero(np.isin(spot_id, np.fromiter(flags, np.int64, len(flags)))):
        text[k] += f"<br><b>flagged</b>: {flags[int(spot_id[k])]}"
    marks = {"excluded": excluded, "flags": flags}

    if n == 0 or ((row >= 0).all() and (col >= 0).all()):
        n_rows = int(row.max()) + 1 if n else 0
        n_cols = int(col.max()) + 1 if n else 0
        pitch_x, pitch_y = _pitches(layout.grid)
        return MetricGrid(
            metric=metric, title=title, layout="grid",
            values=_scatter(values, row, col, (n_rows, n_cols), np.nan, np.float64),
            spot_ids=_scatter(spot_id, row, col, (n_rows, n_cols), -1, np.int64),
            text=_scatter(text, row, col, (n_rows, n_cols), "", object),
            x_um=np.arange(n_cols) * pitch_x, y_um=np.arange(n_rows) * pitch_y,
            categories=categories, **marks,
        )
    return MetricGrid(
        metric=metric, title=title, layout="positions", values=values, spot_ids=spot_id,
        text=text, x_um=layout.x_um, y_um=layout.y_um, categories=categories, **marks,
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


def _hover_text(spec, conditions, analysed, state, values, is_excluded, excluded, spot_id):
    # the condition only: row/col and x/y come from the plot; a 10,000-cell payload stays small
    text = conditions.copy()
    # only the few odd cells get a longer text: keeps a 10,000-spot payload small
    if spec is not None:
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
