"""A fake of nifpga 22's Session API with a small simulated WEC-SPM target behind it.

The fake follows the real API where the backend touches it: ``Session(bitfile, resource,
no_run=..., reset_if_last_session_on_exit=...)`` parses the bitfile with the real
:class:`nifpga.Bitfile` and exposes its non-internal registers and FIFOs by name; it is a
context manager with ``run/abort/reset/download/close``; ``registers[name].read()/write()``
convert through the register's ctypes type (out-of-range writes wrap, as ctypes does);
``fifos[name].configure(depth)/start()/stop()/read(n, timeout_ms)/write(data, timeout_ms)``
return ``ReadValues(data, elements_remaining)`` and the number of empty elements, and raise
the real ``nifpga.FifoTimeoutError`` when a read cannot be satisfied in time (consuming
nothing) or a write does not fit.

Behind it, :class:`FakeTarget` plays the FPGA VI on a :class:`FakeClock`: it takes 14-word
waypoints, moves X/Y/Z and ramps or steps V1/V2 at the encoded velocities, holds, ends a
stop-on-feedback move when either comparator trips, and streams one 14-word I16 sample every
``period_s`` with a 40 MHz U32 timestamp (high word first) that starts close to its rollover.
A cell model turns the pipette's height and the outputs into the current (potentiostat) or the
galvanostat's potential reading. Fault knobs: a target that never takes waypoints, a sample
stream that stops.
"""

from __future__ import annotations

import ctypes
import math
import xml.etree.ElementTree as ElementTree
from collections import deque, namedtuple
from dataclasses import dataclass, field
from pathlib import Path

import nifpga
import numpy as np

from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.contract import FIFO_DIRECTIONS
from workers.instruments.fpga.protocol import (
    CLOCK_HZ,
    I16_MAX,
    I16_MIN,
    SAMPLE_WORDS,
    WAYPOINT_WORDS,
    Flag,
    counts_to_volts,
    decode_waypoint,
    encode_timestamp,
)
from workers.instruments.fpga.scaling import Comparator

ReadValues = namedtuple("ReadValues", ["data", "elements_remaining"])
_XML_TYPE = {"Bool": "Boolean"}


# --- bitfile ---------------------------------------------------------------------------------

def write_bitfile(path: Path, config: FpgaConfig, *, drop: tuple[str, ...] = (),
                  retype: dict[str, str] | None = None, role: dict[str, bool] | None = None,
                  fifo_type: dict[str, str] | None = None,
                  fifo_direction: dict[str, str] | None = None,
                  fifo_depth: dict[str, int] | None = None,
                  extra_registers: tuple[tuple[str, str, bool], ...] = ()) -> Path:
    """A minimal .lvbitx holding the registers and FIFOs ``config`` maps.

    ``drop`` leaves out registers/FIFOs by bitfile name; ``retype``, ``role``, ``fifo_type``,
    ``fifo_direction`` and ``fifo_depth`` change a register's type or indicator flag, or a
    FIFO's element type, direction or compiled depth (keys are bitfile names).
    """
    retype, role = retype or {}, role or {}
    fifo_type, fifo_direction, fifo_depth = fifo_type or {}, fifo_direction or {}, fifo_depth or {}
    root = ElementTree.Element("Bitfile")
    ElementTree.SubElement(root, "BitfileVersion").text = "4.0"
    ElementTree.SubElement(root, "SignatureRegister").text = "0123456789abcdef0123456789ABCDEF"
    project = ElementTree.SubElement(root, "Project")
    ElementTree.SubElement(project, "TargetClass").text = "PCIe-7852R"
    nifpga_xml = _path(project, "CompilationResultsTree", "CompilationResults", "NiFpga")
    ElementTree.SubElement(nifpga_xml, "BaseAddressOnDevice").text = "98304"
    channels = ElementTree.SubElement(nifpga_xml, "DmaChannelAllocationList")
    for number, (logical, spec) in enumerate(config.fifos):
        if spec.name in drop:
            continue
        channel = ElementTree.SubElement(channels, "Channel", name=spec.name)
        _path(channel, "DataType", "SubType").text = fifo_type.get(spec.name, "I16")
        ElementTree.SubElement(channel, "Direction").text = fifo_direction.get(
            spec.name, FIFO_DIRECTIONS[logical])
        ElementTree.SubElement(channel, "NumberOfElements").text = str(
            fifo_depth.get(spec.name, spec.target_depth or 1023))
        ElementTree.SubElement(channel, "Number").text = str(number)
    register_list = _path(root, "VI", "RegisterList")
    specs = [(s.name, s.type, s.indicator) for _, s in config.registers] + list(extra_registers)
    for offset, (name, type_, indicator) in enumerate(specs):
        if name in drop:
            continue
        type_ = retype.get(name, type_)
        register = ElementTree.SubElement(register_list, "Register")
        ElementTree.SubElement(register, "Name").text = name
        ElementTree.SubElement(register, "Indicator").text = str(role.get(name, indicator)).lower()
        datatype = ElementTree.SubElement(register, "Datatype")
        ElementTree.SubElement(ElementTree.SubElement(datatype, _XML_TYPE.get(type_, type_)),
                               "Name").text = name
        ElementTree.SubElement(register, "Offset").text = str(4 * offset)
        ElementTree.SubElement(register, "Internal").text = "false"
        ElementTree.SubElement(register, "AccessMayTimeout").text = "false"
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _path(parent, *tags):
    for tag in tags:
        parent = ElementTree.SubElement(parent, tag)
    return parent


# --- clock -----------------------------------------------------------------------------------

class FakeClock:
    """Simulated monotonic time: ``sleep`` advances it at once."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


# --- the simulated FPGA VI ------------------------------------------------------------------

@dataclass
class TargetFaults:
    """Faults of the running VI; resetting the VI clears them."""

    #: from this time on the target takes no more waypoints (a hung program)
    hang_from_s: float | None = None
    #: from this time on no more samples are streamed (a stalled DMA FIFO)
    stall_stream_from_s: float | None = None


@dataclass
class FakeCell:
    """What the meniscus does electrically once it touches the surface."""

    #: potentiostat: current = potential / resistance (14.7 pA at the 1.47 V hold)
    resistance_ohm: float = 1e11
    #: galvanostat: potential on contact = rest potential + current × resistance
    galvanostat_rest_V: float = 0.2
    galvanostat_resistance_ohm: float = 5e7
    overload_V: float = 10.0


@dataclass
class _Line:
    action: int
    targets: dict
    speeds: dict
    hold_left_s: float
    done: bool = False


@dataclass
class FakeTarget:
    """The WEC-SPM FPGA VI, reduced to what the backend relies on."""

    config: FpgaConfig
    clock: FakeClock
    surface_z_um: float = 30.0
    start_ticks: int = 2**32 - int(0.4 * CLOCK_HZ)
    faults: TargetFaults = field(default_factory=TargetFaults)
    cell: FakeCell = field(default_factory=FakeCell)
    #: bitfile start-up outputs (counts), as the open-source host reports them
    startup_counts: dict = field(default_factory=lambda: {"x": 0x3FFF, "y": 0x3FFF, "z": 0,
                                                          "v1": 0, "v2": 0})

    def __post_init__(self) -> None:
        self.registers: dict[str, FakeRegister] = {}
        self.waypoint_fifo: FakeFifo | None = None
        self.sample_fifo: FakeFifo | None = None
        self.period_s = self.config.samples.period_s
        self.running = False
        self.t = self.clock.now
        self.ticks = self.start_ticks
        self.samples_emitted = 0
        self.samples_dropped = 0
        self.lines_started = 0
        self.external_stop_seen = 0
        self.resets = 0
        self._reset_state()

    # the register names of the VI come from the config the bitfile was built from; a
    # register the bitfile lacks reads as 0 and ignores writes
    def _value(self, logical: str):
        register = self.registers.get(getattr(self.config.registers, logical).name)
        return 0 if register is None else register.value

    def _set(self, logical: str, value) -> None:
        register = self.registers.get(getattr(self.config.registers, logical).name)
        if register is not None:
            register.value = value

    def _reset_state(self) -> None:
        self.position = {axis: float(c) for axis, c in self.startup_counts.items()}
        self.line: _Line | None = None
        self.line_number = 0
        for register in self.registers.values():
            register.value = register.default
        if self.waypoint_fifo is not None:
            self.waypoint_fifo.buffer.clear()
        self._publish()

    def reset(self) -> None:
        self.resets += 1
        self.running = False
        self.faults = TargetFaults()
        self._reset_state()

    def run(self) -> None:
        self.advance()
        self.running = True
        self.t = self.clock.now

    def abort(self) -> None:
        self.advance()
        self.running = False

    # --- time -------------------------------------------------------------------------------
    def advance(self) -> None:
        """Catch the target up with the clock, one sample period at a time."""
        if not self.running:
            self.t = self.clock.now
            return
        while self.t + self.period_s <= self.clock.now + 1e-12:
            self.t += self.period_s
            self._step(self.period_s)
            if not self.running:
                self.t = self.clock.now
                return

    def _step(self, dt: float) -> None:
        if self._value("external_stop"):
            self.external_stop_seen += 1
            self.running = False  # the VI's loops exit: nothing moves, nothing streams
            return
        if not self._value("external_pause"):
            self._execute(dt)
        self.ticks = (self.ticks + round(dt * CLOCK_HZ)) % 2**32
        self._publish()
        self._emit()

    def _hung(self) -> bool:
        hang = self.faults.hang_from_s
        return hang is not None and self.t >= hang

    def _execute(self, dt: float) -> None:
        """Run lines for ``dt`` seconds; a line that ends mid-period hands the rest of the
        period to the next one, so holds and ramps keep exact time."""
        remaining = dt
        while remaining > 1e-15:
            if self.line is None:
                if self._hung():
                    return
                self._take_waypoint()
                if self.line is None:
                    return
            line = self.line
            remaining -= self._advance_line(line, remaining)
            if not line.done:
                return
            self.line = None

    def _advance_line(self, line: _Line, dt: float) -> float:
        """Advance ``line`` by at most ``dt`` s; returns the time it used."""
        moves = {axis: abs(target - self.position[axis]) / (line.speeds[axis] * CLOCK_HZ)
                 for axis, target in line.targets.items()}
        if line.action == self.config.contact.stop_on_contact_action:
            self._move(line, dt)
            # the move stops where it is on feedback; without it, it holds at its end
            line.done = self._feedback()
            return dt
        moving_s = max(moves.values(), default=0.0)
        if moving_s > dt:
            self._move(line, dt)
            return dt
        self._move(line, moving_s)
        held = min(line.hold_left_s, dt - moving_s)
        line.hold_left_s -= held
        line.done = line.hold_left_s <= 1e-12
        return moving_s + held

    def _move(self, line: _Line, seconds: float) -> None:
        for axis, target in line.targets.items():
            step = line.speeds[axis] * CLOCK_HZ * seconds
            here = self.position[axis]
            self.position[axis] = target if abs(target - here) <= step + 1e-9 else (
                here + math.copysign(step, target - here))

    def _take_waypoint(self) -> None:
        fifo = self.waypoint_fifo
        if fifo is None or len(fifo.buffer) < WAYPOINT_WORDS:
            return
        words = [fifo.buffer.popleft() for _ in range(WAYPOINT_WORDS)]
        exponent = self._value("velocity_exponent")
        waypoint = decode_waypoint(words, velocity_exponent=exponent)
        flags = Flag(words[13] & 0xFFFF)
        targets, speeds = {}, {}
        for axis, target in waypoint.targets.items():
            if (axis == "v1" and flags & Flag.JUMP_V) or (axis == "v2" and flags & Flag.JUMP_V2):
                self.position[axis] = float(target)
            else:
                targets[axis] = float(target)
                speeds[axis] = waypoint.velocities[axis]
        hold_s = waypoint.hold_counts * self.config.timing.hold_unit_s
        self.line = _Line(waypoint.action, targets, speeds, hold_s)
        self.line_number += 1
        self.lines_started += 1

    def _comparators(self) -> list[Comparator]:
        return [Comparator(self._value(kind), self._value(threshold), bool(self._value(greater)))
                for kind, threshold, greater in (
                    ("feedback_type", "feedback_threshold", "greater_than"),
                    ("feedback_type_2", "feedback_threshold_2", "greater_than_2"))]

    def _feedback(self) -> bool:
        readings = self._inputs()
        codes = self.config.contact.source_codes
        return any(c.trips(readings[name]) for c in self._comparators()
                   for name, code in codes.items() if code == c.source)

    # --- the cell ---------------------------------------------------------------------------
    def in_contact(self) -> bool:
        z_um = float(counts_to_volts(self.position["z"]) - self.config.piezo.zero_V) * (
            self.config.piezo.um_per_V)
        down = 1.0 if self.config.piezo.z_lowers_with_counts else -1.0
        return down * (z_um - self.surface_z_um) >= 0

    def _inputs(self) -> dict[str, int]:
        """AI3/AI4 readings (counts), saturating at the converter's ends like an ADC."""
        cell, fake = self.config.cell, self.cell
        v1 = float(counts_to_volts(round(self.position["v1"])))
        readings = {"current_1": 0.0, "current_2": 0.0}
        if cell.mode == "potentiostat":
            potential = v1 * cell.potential_command_V_per_V + cell.reference_offset_V
            current = potential / fake.resistance_ohm if self.in_contact() else 0.0
            readings[cell.current_channel] = current / cell.current_A_per_V
        else:
            current = v1 * cell.galvanostat_A_per_V
            if self.in_contact():
                potential = fake.galvanostat_rest_V + current * fake.galvanostat_resistance_ohm
                readings[cell.potential_channel] = (
                    (potential - cell.reference_offset_V) / cell.potential_V_per_V)
            else:
                readings[cell.potential_channel] = fake.overload_V
        return {name: _adc(volts) for name, volts in readings.items()}

    def _publish(self) -> None:
        if not self.registers:
            return
        self._set("applied_x", round(self.position["x"]))
        self._set("applied_y", round(self.position["y"]))
        self._set("applied_z", round(self.position["z"]))
        self._set("measured_current", self._inputs()[self.config.cell.current_channel])
        self._set("line_number", self.line_number)
        fifo = self.waypoint_fifo
        queued = fifo is not None and len(fifo.buffer) >= WAYPOINT_WORDS
        self._set("waiting_for_waypoints", self.line is None and not queued)

    def _emit(self) -> None:
        stall = self.faults.stall_stream_from_s
        fifo = self.sample_fifo
        if (stall is not None and self.t >= stall) or fifo is None or not fifo.started:
            return
        if len(fifo.buffer) + SAMPLE_WORDS > fifo.depth:
            self.samples_dropped += 1
            return
        words = [0] * SAMPLE_WORDS
        layout = self.config.samples
        inputs = self._inputs()
        values = {"x_command": self.position["x"], "y_command": self.position["y"],
                  "z_command": self.position["z"], "v1": self.position["v1"],
                  "v2": self.position["v2"], "x_readback": self.position["x"],
                  "y_readback": self.position["y"], "z_readback": self.position["z"], **inputs}
        for name, word in layout.channels.items():
            words[word] = round(values[name])
        high, low = encode_timestamp(self.ticks, encoding=layout.timestamp_encoding)
        words[layout.timestamp_high], words[layout.timestamp_low] = int(high), int(low)
        fifo.buffer.extend(words)
        self.samples_emitted += 1


def _adc(volts: float) -> int:
    return int(np.clip(round(volts / (10 / 32768)), I16_MIN, I16_MAX))


# --- the nifpga API ---------------------------------------------------------------------------

class FakeRegister:
    """A control or indicator, converting through its ctypes type like nifpga does."""

    def __init__(self, target: FakeTarget, name: str, datatype: nifpga.DataType,
                 indicator: bool) -> None:
        self._target = target
        self.name = name
        self.datatype = datatype
        self.indicator = indicator
        self.default = False if datatype is nifpga.DataType.Bool else 0
        self.value = self.default
        self.writes: list = []

    def read(self):
        self._target.advance()
        if self.datatype is nifpga.DataType.Bool:
            return bool(self.value)
        return self.value

    def write(self, data) -> None:
        self._target.advance()
        self.value = self.datatype._return_ctype()(data).value
        self.writes.append(self.value)


class FakeFifo:
    """A DMA FIFO of I16 elements between the host and the fake target."""

    def __init__(self, target: FakeTarget, name: str, datatype: nifpga.DataType,
                 host_to_target: bool) -> None:
        self._target = target
        self.name = name
        self.datatype = datatype
        self.host_to_target = host_to_target
        self.depth = 1024
        self.started = False
        self.buffer: deque[int] = deque()
        self.reads: list[int] = []

    def configure(self, requested_depth: int) -> int:
        self.depth = int(requested_depth)
        return self.depth

    def start(self) -> None:
        self._target.advance()
        self.started = True

    def stop(self) -> None:
        self._target.advance()
        self.started = False
        self.buffer.clear()

    def write(self, data, timeout_ms: int = 0) -> int:
        if not self.host_to_target:
            raise _error(nifpga.InvalidParameterError, "NiFpga_WriteFifoI16", self.name)
        self._target.advance()
        self.started = True
        data = list(data) if np.iterable(data) else [data]
        values = (ctypes.c_int16 * len(data))(*data)[:]
        self._wait(timeout_ms, lambda: self.depth - len(self.buffer) >= len(values),
                   "NiFpga_WriteFifoI16")
        self.buffer.extend(values)
        return self.depth - len(self.buffer)

    def read(self, number_of_elements: int, timeout_ms: int = 0) -> ReadValues:
        if self.host_to_target:
            raise _error(nifpga.InvalidParameterError, "NiFpga_ReadFifoI16", self.name)
        self._target.advance()
        self.started = True
        self._wait(timeout_ms, lambda: len(self.buffer) >= number_of_elements,
                   "NiFpga_ReadFifoI16")
        data = [self.buffer.popleft() for _ in range(number_of_elements)]
        self.reads.append(number_of_elements)
        return ReadValues(data=data, elements_remaining=len(self.buffer))

    def _wait(self, timeout_ms: int, ready, function: str) -> None:
        clock, target = self._target.clock, self._target
        end = clock.now + max(timeout_ms, 0) / 1e3
        while not ready():
            if clock.now >= end:
                raise _error(nifpga.FifoTimeoutError, function, self.name)
            clock.sleep(min(target.period_s, end - clock.now))
            target.advance()


def _error(kind, function: str, fifo: str):
    return kind(function, ["session", "fifo"], (0x1, fifo))


class FakeSession:
    """``nifpga.Session`` over a :class:`FakeTarget`."""

    def __init__(self, target: FakeTarget, bitfile, resource: str, no_run: bool = False,
                 reset_if_last_session_on_exit: bool = False, **kwargs) -> None:
        if resource not in ("RIO0", "rio://localhost/RIO0"):
            raise _error(nifpga.InvalidResourceNameError, "NiFpga_Open", resource)
        if not isinstance(bitfile, nifpga.Bitfile):
            bitfile = nifpga.Bitfile(str(bitfile))
        self.target = target
        self.bitfile = bitfile
        self.closed = False
        self._reset_on_exit = reset_if_last_session_on_exit
        self._registers = {name: FakeRegister(target, name, reg.datatype, reg.is_indicator)
                           for name, reg in bitfile.registers.items() if not reg.is_internal()}
        self._fifos = {}
        directions = {spec.name: logical == "waypoints" for logical, spec in target.config.fifos}
        for name, fifo in bitfile.fifos.items():
            self._fifos[name] = FakeFifo(target, name, fifo.datatype, directions.get(name, False))
        target.registers = self._registers
        target.waypoint_fifo = self._fifos.get(target.config.fifos.waypoints.name)
        target.sample_fifo = self._fifos.get(target.config.fifos.samples.name)
        target.reset()
        if not no_run:
            target.run()

    @property
    def registers(self) -> dict[str, FakeRegister]:
        self._check_open()
        return self._registers

    @property
    def fifos(self) -> dict[str, FakeFifo]:
        self._check_open()
        return self._fifos

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, exception_type, exception_value, trace) -> None:
        self.close(reset_if_last_session=self._reset_on_exit)

    def run(self, wait_until_done: bool = False) -> None:
        self._check_open()
        self.target.run()

    def abort(self) -> None:
        self._check_open()
        self.target.abort()

    def reset(self) -> None:
        self._check_open()
        self.target.reset()

    def download(self) -> None:
        self._check_open()
        self.target.reset()

    def close(self, reset_if_last_session: bool = False) -> None:
        self._check_open()
        self.target.abort()
        if reset_if_last_session:
            self.target.reset()
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise _error(nifpga.InvalidSessionError, "NiFpga_Close", "session")


class FakeNiFpga:
    """A fake FPGA card: ``Session(...)`` opens sessions on one simulated target."""

    def __init__(self, config: FpgaConfig, clock: FakeClock, **target_options) -> None:
        self.target = FakeTarget(config, clock, **target_options)
        self.sessions: list[FakeSession] = []

    def Session(self, bitfile, resource, no_run=False, reset_if_last_session_on_exit=False,
                **kwargs) -> FakeSession:
        session = FakeSession(self.target, bitfile, resource, no_run=no_run,
                              reset_if_last_session_on_exit=reset_if_last_session_on_exit,
                              **kwargs)
        self.sessions.append(session)
        return session

    def factory(self, config: FpgaConfig) -> FakeSession:
        """The backend's ``session_factory``: like ``open_nifpga_session``."""
        return self.Session(str(config.bitfile), config.resource, no_run=True,
                            reset_if_last_session_on_exit=False)
