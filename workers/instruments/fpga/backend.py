"""The nifpga backend: the instrument protocol on a WEC-SPM FPGA through ``nifpga.Session``.

Every action is a waypoint program (:mod:`~workers.instruments.fpga.programs`) run by the
:class:`~workers.instruments.fpga.session.FpgaLink`, which streams it into the FPGA and
drains the samples in bulk into numpy. The host only supervises: contact stops the Z move on
the FPGA itself (a stop-on-feedback waypoint, comparators armed before every landing and
disarmed after it), and every program has a deadline from its travel or sweep time.

States::

    closed ─open()─► ready ─move/approach/measure/retract─► running ─done─► ready
                                                              │
          should_stop, deadline, FIFO stall, FPGA error ──────┘
              └► cancel: External Stop, abort, reset, run again (outputs to the bitfile's
                 start-up values), position re-read ─► ready; raises Stopped, a timeout
                 or the error (and a failed measurement is retracted)
    any ─emergency_stop()─► latched: External Stop held, every call raises
                            EmergencyStopLatched until reinitialise()

An approach move that reaches its end without contact holds there (the stop-on-feedback line
type does not finish by itself); the host then sets the secondary comparator to trip at once,
the move ends, the comparators are disarmed, and the approach is classed as no contact (a
contact in that same instant is conservatively classed no contact too).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable

import numpy as np

from core.traces import Trace
from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.contract import check_bitfile
from workers.instruments.fpga.programs import Program, ProgramBuilder, measurement_window
from workers.instruments.fpga.protocol import OutOfRangeError
from workers.instruments.fpga.scaling import contact_comparators
from workers.instruments.fpga.session import (
    EmergencyStopLatched,
    FpgaLink,
    ProgramRun,
    open_nifpga_session,
)
from workers.instruments.protocols import (
    Approach,
    Camera,
    Frames,
    InstrumentError,
    InstrumentTimeout,
    Measurement,
    MeasurementError,
    StageError,
    StopCheck,
    Stopped,
)

__all__ = ["EmergencyStopLatched", "FpgaInstrument", "MeasurementTimeout", "StageTimeout",
           "open_nifpga_session"]

log = logging.getLogger(__name__)

#: a lateral move needs the pipette at least this far above the last contact, µm
CLEARANCE_UM = 1.0


class StageTimeout(StageError, InstrumentTimeout):
    """A move or approach overran its deadline: positions can no longer be trusted."""


class MeasurementTimeout(MeasurementError, InstrumentTimeout):
    """A measurement program overran its deadline."""


def _never() -> bool:
    return False


class FpgaInstrument:
    """A SECCM instrument on a WEC-SPM FPGA (see the module docstring for its states).

    Parameters
    ----------
    config : FpgaConfig
    name : str
        Instrument name used in messages and metadata.
    camera : Camera, optional
        Filmed around every measurement that asks for it.
    session_factory : callable, optional
        ``config -> session``; default :func:`open_nifpga_session` (tests pass a fake).
    clock, sleep : callable, optional
        Monotonic seconds and a sleep; tests pass a simulated clock.
    verify_bitfile : bool
        Check the bitfile against the config (:func:`check_bitfile`) before opening.
    """

    def __init__(self, config: FpgaConfig, *, name: str = "nifpga", camera: Camera | None = None,
                 session_factory: Callable[[FpgaConfig], object] = open_nifpga_session,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, verify_bitfile: bool = True):
        self.config = config
        self.name = name
        self.camera = camera
        self.builder = ProgramBuilder(config)
        self.scale = self.builder.scale
        self.link = FpgaLink(config, name=name, session_factory=session_factory, clock=clock,
                             sleep=sleep)
        self._clock = clock
        self._verify_bitfile = verify_bitfile
        self._xyz_um = (0.0, 0.0, 0.0)
        self._surface_z_um: float | None = None
        self._lowered = False
        self._outputs_at_rest = True
        self._down = 1.0 if config.piezo.z_lowers_with_counts else -1.0

    # --- lifecycle --------------------------------------------------------------------------
    def open(self) -> FpgaInstrument:
        """Check the bitfile, open the session, start the FPGA VI and put outputs at rest."""
        if self.link.is_open:
            return self
        if self._verify_bitfile:
            problems = check_bitfile(self.config.bitfile, self.config)
            if problems:
                raise InstrumentError(f"{self.name}: the bitfile does not match the config: "
                                      + "; ".join(problems))
        self.link.open()
        with self.link.hardware("reading the outputs"):
            self._read_position()
        self._rest_outputs()
        return self

    def close(self) -> None:
        """Make safe (unless latched) and close the session."""
        if not self.link.is_open:
            return
        try:
            if self.link.latched is None:
                self.make_safe()
        except InstrumentError:
            log.exception("%s: could not make the instrument safe while closing", self.name)
        finally:
            self.link.close()

    def emergency_stop(self, reason: str = "emergency stop requested") -> None:
        """Write External Stop and latch: every later call raises until :meth:`reinitialise`.

        Safe to call from another thread: a running program sees the latch at its next poll.
        """
        self.link.latch(reason)

    def reinitialise(self) -> None:
        """Restart the FPGA VI from reset, clear a latched emergency stop, outputs to rest.

        The outputs pass through the bitfile's start-up values; positions are read back.
        """
        if not self.link.is_open:
            self.link.latched = None
            self.open()
            return
        self.link.restart(unlatch=True)
        self._after_restart()
        self._rest_outputs()

    @property
    def latched(self) -> str | None:
        """Why the emergency stop is latched, or None."""
        return self.link.latched

    # --- motion -----------------------------------------------------------------------------
    def position_um(self) -> tuple[float, float, float]:
        """Piezo (x, y, z) in µm as last read from the Applied registers."""
        return self._xyz_um

    def move_to_um(self, x_um: float, y_um: float, *, should_stop: StopCheck) -> None:
        """Move laterally to (x, y) µm at the configured speed; the pipette must be lifted."""
        self.link.require("a lateral move")
        if self._near_surface():
            raise StageError(
                f"{self.name}: refusing a lateral move with the pipette within {CLEARANCE_UM:g} "
                f"µm of the surface (z = {self._xyz_um[2]:.2f} µm); retract first"
            )
        x0, y0, _ = self._xyz_um
        try:
            program = self.builder.move(
                {"x": x0, "y": y0}, {"x": float(x_um), "y": float(y_um)},
                speed_um_s=self.config.motion.move_speed_um_s,
                description=f"move to ({x_um:.2f}, {y_um:.2f}) µm")
        except OutOfRangeError as error:
            raise StageError(f"{self.name}: {error}") from error
        self._run(program, should_stop=should_stop, failure=StageError, timeout=StageTimeout)
        self._read_position()
        reached = math.hypot(self._xyz_um[0] - x_um, self._xyz_um[1] - y_um)
        if reached > self._one_count_um() * 1.5:
            raise StageError(
                f"{self.name}: the stage reports ({self._xyz_um[0]:.3f}, {self._xyz_um[1]:.3f}) µm "
                f"after a move to ({x_um:.3f}, {y_um:.3f}) µm"
            )

    def approach(self, *, speed_um_s: float, max_travel_um: float,
                 should_stop: StopCheck) -> Approach:
        """Lower Z at ``speed_um_s`` until the FPGA sees contact or ``max_travel_um`` is used."""
        self.link.require("an approach")
        if not (speed_um_s > 0 and max_travel_um > 0):
            raise StageError(f"{self.name}: approach speed {speed_um_s} µm/s and travel "
                             f"{max_travel_um} µm must be positive")
        z0 = self._xyz_um[2]
        z_end = z0 + self._down * max_travel_um
        try:
            program = self.builder.approach(z0, z_end, speed_um_s=speed_um_s)
            primary, secondary = contact_comparators(self.config)
        except OutOfRangeError as error:
            raise StageError(f"{self.name}: approach of {max_travel_um:g} µm from z = "
                             f"{z0:.2f} µm refused: {error}") from error
        self._lowered = True
        self._outputs_at_rest = False
        with self.link.hardware("arming the contact comparators", StageError):
            self.link.set_comparators(primary, secondary)
        try:
            run = self._run(program, should_stop=should_stop, failure=StageError,
                            timeout=StageTimeout, approach_secondary=secondary)
        finally:
            if self.link.is_open and self.link.latched is None:
                with self.link.hardware("disarming the contact comparators", StageError):
                    self.link.neutralise_comparators()
        self._read_position()
        z = self._xyz_um[2]
        contact = not run.forced_end
        if contact:
            self._surface_z_um = z
        return Approach(contact=contact, z_um=z, travel_um=abs(z - z0))

    def retract(self, height_um: float) -> None:
        """Outputs to rest, then lift Z to ``height_um`` above the last contact, or above the
        present height where that is higher (no contact here, or already lifted). Never
        lowers the pipette."""
        self.link.require("a retract")
        z = self._xyz_um[2]
        reference = z
        if self._surface_z_um is not None:  # the higher of the two, whichever way Z runs
            reference = self._down * min(self._down * self._surface_z_um, self._down * z)
        target = min(max(reference - self._down * height_um, 0.0), self.config.piezo.travel_um)
        lift = self._down * (z - target) > 0
        if not lift and self._outputs_at_rest:
            self._lowered = self._near_surface()
            return
        program = self.builder.move({"z": z}, {"z": target if lift else z},
                                    speed_um_s=self.config.motion.retract_speed_um_s,
                                    description=f"retract to z = {target:.2f} µm",
                                    rest_first=True)
        self._run(program, should_stop=_never, failure=StageError, timeout=StageTimeout)
        self._outputs_at_rest = True
        self._read_position()
        self._lowered = self._near_surface()

    def make_safe(self) -> None:
        """Outputs to rest and the pipette lifted (raises if the emergency stop is latched)."""
        if not self.link.is_open:
            return
        self.link.require("make_safe")
        if self._lowered or not self._outputs_at_rest:
            self.retract(self.config.motion.safe_lift_um)

    def is_safe(self) -> bool:
        if not self.link.is_open:
            return self.link.latched is None
        return self.link.latched is None and self._outputs_at_rest and not self._lowered

    def checkpoint(self, phase: str, site: tuple[float, float]) -> None:
        """Reliability-test hook of the simulator; nothing to do on hardware."""

    # --- measurement ------------------------------------------------------------------------
    def measure(self, technique: dict, *, area_cm2: float, camera: dict | None,
                should_stop: StopCheck,
                on_samples: Callable[[Trace], None] | None = None) -> Measurement:
        """Run ``technique`` where the pipette has landed and return its trace (and movie).

        Galvanostatic current is applied cathodic (negative), from ``current_A`` or from
        ``current_density_mA_cm2`` × ``area_cm2``. A FIFO stall, a deadline overrun or an FPGA
        error cancels the program, retracts the pipette and raises MeasurementError.
        """
        self.link.require("a measurement")
        program = self._measurement_program(technique, area_cm2)
        filming = camera is not None and self.camera is not None
        camera_started_at = None
        if filming:
            camera_started_at = self._clock()
            try:
                self.camera.start_sequence(float(camera.get("interval_s", 0.23)))
            except Exception as error:
                raise MeasurementError(f"{self.name}: the camera did not start: {error}") from error
        self._outputs_at_rest = False
        try:
            run = self._run(program, should_stop=should_stop, failure=MeasurementError,
                            timeout=MeasurementTimeout, collect=True,
                            on_samples=None if on_samples is None else (
                                lambda samples: on_samples(self.scale.trace(samples))))
        except Stopped:
            self._stop_camera_quietly(filming)
            raise
        except InstrumentError:
            self._stop_camera_quietly(filming)
            self._retract_after_failure()
            raise
        self._outputs_at_rest = True  # every measurement program ends with a rest waypoint
        metadata = {"instrument": self.name, "backend": "nifpga", "program": program.description,
                    "waypoints": len(program), "resource": self.config.resource,
                    "bitfile": str(self.config.bitfile), "cell_mode": self.config.cell.mode}
        try:
            trace = self._trace(measurement_window(run.samples, program.rest_v1), program,
                                metadata)
        except MeasurementError:
            self._stop_camera_quietly(filming)
            self._retract_after_failure()
            raise
        movie = None
        if filming:
            movie, problem = self._stop_camera(camera_started_at, run.time_zero_s)
            if problem:
                metadata["camera_error"] = problem
        return Measurement(trace=trace, movie=movie, metadata=metadata)

    def _measurement_program(self, technique: dict, area_cm2: float) -> Program:
        kind = technique.get("technique")
        mode = self.config.cell.mode
        needs = {"galvanostatic": "galvanostat", "cv": "potentiostat",
                 "chronoamperometry": "potentiostat"}
        if kind not in needs:
            raise MeasurementError(f"{self.name}: unknown technique {kind!r}")
        if needs[kind] != mode:
            raise MeasurementError(f"{self.name}: {kind} needs the {needs[kind]}, but the cell "
                                   f"is configured as {mode} (cell.mode)")
        try:
            if kind == "galvanostatic":
                magnitude = technique.get("current_A")
                if magnitude is None:
                    magnitude = technique["current_density_mA_cm2"] * 1e-3 * area_cm2
                return self.builder.galvanostatic(-abs(float(magnitude)),
                                                  float(technique["duration_s"]))
            if kind == "chronoamperometry":
                return self.builder.chronoamperometry(float(technique["potential_V"]),
                                                      float(technique["duration_s"]))
            upper = float(technique["upper_V"])
            start = technique.get("start_V")
            return self.builder.cyclic_voltammetry(
                upper_V=upper, lower_V=float(technique["lower_V"]),
                start_V=upper if start is None else float(start),
                scan_rate_V_s=float(technique["scan_rate_V_s"]),
                cycles=int(technique.get("cycles", 1)))
        except (OutOfRangeError, ValueError, KeyError) as error:
            raise MeasurementError(f"{self.name}: {kind} cannot run: {error}") from error

    def _trace(self, samples: dict[str, np.ndarray], program: Program,
               metadata: dict) -> Trace:
        """The trace of a completed program, refused when the stream lost samples."""
        time_s = samples["time_s"]
        if time_s.size == 0:
            raise MeasurementError(f"{self.name}: {program.description} returned no samples")
        steps = np.diff(time_s)
        if np.any(steps <= 0):
            where = int(np.argmax(steps <= 0))
            raise MeasurementError(
                f"{self.name}: sample timestamps stop increasing at sample {where + 1} "
                f"(t = {time_s[where]:.6f} s): the stream is misaligned or corrupt"
            )
        period = self.config.samples.period_s
        gaps = int(np.sum(steps > 1.5 * period))
        if gaps:
            raise MeasurementError(
                f"{self.name}: {self.config.fifos.samples.name} lost samples in {gaps} "
                f"places during {program.description} (overflow or dropped transfers)"
            )
        if time_s[-1] < program.nominal_s - 2 * period - self.config.timing.final_drain_s:
            raise MeasurementError(
                f"{self.name}: {self.config.fifos.samples.name} stopped streaming at "
                f"t = {time_s[-1]:.3f} s of the {program.nominal_s:g} s {program.description}"
            )
        if steps.size:
            metadata["sample_period_s"] = float(np.median(steps))
        metadata["n_samples"] = int(time_s.size)
        return self.scale.trace(samples, metadata=metadata)

    # --- camera -----------------------------------------------------------------------------
    def _stop_camera(self, started_at: float, time_zero_s: float,
                     ) -> tuple[Frames | None, str | None]:
        """Stop filming, with frame times on the electrochemistry's clock.

        ``time_zero_s`` is the host-clock time of the trace's t = 0. A camera with
        ``set_time_zero`` (the Micro-Manager one) is told it; for any other, frame times are
        taken as counted from its ``start_sequence`` (host time ``started_at``) and shifted.
        """
        set_time_zero = getattr(self.camera, "set_time_zero", None)
        try:
            if set_time_zero is not None:
                set_time_zero(time_zero_s)
            frames = self.camera.stop_sequence()
        except Exception as error:  # the electrochemistry is still good: keep it
            log.exception("%s: the camera failed to stop", self.name)
            return None, f"{type(error).__name__}: {error}"
        if set_time_zero is not None:
            return frames, None
        shifted = Frames(frames=frames.frames,
                         times_s=np.asarray(frames.times_s) + (started_at - time_zero_s),
                         pixel_size_nm=frames.pixel_size_nm, dropped=frames.dropped)
        return shifted, None

    def _stop_camera_quietly(self, filming: bool) -> None:
        if filming:
            with contextlib.suppress(Exception):
                self.camera.stop_sequence()

    # --- running programs -------------------------------------------------------------------
    def _run(self, program: Program, **options) -> ProgramRun:
        """Run ``program`` on the link; after a cancel (the VI restarted) re-read where the
        outputs are and assume the worst about them."""
        restarts = self.link.restarts
        try:
            return self.link.run(program, **options)
        finally:
            if self.link.restarts != restarts and self.link.is_open:
                self._after_restart()

    def _after_restart(self) -> None:
        with self.link.hardware("reading the outputs after a restart"):
            self._read_position()
        self._outputs_at_rest = False  # the start-up frame set them, not us
        self._lowered = self._surface_z_um is None or self._near_surface()

    def _rest_outputs(self) -> None:
        """Outputs to rest without moving (after start-up, whose outputs are the bitfile's)."""
        z = self._xyz_um[2]
        program = self.builder.move({"z": z}, {"z": z}, speed_um_s=1.0,
                                    description="outputs to rest", rest_first=True)
        self._run(program, should_stop=_never, failure=InstrumentError, timeout=InstrumentTimeout)
        self._outputs_at_rest = True

    def _retract_after_failure(self) -> None:
        try:
            if self.link.latched is None:
                self.retract(self.config.motion.safe_lift_um)
        except InstrumentError:
            log.exception("%s: retract after a failed measurement failed", self.name)

    def _read_position(self) -> None:
        self._xyz_um = tuple(float(self.scale.piezo_um(c)) for c in self.link.applied_counts())

    def _near_surface(self) -> bool:
        if self._surface_z_um is None:
            return False
        return self._down * (self._xyz_um[2] - self._surface_z_um) > -CLEARANCE_UM

    def _one_count_um(self) -> float:
        return 10.0 / 32768 * self.config.piezo.um_per_V
