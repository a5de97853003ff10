"""The acquisition engine: runs a submitted grid spot by spot from the ledger.

Per spot::

    move x/y ─► [ledger: approaching] ─► approach until contact ─┬─► no contact: retract,
                                                                 │   [no_contact], next spot
                                                                 └─► [measuring] ─► measure with
    the synchronised movie ─► retract ─► write HDF5 (temp, fsync, rename) ─► [done + file] ─►
    queue analysis

The ledger is the truth: the engine always asks it for the first pending spot, so a restarted
worker continues where the dead one stopped, and a spot caught mid-measurement is marked
``interrupted`` by recovery and never measured again. Abort "after this spot" is honoured
between spots, abort "now" within :data:`STOP_POLL_S` of the request (the instrument polls
``should_stop``). Whatever happens, ``instrument.make_safe()`` runs last: pipette retracted,
outputs off.

Fault policy: no contact → spot ``no_contact``, run continues; a measurement failure → spot
``failed``, run continues unless :attr:`EnginePolicy.max_consecutive_failures` in a row; a
stage failure → spot ``failed`` and the run ``failed`` (positions can no longer be trusted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.grid import grid_from_mapping
from core.storage.ledger import Ledger
from core.storage.spot_files import SpotMovie, write_spot_file
from core.storage.states import RunState, SpotState
from core.units import disc_area_cm2
from workers.instruments.protocols import (
    Instrument,
    InstrumentError,
    MeasurementError,
    StageError,
    Stopped,
)

log = logging.getLogger(__name__)

#: how often an abort "now" request is read from the ledger during long calls (s)
STOP_POLL_S = 0.05


@dataclass(frozen=True)
class EnginePolicy:
    """How the engine reacts to faults."""

    max_consecutive_failures: int = 3
    #: how far below the retract height the approach may go before giving up (µm)
    approach_overtravel_um: float = 4.0


class AbortWatch:
    """Reads the run's abort request from the ledger at most every ``STOP_POLL_S`` seconds."""

    def __init__(self, ledger: Ledger, run_id: int) -> None:
        self._ledger = ledger
        self._run_id = run_id
        self._checked_at = 0.0
        self._now = False

    def abort_now(self) -> bool:
        """True once someone asked to abort this run at once."""
        moment = time.monotonic()
        if not self._now and moment - self._checked_at >= STOP_POLL_S:
            self._checked_at = moment
            self._now = self._ledger.requests(self._run_id)[0] == "now"
        return self._now


class AcquisitionEngine:
    """Runs one run at a time on one instrument, writing through the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        instrument: Instrument,
        *,
        data_dir: str | Path,
        holder: str,
        policy: EnginePolicy = EnginePolicy(),
        on_spot_committed: Callable[[int], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.instrument = instrument
        self.data_dir = Path(data_dir)
        self.holder = holder
        self.policy = policy
        self.on_spot_committed = on_spot_committed

    def run(self, run_id: int) -> str:
        """Run (or resume) ``run_id`` until it completes, is aborted, paused or fails.

        Returns the run's state afterwards.
        """
        token = self.ledger.start_run(run_id, self.holder)
        summary = self.ledger.run_summary(run_id)
        grid = grid_from_mapping(summary["grid"])
        provenance = {"run_id": run_id, "grid_hash": summary["grid_hash"],
                      "instrument": summary["instrument"], "operator": summary["operator"]}
        watch = AbortWatch(self.ledger, run_id)
        failures_in_a_row = 0
        final, error = RunState.COMPLETED, None
        spot = None
        try:
            while True:
                abort, pause = self.ledger.requests(run_id)
                if abort:
                    final = RunState.ABORTED
                    break
                if pause:
                    self.ledger.mark_paused(run_id, token)
                    return RunState.PAUSED.value
                spot = self.ledger.next_pending_spot(run_id)
                if spot is None:
                    break
                outcome = self._spot(run_id, spot, token, grid, watch, provenance)
                failures_in_a_row = failures_in_a_row + 1 if outcome == SpotState.FAILED else 0
                if failures_in_a_row >= self.policy.max_consecutive_failures:
                    final = RunState.FAILED
                    error = f"{failures_in_a_row} spots failed in a row; last: {outcome}"
                    break
        except Stopped:
            final = RunState.ABORTED
        except StageError as problem:
            final, error = RunState.FAILED, str(problem)
        except (KeyboardInterrupt, SystemExit):
            # the worker is being shut down hard (Celery's cold shutdown raises SystemExit):
            # leave the run active, so the next worker start recovers it as interrupted and
            # resumable, rather than ending it for good
            raise
        except BaseException as problem:
            final, error = RunState.FAILED, f"{type(problem).__name__}: {problem}"
            if spot is not None:
                self._settle_failed_spot(run_id, spot, token, error)
            self._finish(run_id, final, token, error)
            raise
        finally:
            unsafe = self._make_safe()
        if unsafe is not None:
            final = RunState.FAILED
            error = f"{error}; {unsafe}" if error else unsafe
        self._finish(run_id, final, token, error)
        return final.value

    def _make_safe(self) -> str | None:
        """Retract and stop everything; a failure is returned (and logged), never raised, so
        it cannot hide the error that ended the run (e.g. a latched emergency stop)."""
        try:
            self.instrument.make_safe()
        except Exception as problem:
            log.exception("instrument %s could not be made safe", self.instrument.name)
            return f"instrument could not be made safe: {problem}"
        return None

    def _settle_failed_spot(self, run_id, spot, token, error) -> None:
        """An unexpected error left ``spot`` approaching or measuring: mark it failed, so every
        spot of a finished run is accounted for (a pending or finished spot stays as it is)."""
        try:
            self.ledger.move_spot(run_id, spot.id, SpotState.FAILED, token, error=error)
        except Exception:  # TransitionError (not in flight) or LeaseLost: nothing to settle
            log.debug("run %s: spot %s left as it was", run_id, spot.order)

    def _finish(self, run_id, final, token, error) -> None:
        try:
            self.ledger.finish_run(run_id, final, token, error=error)
        except Exception:  # the lease was lost (recovered by another worker): leave it be
            log.exception("run %s: could not record the end (%s)", run_id, final)

    def _spot(self, run_id, spot, token, grid, watch: AbortWatch, provenance: dict) -> SpotState:
        """Measure one spot; returns its final state. Raises Stopped / StageError upward."""
        instrument, ledger = self.instrument, self.ledger
        instrument.move_to_um(spot.x_um, spot.y_um, should_stop=watch.abort_now)
        ledger.move_spot(run_id, spot.id, SpotState.APPROACHING, token)
        try:
            approach = instrument.approach(
                speed_um_s=grid.approach_speed_um_s,
                max_travel_um=grid.retract_um + self.policy.approach_overtravel_um,
                should_stop=watch.abort_now,
            )
        except Stopped:
            instrument.retract(grid.retract_um)
            ledger.move_spot(run_id, spot.id, SpotState.PENDING, token)
            raise
        except StageError as problem:
            ledger.move_spot(run_id, spot.id, SpotState.FAILED, token, error=str(problem))
            raise
        if not approach.contact:
            instrument.retract(grid.retract_um)
            ledger.move_spot(run_id, spot.id, SpotState.NO_CONTACT, token,
                             error=f"no contact within {approach.travel_um:.1f} µm of travel")
            return SpotState.NO_CONTACT

        ledger.move_spot(run_id, spot.id, SpotState.MEASURING, token)
        footprint_um = grid.footprint_diameter_um or grid.pipette_diameter_um
        camera = grid.camera.model_dump() if grid.camera.enabled else None
        technique = {**spot.technique, "current_A": spot.current_A, "duration_s": spot.duration_s}
        try:
            measurement = instrument.measure(
                technique, area_cm2=disc_area_cm2(footprint_um), camera=camera,
                should_stop=watch.abort_now,
            )
        except Stopped:
            instrument.retract(grid.retract_um)
            ledger.move_spot(run_id, spot.id, SpotState.INTERRUPTED, token,
                             error="aborted during the measurement")
            raise
        except (MeasurementError, InstrumentError) as problem:
            instrument.retract(grid.retract_um)
            ledger.move_spot(run_id, spot.id, SpotState.FAILED, token, error=str(problem))
            return SpotState.FAILED
        instrument.retract(grid.retract_um)

        path = self.data_dir / "runs" / str(run_id) / f"spot_{spot.order:05d}.h5"
        movie = None
        if measurement.movie is not None:
            movie = SpotMovie(measurement.movie.frames, measurement.movie.times_s,
                              measurement.movie.pixel_size_nm)
        digest = write_spot_file(
            path, measurement.trace, movie=movie,
            provenance={**measurement.metadata, **provenance, "spot_order": spot.order},
        )
        instrument.checkpoint("after_write", (spot.x_um, spot.y_um))
        ledger.commit_measurement(
            run_id, spot.id, token, path=str(path.relative_to(self.data_dir)), sha256=digest,
            n_samples=len(measurement.trace),
            n_frames=0 if movie is None else len(movie.frames),
        )
        instrument.checkpoint("after_commit", (spot.x_um, spot.y_um))
        if self.on_spot_committed is not None:
            self.on_spot_committed(spot.id)
        return SpotState.DONE

