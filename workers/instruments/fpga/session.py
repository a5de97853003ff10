"""The link to the FPGA VI: one ``nifpga.Session``, its registers and FIFOs, and programs.

:class:`FpgaLink` knows the wire, not the instrument: it starts the VI, streams a
:class:`~workers.instruments.fpga.programs.Program` into ``Host_To_FPGA_Positions`` while
draining ``FPGA_To_Host_FIFO`` in bulk into numpy, and decides when the program is complete,
stalled, late or must stop.

A program is complete when the target's LineNumber has advanced by the number of waypoints
sent, WaitingForWayPoints is set, and the samples still in flight have been drained. To stop a
program early the link writes External Stop and restarts the VI from reset (abort, reset,
FIFOs re-armed, run): outputs come back at the bitfile's start-up values and ``restarts``
counts up, so the instrument knows to re-read where it is. If that restart fails, or an
emergency stop was latched, nothing is restarted: the latch holds until
:meth:`FpgaLink.restart` is called with ``unlatch=True``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from nifpga import ErrorStatus, LibraryNotFoundError

from workers.instruments.fpga.config import FpgaConfig, RegisterSpec
from workers.instruments.fpga.contract import check_session
from workers.instruments.fpga.programs import Program
from workers.instruments.fpga.protocol import (
    SAMPLE_WORDS,
    WAYPOINT_WORDS,
    FrameAssembler,
    OutOfRangeError,
)
from workers.instruments.fpga.scaling import (
    Comparator,
    always_trips,
    contact_comparators,
    never_trips,
)
from workers.instruments.protocols import (
    POLL_INTERVAL_S,
    InstrumentError,
    StopCheck,
    Stopped,
    deadline_s,
)

log = logging.getLogger(__name__)

#: what nifpga raises: a status error, or no NI-RIO driver on this machine
HARDWARE_ERRORS = (ErrorStatus, LibraryNotFoundError)


class EmergencyStopLatched(InstrumentError):
    """The emergency stop was written; nothing runs until the instrument is reinitialised."""


def open_nifpga_session(config: FpgaConfig):
    """An ``nifpga.Session`` on the configured bitfile and resource, not yet running."""
    import nifpga

    return nifpga.Session(bitfile=str(config.bitfile), resource=config.resource, no_run=True,
                          reset_if_last_session_on_exit=False)


@dataclass
class ProgramRun:
    """What a program left behind.

    Attributes
    ----------
    samples : dict of (N,) arrays, or None
        Decoded samples (volts per channel, ``time_s``, ``ticks``) when collected.
    forced_end : bool
        The host ended a stop-on-feedback move that reached its end without contact.
    time_zero_s : float
        Host-clock time of the first sample.
    """

    samples: dict[str, np.ndarray] | None
    forced_end: bool
    time_zero_s: float


class FpgaLink:
    """One session to the WEC-SPM FPGA VI (see the module docstring)."""

    def __init__(self, config: FpgaConfig, *, name: str,
                 session_factory: Callable[[FpgaConfig], object], clock: Callable[[], float],
                 sleep: Callable[[float], None]) -> None:
        self.config = config
        self.name = name
        self._factory = session_factory
        self._clock = clock
        self._sleep = sleep
        self._session = None
        self._waypoint_space = 0
        #: why the emergency stop is latched, or None
        self.latched: str | None = None
        #: how many times the VI was restarted (programs stopped early, reinitialisations)
        self.restarts = 0

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._session is not None

    def open(self) -> None:
        """Open the session, check it holds every mapped name, start the VI."""
        with self.hardware("opening the FPGA session"):
            self._session = self._factory(self.config)
        problems = check_session(self._session, self.config)
        if problems:
            self.close()
            raise InstrumentError(f"{self.name}: " + "; ".join(problems))
        with self.hardware("starting the FPGA VI"):
            self._start()

    def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        for spec in (self.config.fifos.waypoints, self.config.fifos.samples):
            with contextlib.suppress(*HARDWARE_ERRORS, KeyError):
                session.fifos[spec.name].stop()
        try:
            session.close()
        except HARDWARE_ERRORS:
            log.exception("%s: closing the FPGA session failed", self.name)

    def latch(self, reason: str) -> None:
        """Write External Stop and refuse everything until ``restart(unlatch=True)``."""
        self.latched = reason
        if self._session is not None:
            try:
                self.write(self.config.registers.external_stop, True)
            except HARDWARE_ERRORS:
                log.exception("%s: writing External Stop failed", self.name)
        log.error("%s: emergency stop latched (%s)", self.name, reason)

    def restart(self, *, unlatch: bool = False) -> None:
        """Restart the VI from reset (outputs to the bitfile's start-up values)."""
        with self.hardware("re-initialising the FPGA VI"):
            self._restart()
        if unlatch:
            self.latched = None

    def require(self, what: str) -> None:
        """Raise unless the link is open and not latched."""
        if self.latched is not None:
            raise EmergencyStopLatched(f"{self.name}: emergency stop latched ({self.latched}); "
                                       f"{what} is refused until reinitialise()")
        if self._session is None:
            raise InstrumentError(f"{self.name}: the FPGA session is not open ({what})")

    # --- registers --------------------------------------------------------------------------
    def read(self, spec: RegisterSpec):
        return self._session.registers[spec.name].read()

    def write(self, spec: RegisterSpec, value) -> None:
        self._session.registers[spec.name].write(value)

    def applied_counts(self) -> tuple[int, int, int]:
        """The X, Y, Z outputs (counts) as the Applied indicators report them."""
        r = self.config.registers
        return tuple(int(self.read(spec)) for spec in (r.applied_x, r.applied_y, r.applied_z))

    def set_comparators(self, primary: Comparator, secondary: Comparator) -> None:
        """Write both comparators, each register verified by reading it back."""
        self._set_comparator(1, primary)
        self._set_comparator(2, secondary)

    def neutralise_comparators(self) -> None:
        """Both comparators on a real source with thresholds no reading can cross, so stale
        feedback state cannot end or pause a line."""
        source = contact_comparators(self.config)[0].source
        self.set_comparators(never_trips(source), never_trips(source))

    def _set_comparator(self, which: int, comparator: Comparator) -> None:
        r = self.config.registers
        kind, threshold, greater = ((r.feedback_type, r.feedback_threshold, r.greater_than)
                                    if which == 1 else
                                    (r.feedback_type_2, r.feedback_threshold_2, r.greater_than_2))
        for spec, value in ((kind, comparator.source), (threshold, comparator.threshold),
                            (greater, comparator.greater_than)):
            self.write(spec, value)
            readback = self.read(spec)
            if readback != value:
                raise InstrumentError(f"{self.name}: register {spec.name!r} reads back "
                                      f"{readback!r} after writing {value!r}")

    # --- programs ---------------------------------------------------------------------------
    def run(self, program: Program, *, should_stop: StopCheck, failure: type[InstrumentError],
            timeout: type[InstrumentError], collect: bool = False,
            on_samples: Callable[[dict[str, np.ndarray]], None] | None = None,
            approach_secondary: Comparator | None = None) -> ProgramRun:
        """Stream ``program`` in and drain samples out until it completes.

        Parameters
        ----------
        program : Program
        should_stop : callable
            Polled every :data:`POLL_INTERVAL_S`; True stops the program (raises Stopped).
        failure, timeout : InstrumentError subclasses
            Raised for an FPGA error or a stalled sample stream, and past the deadline.
        collect : bool
            Keep the samples (and watch the stream for stalls).
        on_samples : callable, optional
            Called with all samples so far whenever new ones arrive.
        approach_secondary : Comparator, optional
            For an approach: the secondary comparator, set to trip at once when the move
            reaches its end without contact (and so ends it).
        """
        try:
            frames, exponent = program.encode()
        except OutOfRangeError as error:
            raise failure(f"{self.name}: {program.description}: {error}") from error
        registers, timing = self.config.registers, self.config.timing
        words = frames.reshape(-1)
        with self.hardware(f"starting {program.description}", failure):
            self.write(registers.velocity_exponent, exponent)
            first_line = int(self.read(registers.line_number))
            self._discard_samples()
            assembler = FrameAssembler(self.config.layout())
            sent = self._feed(words, 0)
        started = self._clock()
        deadline = started + deadline_s(program.nominal_s)
        last_data = started
        blocks: list[dict[str, np.ndarray]] = []
        forced = False
        # host time of the first sample: the tightest (read time - sample time) over reads,
        # as a sample cannot be read before it was taken (good to a sample period or so)
        time_zero = math.inf
        while True:
            with self.hardware(program.description, failure, cancel=True):
                sent = self._feed(words, sent)
                block = self._drain(assembler)
                done = (sent == words.size
                        and int(self.read(registers.line_number)) - first_line >= len(program)
                        and bool(self.read(registers.waiting_for_waypoints)))
                if (approach_secondary is not None and not forced and not done
                        and int(self.read(registers.applied_z)) == program.approach_end_z):
                    # the move reached its end without contact and holds there: end it
                    self._set_comparator(2, always_trips(approach_secondary.source))
                    forced = True
            now = self._clock()
            if block["time_s"].size:
                last_data = now
                time_zero = min(time_zero, now - float(block["time_s"][-1]))
                if collect:
                    blocks.append(block)
                    if on_samples is not None:
                        on_samples(concatenate(blocks))
            if done:
                break
            if self.latched is not None:  # latch() from another thread
                raise EmergencyStopLatched(f"{self.name}: emergency stop latched "
                                           f"({self.latched}) during {program.description}")
            if should_stop():
                self._cancel(f"{program.description} stopped on request")
                raise Stopped(f"{self.name}: {program.description} stopped after "
                              f"{now - started:.2f} s")
            if collect and now - last_data > timing.fifo_timeout_s:
                self._cancel(f"{program.description}: sample FIFO stalled")
                raise failure(
                    f"{self.name}: {self.config.fifos.samples.name} timed out: no samples for "
                    f"{now - last_data:.2f} s (limit {timing.fifo_timeout_s:g} s) "
                    f"during {program.description}"
                )
            if now > deadline:
                self._cancel(f"{program.description}: deadline passed")
                raise timeout(
                    f"{self.name}: {program.description} did not finish within its "
                    f"{deadline - started:.2f} s deadline (nominal {program.nominal_s:.2f} s)"
                )
            self._sleep(POLL_INTERVAL_S)
        with self.hardware(f"draining {program.description}", failure):
            self._sleep(timing.final_drain_s)
            block = self._drain(assembler)
            if collect and block["time_s"].size:
                blocks.append(block)
        return ProgramRun(samples=concatenate(blocks) if collect else None, forced_end=forced,
                          time_zero_s=started if math.isinf(time_zero) else time_zero)

    def _feed(self, words: np.ndarray, sent: int) -> int:
        """Write as many whole waypoints as the host buffer takes; returns words sent."""
        if sent >= words.size:
            return sent
        fifo = self._session.fifos[self.config.fifos.waypoints.name]
        if self._waypoint_space < WAYPOINT_WORDS:
            self._waypoint_space = fifo.write([], timeout_ms=0)
        count = min(self._waypoint_space // WAYPOINT_WORDS * WAYPOINT_WORDS, words.size - sent)
        if count:
            self._waypoint_space = fifo.write(words[sent:sent + count].tolist(), timeout_ms=0)
        return sent + count

    def _drain(self, assembler: FrameAssembler) -> dict[str, np.ndarray]:
        """Read every whole sample frame waiting (up to the batch limit) in one read."""
        fifo = self._session.fifos[self.config.fifos.samples.name]
        waiting = fifo.read(0, timeout_ms=0).elements_remaining
        limit = self.config.timing.max_read_frames * SAMPLE_WORDS
        count = min(waiting - waiting % SAMPLE_WORDS, limit)
        words = fifo.read(count, timeout_ms=0).data if count else []
        return assembler.push(np.asarray(words, dtype=np.int16))

    def _discard_samples(self) -> None:
        """Drop samples from before this program (whole frames, so the stream stays aligned)."""
        fifo = self._session.fifos[self.config.fifos.samples.name]
        while (waiting := fifo.read(0, timeout_ms=0).elements_remaining) >= SAMPLE_WORDS:
            fifo.read(waiting - waiting % SAMPLE_WORDS, timeout_ms=0)

    def _cancel(self, why: str) -> None:
        """Stop the program on the FPGA: External Stop, then restart the VI from reset.

        Latched, nothing is restarted (that would release the stop); if the restart fails
        the emergency stop is latched."""
        log.warning("%s: cancelling: %s", self.name, why)
        if self.latched is not None:
            raise EmergencyStopLatched(f"{self.name}: {why}; emergency stop latched "
                                       f"({self.latched})")
        try:
            self.write(self.config.registers.external_stop, True)
            self._restart()
        except HARDWARE_ERRORS as error:
            self.latch(f"{why}; restarting the FPGA VI failed: {error}")
            raise EmergencyStopLatched(f"{self.name}: {why}; the FPGA VI could not be "
                                       f"restarted ({error}): emergency stop latched") from error

    # --- the VI -----------------------------------------------------------------------------
    def _start(self) -> None:
        session, fifos, registers = self._session, self.config.fifos, self.config.registers
        for spec in (fifos.waypoints, fifos.samples):
            fifo = session.fifos[spec.name]
            fifo.stop()
            depth = fifo.configure(spec.host_depth)
            fifo.start()
            if spec is fifos.waypoints:
                self._waypoint_space = int(depth)
        self.write(registers.external_stop, False)
        self.write(registers.external_pause, False)
        self.neutralise_comparators()
        session.run()

    def _restart(self) -> None:
        self.restarts += 1
        self._session.abort()
        self._session.reset()
        self._start()

    @contextlib.contextmanager
    def hardware(self, what: str, error: type[InstrumentError] = InstrumentError, *,
                 cancel: bool = False) -> Iterator[None]:
        """Turn nifpga errors into ``error`` naming what was being done; with ``cancel``,
        stop the running program first."""
        try:
            yield
        except HARDWARE_ERRORS as problem:
            if cancel:
                self._cancel(f"{what}: {problem}")
            raise error(f"{self.name}: {what}: FPGA error {problem}") from problem


def concatenate(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Decoded sample blocks joined channel by channel."""
    if not blocks:
        return {"time_s": np.empty(0), "ticks": np.empty(0, dtype=np.int64)}
    return {key: np.concatenate([block[key] for block in blocks]) for key in blocks[0]}
