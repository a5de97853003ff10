"""The run ledger: the one source of truth about runs and spots.

Every change goes through this service so the rules hold whoever calls (engine, web, CLI):

- one run per instrument: submitting takes the instrument's lease row with a conditional
  UPDATE (``run_id IS NULL``), atomic on SQLite and PostgreSQL alike; a second submission
  fails with :class:`InstrumentBusy`. The lease is held from submission until the run ends.
- fencing: starting (or resuming) a run bumps the lease's ``fencing_token``; engine writes
  carry the token and are refused once a newer holder took over (:class:`LeaseLost`).
- spot states change only along :data:`core.storage.states.SPOT_TRANSITIONS`, each change a
  compare-and-set on the current state.
- abort and pause are requests stored on the run; the engine polls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from core.errors import MeniscusError
from core.storage.db import session_scope
from core.storage.models import Instrument, InstrumentLease, Measurement, Run, Spot, as_utc
from core.storage.states import (
    FINAL_SPOT_STATES,
    RunState,
    SpotState,
    TransitionError,
    check_run_transition,
    check_spot_transition,
)

ABORT_MODES = ("after_spot", "now")


class InstrumentBusy(MeniscusError):
    """The instrument already holds a run that has not ended."""


class LeaseLost(MeniscusError):
    """The caller's fencing token is no longer current: another worker owns the run."""


class UnknownRun(MeniscusError):
    """No run with that id."""


@dataclass(frozen=True)
class Progress:
    """Where a run stands, read from the ledger."""

    run_id: int
    state: str
    total: int
    finished: int
    by_state: dict
    current_order: int | None
    elapsed_s: float | None
    eta_s: float | None


class Ledger:
    """Ledger operations on the database at ``url`` (each call is one transaction)."""

    def __init__(self, url: str) -> None:
        self.url = url

    # --- instruments and submission --------------------------------------------------------
    def ensure_instrument(self, name: str, backend: str = "sim", config: dict | None = None) -> int:
        """Register an instrument (and its lease row) if it is not there; return its id."""
        with session_scope(self.url) as session:
            instrument = session.scalar(select(Instrument).where(Instrument.name == name))
            if instrument is None:
                instrument = Instrument(name=name, backend=backend, config=config or {})
                session.add(instrument)
                session.flush()
                session.add(InstrumentLease(instrument_id=instrument.id, fencing_token=0))
            return instrument.id

    def submit_run(
        self,
        *,
        instrument: str,
        name: str,
        grid: dict,
        grid_hash: str,
        spots: list[dict],
        operator: str = "",
        speed: float = 1.0,
    ) -> int:
        """Create a queued run with its planned spots, holding the instrument's lease.

        ``spots`` are dicts with the :class:`~core.storage.models.Spot` columns (order, row,
        col, x_um, y_um, condition, technique, current_density_mA_cm2, duration_s).
        Raises :class:`InstrumentBusy` if the instrument holds a run that has not ended.
        """
        with session_scope(self.url) as session:
            instrument_row = session.scalar(select(Instrument).where(Instrument.name == instrument))
            if instrument_row is None:
                raise UnknownRun(f"instrument {instrument!r} is not registered")
            run = Run(name=name, instrument_id=instrument_row.id, operator=operator, grid=grid,
                      grid_hash=grid_hash, speed=speed)
            run.spots = [Spot(**spot) for spot in spots]
            session.add(run)
            session.flush()
            taken = session.execute(
                update(InstrumentLease)
                .where(InstrumentLease.instrument_id == instrument_row.id,
                       InstrumentLease.run_id.is_(None))
                .values(run_id=run.id, holder=None, acquired_at=_now())
            ).rowcount
            if taken != 1:
                holder = session.scalar(
                    select(InstrumentLease.run_id)
                    .where(InstrumentLease.instrument_id == instrument_row.id)
                )
                raise InstrumentBusy(
                    f"instrument {instrument!r} is busy with run {holder}; abort it or wait"
                )
            return run.id

    def run_summary(self, run_id: int) -> dict:
        """The run's name, instrument, operator, state, grid and grid hash."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            return {"id": run.id, "name": run.name, "instrument": run.instrument.name,
                    "operator": run.operator, "state": run.state, "grid": run.grid,
                    "grid_hash": run.grid_hash, "speed": run.speed}

    # --- the engine's side ------------------------------------------------------------------
    def start_run(self, run_id: int, holder: str) -> int:
        """Make a queued, paused or interrupted run active; return the new fencing token."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            if run.state != RunState.ACTIVE:
                check_run_transition(run.state, RunState.ACTIVE)
            lease = session.get(InstrumentLease, run.instrument_id)
            if lease.run_id != run.id:
                raise LeaseLost(f"run {run_id} does not hold instrument {run.instrument_id}")
            lease.fencing_token += 1
            lease.holder = holder
            lease.heartbeat_at = _now()
            run.state = RunState.ACTIVE.value
            run.pause_request = False
            run.started_at = run.started_at or _now()
            return lease.fencing_token

    def next_pending_spot(self, run_id: int) -> Spot | None:
        """The first pending spot in traversal order, or None when all are accounted for."""
        with session_scope(self.url) as session:
            return session.scalar(
                select(Spot)
                .where(Spot.run_id == run_id, Spot.state == SpotState.PENDING.value)
                .order_by(Spot.order)
                .limit(1)
            )

    def move_spot(
        self, run_id: int, spot_id: int, new_state: str, token: int, *, error: str | None = None
    ) -> None:
        """Compare-and-set a spot's state under the caller's fencing token."""
        with session_scope(self.url) as session:
            spot = session.get(Spot, spot_id)
            self._move_spot(session, run_id, spot, new_state, token, error=error)

    def commit_measurement(
        self, run_id: int, spot_id: int, token: int, *, path: str, sha256: str,
        n_samples: int, n_frames: int,
    ) -> None:
        """Record a spot's safely written data file and mark the spot done, atomically."""
        with session_scope(self.url) as session:
            spot = session.get(Spot, spot_id)
            self._move_spot(session, run_id, spot, SpotState.DONE, token)
            session.add(Measurement(spot_id=spot_id, path=path, sha256=sha256,
                                    n_samples=n_samples, n_frames=n_frames))

    def finish_run(self, run_id: int, state: str, token: int, *, error: str | None = None) -> None:
        """End a run (completed, aborted or failed), skip its unreached spots, free the lease."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            self._check_token(session, run, token)
            check_run_transition(run.state, state)
            if state != RunState.COMPLETED:
                session.execute(
                    update(Spot)
                    .where(Spot.run_id == run_id, Spot.state == SpotState.PENDING.value)
                    .values(state=SpotState.SKIPPED.value)
                )
            run.state = RunState(state).value
            run.error = error
            run.finished_at = _now()
            self._release(session, run)

    def heartbeat(self, run_id: int, token: int) -> None:
        """Refresh the lease; raises :class:`LeaseLost` if the token is stale."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            lease = self._check_token(session, run, token)
            lease.heartbeat_at = _now()

    # --- requests from people ---------------------------------------------------------------
    def request_abort(self, run_id: int, mode: str = "after_spot") -> None:
        """Ask the engine to stop after the current spot (``after_spot``) or at once (``now``).

        A run that has not started (queued) or is paused/interrupted is aborted here directly.
        """
        if mode not in ABORT_MODES:
            raise ValueError(f"abort mode {mode!r} is not one of {ABORT_MODES}")
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            if run.state in (RunState.QUEUED, RunState.PAUSED, RunState.INTERRUPTED):
                session.execute(
                    update(Spot)
                    .where(Spot.run_id == run_id, Spot.state == SpotState.PENDING.value)
                    .values(state=SpotState.SKIPPED.value)
                )
                run.state = RunState.ABORTED.value
                run.finished_at = _now()
                self._release(session, run)
            elif run.state == RunState.ACTIVE:
                if run.abort_request != "now":
                    run.abort_request = mode

    def request_pause(self, run_id: int, paused: bool = True) -> None:
        """Ask an active run to pause after the current spot (or clear the request)."""
        with session_scope(self.url) as session:
            self._run(session, run_id).pause_request = paused

    def mark_paused(self, run_id: int, token: int) -> None:
        """The engine stopped between spots on a pause request; the lease stays with the run."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            self._check_token(session, run, token)
            run.state = check_run_transition(run.state, RunState.PAUSED).value

    def requests(self, run_id: int) -> tuple[str | None, bool]:
        """(abort request, pause request) of a run, read fresh from the database."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            return run.abort_request, run.pause_request

    # --- recovery ---------------------------------------------------------------------------
    def recover_instrument(self, instrument: str) -> list[int]:
        """After a worker died: mark its active run interrupted, settle its in-flight spot.

        A spot caught ``measuring`` has changed the surface and becomes ``interrupted`` (never
        measured again); one caught ``approaching`` had not touched it and returns to
        ``pending``. The run stays resumable by an operator. Returns the recovered run ids.
        """
        with session_scope(self.url) as session:
            runs = session.scalars(
                select(Run).join(Instrument)
                .where(Instrument.name == instrument, Run.state == RunState.ACTIVE.value)
            ).all()
            for run in runs:
                session.execute(
                    update(Spot).where(Spot.run_id == run.id,
                                       Spot.state == SpotState.MEASURING.value)
                    .values(state=SpotState.INTERRUPTED.value, finished_at=_now(),
                            error="worker stopped during the measurement")
                )
                session.execute(
                    update(Spot).where(Spot.run_id == run.id,
                                       Spot.state == SpotState.APPROACHING.value)
                    .values(state=SpotState.PENDING.value, started_at=None)
                )
                run.state = RunState.INTERRUPTED.value
                lease = session.get(InstrumentLease, run.instrument_id)
                lease.fencing_token += 1  # any surviving writer of the dead worker is fenced out
                lease.holder = None
            return [run.id for run in runs]

    # --- reading ----------------------------------------------------------------------------
    def progress(self, run_id: int) -> Progress:
        """Spots done, the current spot and an ETA from the mean time per finished spot."""
        with session_scope(self.url) as session:
            run = self._run(session, run_id)
            counts = dict(
                session.execute(
                    select(Spot.state, func.count()).where(Spot.run_id == run_id)
                    .group_by(Spot.state)
                ).all()
            )
            current = session.scalar(
                select(Spot.order).where(
                    Spot.run_id == run_id,
                    Spot.state.in_([SpotState.APPROACHING.value, SpotState.MEASURING.value]),
                )
            )
            total = sum(counts.values())
            finished = sum(n for state, n in counts.items() if state in FINAL_SPOT_STATES)
            elapsed = eta = None
            if run.started_at is not None:
                end = run.finished_at or _now()
                elapsed = (as_utc(end) - as_utc(run.started_at)).total_seconds()
                if finished and run.finished_at is None:
                    eta = elapsed / finished * (total - finished)
            return Progress(run_id, run.state, total, finished, counts, current, elapsed, eta)

    # --- internals --------------------------------------------------------------------------
    def _run(self, session: Session, run_id: int) -> Run:
        run = session.get(Run, run_id)
        if run is None:
            raise UnknownRun(f"run {run_id} does not exist")
        return run

    def _check_token(self, session: Session, run: Run, token: int) -> InstrumentLease:
        lease = session.get(InstrumentLease, run.instrument_id)
        if lease.run_id != run.id or lease.fencing_token != token:
            raise LeaseLost(
                f"run {run.id}: fencing token {token} is stale (current {lease.fencing_token})"
            )
        return lease

    def _move_spot(self, session, run_id, spot, new_state, token, *, error=None) -> None:
        if spot is None or spot.run_id != run_id:
            raise TransitionError(f"spot does not belong to run {run_id}")
        new = check_spot_transition(spot.state, new_state)
        lease_is_current = exists().where(and_(
            InstrumentLease.run_id == run_id, InstrumentLease.fencing_token == token
        ))
        values = {"state": new.value, "error": error}
        if new == SpotState.APPROACHING:
            values["started_at"] = _now()
        elif new in FINAL_SPOT_STATES:
            values["finished_at"] = _now()
        changed = session.execute(
            update(Spot)
            .where(Spot.id == spot.id, Spot.state == spot.state, lease_is_current)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise LeaseLost(
                f"run {run_id}: spot {spot.order} could not move {spot.state} → {new.value} "
                f"(fencing token {token} stale or the spot changed meanwhile)"
            )

    def _release(self, session: Session, run: Run) -> None:
        session.execute(
            update(InstrumentLease)
            .where(InstrumentLease.instrument_id == run.instrument_id,
                   InstrumentLease.run_id == run.id)
            .values(run_id=None, holder=None)
        )


def _now() -> datetime:
    return datetime.now(UTC)

