"""Runs for the experiments list: filters, spot counts per state, and one run's header."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from core.storage.db import session_scope
from core.storage.ledger import Ledger, UnknownRun
from core.storage.models import Instrument, Run, Spot, as_utc
from core.storage.states import FINAL_SPOT_STATES, RunState

#: runs whose progress changes while someone looks at them
LIVE_RUN_STATES = frozenset({RunState.QUEUED, RunState.ACTIVE, RunState.PAUSED})


@dataclass(frozen=True)
class RunFilter:
    """What the experiments list shows; empty fields do not filter.

    ``search`` matches the name or notes (case-insensitive substring); ``tags`` keeps runs
    carrying all of them; the dates bound the creation day (inclusive, UTC).
    """

    search: str = ""
    operator: str | None = None
    instrument: str | None = None
    states: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    limit: int = 500


@dataclass(frozen=True)
class RunRow:
    """One run as the experiments list and the page headers show it."""

    id: int
    name: str
    instrument: str
    operator: str
    state: str
    tags: tuple[str, ...]
    notes: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int = 0
    finished: int = 0
    by_state: dict = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        """Queued, active or paused: its progress may still change."""
        return self.state in LIVE_RUN_STATES

    @property
    def finished_fraction(self) -> float:
        """Spots accounted for (done, no contact, failed...) over all spots, 0–1."""
        return self.finished / self.total if self.total else 0.0


def list_runs(url: str, run_filter: RunFilter = RunFilter()) -> list[RunRow]:
    """Runs matching ``run_filter``, newest first, with their spot counts per state."""
    query = _filtered(select(Run, Instrument.name).join(Instrument), run_filter)
    with session_scope(url) as session:
        found = session.execute(query.order_by(Run.created_at.desc(), Run.id.desc())).all()
        if run_filter.tags:
            wanted = set(run_filter.tags)
            found = [(run, name) for run, name in found if wanted <= set(run.tags or ())]
        found = found[: run_filter.limit]
        counts = _state_counts(session, [run.id for run, _ in found])
        return [_row(run, name, counts.get(run.id, {})) for run, name in found]


def run_header(url: str, run_id: int) -> RunRow:
    """One run with its spot counts; raises :class:`~core.storage.ledger.UnknownRun`."""
    with session_scope(url) as session:
        found = session.execute(
            select(Run, Instrument.name).join(Instrument).where(Run.id == run_id)
        ).first()
        if found is None:
            raise UnknownRun(f"run {run_id} does not exist")
        run, instrument = found
        return _row(run, instrument, _state_counts(session, [run_id]).get(run_id, {}))


def run_filter_options(url: str) -> dict[str, list[str]]:
    """Distinct operators, instruments, states and tags for the filter pickers."""
    with session_scope(url) as session:
        operators = session.scalars(
            select(Run.operator).where(Run.operator != "").distinct().order_by(Run.operator)
        ).all()
        instruments = session.scalars(select(Instrument.name).order_by(Instrument.name)).all()
        tag_lists = session.scalars(select(Run.tags)).all()
    tags = sorted({tag for tags in tag_lists for tag in (tags or ())})
    return {"operators": list(operators), "instruments": list(instruments),
            "states": [state.value for state in RunState], "tags": tags}


def live_progress(url: str, run_ids: list[int]) -> dict[int, dict]:
    """Ledger progress of live runs: finished/total, current spot, elapsed and ETA (s)."""
    ledger = Ledger(url)
    progress = {}
    for run_id in run_ids:
        try:
            state = ledger.progress(run_id)
        except UnknownRun:
            continue
        progress[run_id] = {"state": state.state, "total": state.total,
                            "finished": state.finished, "current_order": state.current_order,
                            "elapsed_s": state.elapsed_s, "eta_s": state.eta_s}
    return progress


def _filtered(query, run_filter: RunFilter):
    if run_filter.search.strip():
        pattern = f"%{run_filter.search.strip()}%"
        query = query.where(or_(Run.name.ilike(pattern), Run.notes.ilike(pattern)))
    if run_filter.operator:
        query = query.where(Run.operator == run_filter.operator)
    if run_filter.instrument:
        query = query.where(Instrument.name == run_filter.instrument)
    if run_filter.states:
        query = query.where(Run.state.in_(run_filter.states))
    if run_filter.created_from:
        query = query.where(Run.created_at >= _day_start(run_filter.created_from))
    if run_filter.created_to:
        query = query.where(Run.created_at < _day_start(run_filter.created_to + timedelta(1)))
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _state_counts(session, run_ids: list[int]) -> dict[int, dict[str, int]]:
    if not run_ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Spot.run_id, Spot.state, func.count())
        .where(Spot.run_id.in_(run_ids)).group_by(Spot.run_id, Spot.state)
    )
    for run_id, state, count in rows:
        counts.setdefault(run_id, {})[state] = count
    return counts


def _row(run: Run, instrument: str, counts: dict[str, int]) -> RunRow:
    return RunRow(
        id=run.id, name=run.name, instrument=instrument, operator=run.operator,
        state=run.state, tags=tuple(run.tags or ()), notes=run.notes, error=run.error,
        created_at=as_utc(run.created_at), started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at), total=sum(counts.values()),
        finished=sum(n for state, n in counts.items() if state in FINAL_SPOT_STATES),
        by_state=dict(counts),
    )

