"""The PI stage backend, driven through the real pipython (GCSDevice over its TCP interface)
against a small simulated GCS 2 controller on a local socket: axes that move at the set
velocity, on-target flags, HLT with its error 10, and fault knobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from workers.instruments.protocols import InstrumentError, StageError, Stopped
from workers.instruments.stage_pi import PiStage, TravelLimitError, parse_connection

AXES = ("1", "2", "3")
#: commands the simulated controller lists in HLP? (pipython's Has* asks for them)
HELP = ("*IDN?", "CSV?", "ERR?", "HLP?", "HLT", "MOV", "ONT?", "POS?", "PUN?", "SAI?", "SVO",
        "SVO?", "TMN?", "TMX?", "VCO", "VEL", "VEL?")


class SimulatedController:
    """A GCS 2 controller (in the manner of an E-727) serving one client on a local port.

    Axes move in a straight line at their VEL; ``stuck`` axes stop halfway and never get on
    target; ``tmx_um`` is the controller's upper travel limit. ``log`` keeps every command.
    """

    def __init__(self, *, stuck=(), tmx_um=100.0, servo_on=False, units="UM", help=HELP):
        self.stuck = set(stuck)
        self.units = units
        self.help = help
        self.log: list[str] = []
        self.stages: list[PiStage] = []
        self.error = 0
        self.axes = {axis: {"pos": 10.0, "from": 10.0, "target": 10.0, "t0": 0.0,
                            "vel": 1.0, "servo": servo_on, "vco": False} for axis in AXES}
        self.tmn_um, self.tmx_um = 0.0, tmx_um
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._server.close()

    def commands(self, name):
        return [line for line in self.log if line.split()[0] == name]

    # --- motion -------------------------------------------------------------------------
    def position(self, axis, now=None):
        state = self.axes[axis]
        now = time.monotonic() if now is None else now
        span = state["target"] - state["from"]
        travelled = min(state["vel"] * (now - state["t0"]), abs(span))
        if axis in self.stuck:
            travelled = min(travelled, abs(span) / 2)
        return state["from"] + (travelled if span >= 0 else -travelled)

    def on_target(self, axis):
        return abs(self.position(axis) - self.axes[axis]["target"]) < 1e-9

    # --- protocol -----------------------------------------------------------------------
    def _serve(self):
        try:
            connection, _ = self._server.accept()
        except OSError:
            return
        with connection:
            buffer = b""
            while True:
                try:
                    data = connection.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    answer = self._handle(line.decode().strip())
                    if answer is not None:
                        connection.sendall(answer.encode())

    @staticmethod
    def _lines(items):
        return " \n".join(items) + "\n"

    def _handle(self, line):
        with self._lock:
            self.log.append(line)
            command, *args = line.split()
            pairs = list(zip(args[::2], args[1::2], strict=False))
            now = time.monotonic()
            if command == "ERR?":
                error, self.error = self.error, 0
                return f"{error}\n"
            if command == "*IDN?":
                return "(c)2025 Physik Instrumente (PI) GmbH & Co. KG, E-727, 0, 1.0\n"
            if command == "CSV?":
                return "2.0\n"
            if command == "HLP?":
                return self._lines(["The following commands are available:",
                                    *[f"{name} <args>" for name in self.help], "end of help"])
            if command == "SAI?":
                return self._lines(AXES)
            queries = {"POS?": lambda axis: f"{self.position(axis, now):.6f}",
                       "ONT?": lambda axis: str(int(self.on_target(axis))),
                       "SVO?": lambda axis: str(int(self.axes[axis]["servo"])),
                       "VEL?": lambda axis: f"{self.axes[axis]['vel']:.6f}",
                       "TMN?": lambda axis: f"{self.tmn_um:.6f}",
                       "TMX?": lambda axis: f"{self.tmx_um:.6f}",
                       "PUN?": lambda axis: self.units}
            if command in queries:
                if command.rstrip("?") not in {name.rstrip("?") for name in self.help}:
                    self.error = 2
                    return None  # a real controller answers nothing to an unknown query
                return self._lines([f"{axis}={queries[command](axis)}" for axis in args or AXES])
            if command == "SVO":
                for axis, value in pairs:
                    self.axes[axis]["servo"] = value == "1"
            elif command == "VCO":
                for axis, value in pairs:
                    self.axes[axis]["vco"] = value == "1"
            elif command == "VEL":
                for axis, value in pairs:
                    self.axes[axis]["vel"] = float(value)
            elif command == "MOV":
                if not all(self.axes[axis]["servo"] for axis, _ in pairs):
                    self.error = 5
                elif not all(self.tmn_um <= float(value) <= self.tmx_um for _, value in pairs):
                    self.error = 7
                else:
                    for axis, value in pairs:
                        state = self.axes[axis]
                        state.update({"from": self.position(axis, now), "target": float(value),
                                      "t0": now})
            elif command == "HLT":
                for axis in args or AXES:
                    here = self.position(axis, now)
                    self.axes[axis].update({"from": here, "target": here, "t0": now})
                self.error = 10
            else:
                self.error = 2
            return None


@pytest.fixture
def controller():
    made = []

    def make(**faults):
        made.append(SimulatedController(**faults))
        return made[-1]

    yield make
    for sim in made:
        for stage in sim.stages:
            stage.close()
        sim.close()


def connect(sim, **options):
    options.setdefault("velocity_um_s", 200.0)
    stage = PiStage(connection=("tcpip", "127.0.0.1", sim.port), **options)
    sim.stages.append(stage)
    return stage


def never():
    return False


def test_connecting_turns_the_servos_on_and_sets_the_velocity(controller):
    sim = controller()
    stage = connect(sim, velocity_um_s=250.0)
    assert all(sim.axes[axis]["servo"] for axis in AXES)
    assert all(sim.axes[axis]["vco"] for axis in AXES)
    assert [sim.axes[axis]["vel"] for axis in AXES] == [250.0] * 3
    assert stage.position_um() == (10.0, 10.0, 10.0)


def test_a_move_reaches_its_target(controller):
    sim = controller()
    stage = connect(sim)

    started = time.monotonic()
    stage.move_to_um(30.0, 4.0, should_stop=never)
    took = time.monotonic() - started

    assert stage.position_um() == pytest.approx((30.0, 4.0, 10.0), abs=1e-6)
    assert sim.commands("MOV") == ["MOV 1 30 2 4"]
    assert sim.commands("HLT") == []
    assert 20.0 / 200.0 <= took < 20.0 / 200.0 + 0.5  # it waited for the motion, no longer


def test_a_target_outside_the_travel_is_refused_before_anything_moves(controller):
    sim = controller()
    stage = connect(sim)
    with pytest.raises(TravelLimitError,
                       match=r"^PI stage tcpip:127.0.0.1:\d+: y target 100.500 µm is outside the "
                             r"travel of axis '2', 0.000 to 100.000 µm; nothing moved$"):
        stage.move_to_um(50.0, 100.5, should_stop=never)
    with pytest.raises(TravelLimitError, match="x target -0.200 µm is outside"):
        stage.move_to_um(-0.2, 50.0, should_stop=never)
    with pytest.raises(TravelLimitError, match="x target nan µm is not a number"):
        stage.move_to_um(float("nan"), 50.0, should_stop=never)
    assert sim.commands("MOV") == []
    assert stage.position_um() == (10.0, 10.0, 10.0)


def test_the_controller_range_narrows_the_configured_travel(controller):
    sim = controller(tmx_um=80.0)
    stage = connect(sim, travel_um=100.0)
    with pytest.raises(TravelLimitError, match="x target 90.000 µm .* 0.000 to 80.000 µm"):
        stage.move_to_um(90.0, 10.0, should_stop=never)
    assert sim.commands("MOV") == []


def test_a_stuck_axis_times_out_and_is_halted(controller):
    sim = controller(stuck={"2"})
    stage = connect(sim, velocity_um_s=400.0, settle_s=0.0)
    started = time.monotonic()
    # 40 µm at 400 µm/s: 0.1 s nominal, 0.1 * 1.5 + 2 = 2.15 s allowed
    with pytest.raises(StageError,
                       match=r"not on target \(10.000, 50.000\) µm within its 2.15 s deadline "
                             r"\(40.000 µm at 400 µm/s\); halted at \(10.000, 30.000\) µm"):
        stage.move_to_um(10.0, 50.0, should_stop=never)
    assert 2.15 <= time.monotonic() - started < 2.15 + 0.5
    assert sim.commands("HLT") == ["HLT 1 2 3"]


def test_should_stop_halts_the_move_at_once(controller):
    sim = controller()
    stage = connect(sim, velocity_um_s=20.0)  # 80 µm take 4 s
    asked = []

    def stop_after_a_while():
        asked.append(time.monotonic())
        return len(asked) > 3

    started = time.monotonic()
    with pytest.raises(Stopped, match=r"move to \(90.000, 10.000\) µm stopped"):
        stage.move_to_um(90.0, 10.0, should_stop=stop_after_a_while)
    assert time.monotonic() - started < 0.5
    assert sim.commands("HLT") == ["HLT 1 2 3"]
    x_um, _, _ = stage.position_um()
    assert 10.0 < x_um < 20.0  # halted on the way, and it stays there
    time.sleep(0.1)
    assert stage.position_um()[0] == x_um


def test_controller_errors_become_stage_errors(controller):
    sim = controller()
    stage = connect(sim)
    sim.axes["1"]["servo"] = False  # someone switched the servo off behind our back
    with pytest.raises(StageError, match=r"MOV \{'1': 20.0, '2': 20.0\} failed: Unallowable "
                                         r"move .* with servo off 5$"):
        stage.move_to_um(20.0, 20.0, should_stop=never)


def test_setup_refuses_wrong_units_and_missing_axes(controller):
    with pytest.raises(StageError, match=r"axes report units \{'1': 'MM', '2': 'MM'\}"):
        connect(controller(units="MM"), axes=("1", "2"))
    with pytest.raises(StageError, match=r"axes \['4'\] not among the controller's"):
        connect(controller(), axes=("1", "2", "4"))


def test_a_controller_without_optional_commands_still_works(controller):
    basic = tuple(name for name in HELP if name not in {"PUN?", "TMN?", "TMX?", "VCO", "VEL"})
    sim = controller(help=basic, servo_on=True)
    stage = connect(sim, axes=("1", "2"))
    stage.move_to_um(10.5, 9.5, should_stop=never)
    assert stage.position_um()[:2] == pytest.approx((10.5, 9.5), abs=1e-6)
    assert not any(line.startswith(("PUN?", "TMN?", "VCO", "VEL", "SVO ")) for line in sim.log)


def test_parse_connection():
    assert parse_connection("tcpip:192.168.0.10:50001") == ("tcpip", "192.168.0.10", 50001)
    assert parse_connection("tcpip:nanocube") == ("tcpip", "nanocube", 50000)
    assert parse_connection("usb:0119012345") == ("usb", "0119012345")
    assert parse_connection("rs232:COM4:115200") == ("rs232", "COM4", 115200)
    for bad in ("tcpip", "rs232:COM4", "rs232:COM4:fast", "gpib:1"):
        with pytest.raises(InstrumentError, match=f"PI connection '{bad}' is not"):
            parse_connection(bad)
    with pytest.raises(InstrumentError, match=r"PI connection \('usb',\) is not"):
        PiStage(connection=("usb",))


def test_importing_the_backend_does_not_import_pipython():
    code = "import sys, workers.instruments.stage_pi; sys.exit('pipython' in sys.modules)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


@pytest.mark.skipif(not os.environ.get("MENISCUS_HW_PI"),
                    reason="MENISCUS_HW_PI=<tcpip:HOST:PORT | usb:SERIAL | rs232:PORT:BAUD> "
                           "names no controller")
def test_real_controller_reads_and_holds_its_position():
    # only a zero-length move: the pipette may be near the surface
    stage = PiStage(connection=parse_connection(os.environ["MENISCUS_HW_PI"]))
    try:
        x_um, y_um, _ = stage.position_um()
        stage.move_to_um(x_um, y_um, should_stop=never)
        assert stage.position_um()[:2] == pytest.approx((x_um, y_um), abs=0.05)
        with pytest.raises(TravelLimitError):
            stage.move_to_um(stage.high_um[stage.axes[0]] + 1.0, y_um, should_stop=never)
    finally:
        stage.close()
