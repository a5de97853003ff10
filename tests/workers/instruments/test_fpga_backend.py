"""The nifpga backend against the fake card: contact, measurements, faults, stops, deadlines.

Time is simulated (:class:`FakeClock`): a 5 s measurement takes milliseconds of test time and
every duration below is exact simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.workers.instruments.fake_nifpga import (
    FakeCell,
    FakeClock,
    FakeNiFpga,
    FakeTarget,
    TargetFaults,
    write_bitfile,
)
from workers.instruments.fpga.backend import (
    EmergencyStopLatched,
    FpgaInstrument,
    MeasurementTimeout,
    StageTimeout,
)
from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.protocol import CLOCK_HZ
from workers.instruments.protocols import (
    POLL_INTERVAL_S,
    Frames,
    InstrumentError,
    InstrumentTimeout,
    MeasurementError,
    StageError,
    Stopped,
    deadline_s,
)

PERIOD_S = 2.57e-3
UM_PER_COUNT = 10 / 32768 * 10


def never() -> bool:
    return False


@dataclass
class Rig:
    instrument: FpgaInstrument
    fake: FakeNiFpga
    clock: FakeClock
    config: FpgaConfig

    @property
    def target(self) -> FakeTarget:
        return self.fake.target

    def register(self, logical: str):
        spec = getattr(self.config.registers, logical)
        return self.fake.sessions[-1].registers[spec.name]

    def land(self, speed_um_s: float = 2.0, max_travel_um: float = 12.0):
        approach = self.instrument.approach(speed_um_s=speed_um_s, max_travel_um=max_travel_um,
                                            should_stop=never)
        assert approach.contact
        return approach


@pytest.fixture
def rig(tmp_path):
    def make(mode: str = "galvanostat", *, camera=None, open_: bool = True, config=None,
             **target_options) -> Rig:
        config = FpgaConfig(bitfile=tmp_path / "wec.lvbitx",
                            **{"cell": {"mode": mode}, **(config or {})})
        write_bitfile(config.bitfile, config)
        clock = FakeClock()
        fake = FakeNiFpga(config, clock, **{"surface_z_um": 3.0, **target_options})
        instrument = FpgaInstrument(config, session_factory=fake.factory, camera=camera,
                                    clock=clock.monotonic, sleep=clock.sleep)
        if open_:
            instrument.open()
        return Rig(instrument, fake, clock, config)

    return make


GALVANOSTATIC = {"technique": "galvanostatic", "current_A": 5e-9, "duration_s": 1.0}


# --- opening and moving --------------------------------------------------------------------


def test_opening_runs_the_vi_with_outputs_at_rest_and_comparators_neutralised(rig):
    r = rig()
    assert r.target.running
    assert r.register("external_stop").read() is False
    assert r.register("feedback_threshold").read() == 32768
    assert r.register("feedback_threshold_2").read() == 32768
    assert r.register("greater_than").read() is True
    assert r.target.position["v1"] == 0 and r.target.position["v2"] == 0
    assert r.instrument.position_um() == pytest.approx((0x3FFF * UM_PER_COUNT,) * 2 + (0.0,))
    assert r.instrument.is_safe()


def test_a_bitfile_that_does_not_match_is_refused_before_a_session_opens(rig, tmp_path):
    r = rig(open_=False)
    write_bitfile(r.config.bitfile, r.config, retype={"Feedback_Threshold": "I16"})
    with pytest.raises(InstrumentError, match="'Feedback_Threshold' \\(feedback_threshold\\) "
                                              "is I16, the config expects I32"):
        r.instrument.open()
    assert r.fake.sessions == []


def test_opening_the_real_nifpga_session_fails_cleanly_without_driver_or_card(rig):
    # no libNiFpga here (or, on a lab PC, no such resource): an InstrumentError, not a crash
    r = rig(open_=False, config={"resource": "RIO_MENISCUS_TEST_ABSENT"})
    instrument = FpgaInstrument(r.config)
    with pytest.raises(InstrumentError, match="opening the FPGA session: FPGA error"):
        instrument.open()


def test_a_lateral_move_reaches_its_target_in_distance_over_speed(rig):
    r = rig(config={"motion": {"move_speed_um_s": 20.0}})
    x0, y0, _ = r.instrument.position_um()
    start = r.clock.now
    r.instrument.move_to_um(20.0, 30.0, should_stop=never)
    x, y, _ = r.instrument.position_um()
    assert (x, y) == pytest.approx((20.0, 30.0), abs=UM_PER_COUNT)
    nominal = np.hypot(x0 - 20.0, y0 - 30.0) / 20.0
    assert nominal < r.clock.now - start < nominal + 2 * POLL_INTERVAL_S
    with pytest.raises(StageError, match="x = 120.000 µm is outside the piezo travel"):
        r.instrument.move_to_um(120.0, 30.0, should_stop=never)


# --- approach --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["galvanostat", "potentiostat"])
def test_the_fpga_stops_the_approach_at_contact(rig, mode):
    r = rig(mode)
    approach = r.land(speed_um_s=2.0, max_travel_um=12.0)
    # the Z output stopped within one sample period of the surface, on the FPGA
    step_um = 2.0 * PERIOD_S
    assert 3.0 <= approach.z_um <= 3.0 + step_um + UM_PER_COUNT
    assert approach.travel_um == pytest.approx(approach.z_um)
    assert r.target.line is None and r.target.in_contact()
    assert r.instrument.position_um()[2] == round(r.target.position["z"]) * UM_PER_COUNT
    # the host never had to end the move, and the comparators are disarmed again
    assert -32769 not in r.register("feedback_threshold_2").writes
    assert r.register("feedback_threshold").read() == 32768


def test_contact_is_seen_for_either_current_polarity(rig):
    r = rig("potentiostat", cell=FakeCell(resistance_ohm=-1e11))  # -14.7 pA at the hold
    assert r.land().z_um == pytest.approx(3.0, abs=2.0 * PERIOD_S + UM_PER_COUNT)


def test_no_contact_within_the_travel_ends_the_move_and_reports_it(rig):
    r = rig(surface_z_um=30.0)
    start = r.clock.now
    approach = r.instrument.approach(speed_um_s=2.0, max_travel_um=4.0, should_stop=never)
    assert not approach.contact
    assert approach.travel_um == pytest.approx(4.0, abs=UM_PER_COUNT)
    assert r.clock.now - start == pytest.approx(0.05 + 2.0, abs=3 * POLL_INTERVAL_S)
    writes = r.register("feedback_threshold_2").writes
    assert writes[-2:] == [-32769, 32768]  # forced to end the move, then disarmed
    assert not r.instrument.is_safe()  # lowered, hold applied: the engine retracts next
    r.instrument.retract(8.0)
    assert r.instrument.position_um()[2] == pytest.approx(0.0, abs=UM_PER_COUNT)
    assert r.instrument.is_safe()


def test_a_lateral_move_on_the_surface_is_refused(rig):
    r = rig()
    r.land()
    with pytest.raises(StageError, match="retract first"):
        r.instrument.move_to_um(10.0, 10.0, should_stop=never)


# --- measurements ------------------------------------------------------------------------------


def test_a_galvanostatic_measurement_across_a_timestamp_rollover(rig):
    r = rig()
    r.land()
    r.target.ticks = 2**32 - int(0.3 * CLOCK_HZ)  # the U32 counter wraps 0.3 s in
    measurement = r.instrument.measure(GALVANOSTATIC, area_cm2=2.8e-7, camera=None,
                                       should_stop=never)
    trace = measurement.trace
    assert r.target.ticks < 2**31  # it did wrap
    assert_allclose(np.diff(trace.time_s), PERIOD_S, rtol=1e-9)
    assert trace.time_s[0] == 0.0
    assert 1.0 - 2 * PERIOD_S < trace.time_s[-1] < 1.0
    assert_allclose(trace.current_A, -5e-9)  # cathodic: negative
    assert_allclose(trace.potential_V, 0.2 - 5e-9 * 5e7, atol=10 / 32768)
    assert measurement.metadata["sample_period_s"] == pytest.approx(PERIOD_S)
    assert trace.metadata["n_samples"] == len(trace)
    assert r.target.position["v1"] == 0  # the program ended at rest, on the FPGA


def test_a_current_density_is_applied_over_the_footprint(rig):
    r = rig()
    r.land()
    technique = {"technique": "galvanostatic", "current_density_mA_cm2": 2.0,
                 "duration_s": 0.2}
    trace = r.instrument.measure(technique, area_cm2=2.5e-6, camera=None,
                                 should_stop=never).trace
    assert_allclose(trace.current_A, -5e-9, rtol=1e-4)  # 2 mA/cm² × 2.5e-6 cm²


def test_a_cv_sweeps_between_its_vertices_in_its_sweep_time(rig):
    r = rig("potentiostat")
    r.land()
    technique = {"technique": "cv", "upper_V": 1.47, "lower_V": -0.27, "scan_rate_V_s": 1.0,
                 "cycles": 2}
    trace = r.instrument.measure(technique, area_cm2=1e-6, camera=None,
                                 should_stop=never).trace
    assert trace.time_s[-1] == pytest.approx(2 * 2 * 1.74, abs=2 * PERIOD_S)
    assert trace.potential_V.min() == pytest.approx(-0.27, abs=1e-3)
    assert trace.potential_V.max() == pytest.approx(1.47, abs=1e-3)
    assert_allclose(trace.current_A, trace.potential_V / 1e11, atol=0.4e-12)
    assert np.argmin(trace.potential_V) < len(trace) // 4  # cathodic first


def test_chronoamperometry_holds_its_potential(rig):
    r = rig("potentiostat")
    r.land()
    trace = r.instrument.measure({"technique": "chronoamperometry", "potential_V": -0.1,
                                  "duration_s": 0.5}, area_cm2=1e-6, camera=None,
                                 should_stop=never).trace
    assert_allclose(trace.potential_V, -0.1, atol=10 / 32768)
    assert_allclose(trace.current_A, -1e-12, atol=0.31e-12)
    assert 0.5 - 2 * PERIOD_S < trace.time_s[-1] < 0.5


def test_a_technique_the_cell_cannot_run_fails_before_anything_moves(rig):
    r = rig("potentiostat")
    r.land()
    lines = r.target.lines_started
    with pytest.raises(MeasurementError, match="galvanostatic needs the galvanostat, but the "
                                               "cell is configured as potentiostat"):
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None, should_stop=never)
    assert r.target.lines_started == lines


def test_long_programs_are_streamed_into_a_small_waypoint_buffer(rig):
    r = rig(config={"fifos": {"waypoints": {"name": "Host_To_FPGA_Positions",
                                            "host_depth": 4 * 14, "target_depth": 8197}}})
    r.land()
    lines = r.target.lines_started
    trace = r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None,
                                 should_stop=never).trace
    assert r.target.lines_started - lines == 32  # 31 holds of ≤ 32.767 ms + rest
    assert 1.0 - 2 * PERIOD_S < trace.time_s[-1] < 1.0


def test_samples_are_drained_in_bulk_whole_frames_at_a_time(rig):
    r = rig()
    r.land()
    seen = []
    r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None, should_stop=never,
                         on_samples=lambda trace: seen.append(len(trace)))
    reads = [n for n in r.fake.sessions[-1].fifos["FPGA_To_Host_FIFO"].reads if n]
    assert all(n % 14 == 0 for n in reads)
    assert max(reads) >= 14 * int(POLL_INTERVAL_S / PERIOD_S)
    assert seen == sorted(seen) and seen[-1] >= 389


# --- faults --------------------------------------------------------------------------------


def test_a_stalled_sample_fifo_fails_the_measurement_and_retracts(rig):
    r = rig(surface_z_um=12.0)
    r.land(speed_um_s=8.0, max_travel_um=16.0)
    r.target.faults = TargetFaults(stall_stream_from_s=r.clock.now + 0.3)
    resets, start = r.target.resets, r.clock.now
    with pytest.raises(MeasurementError, match="FPGA_To_Host_FIFO timed out: no samples for "
                                               "1.0[0-9] s \\(limit 1 s\\) during galvano"):
        r.instrument.measure({**GALVANOSTATIC, "duration_s": 5.0}, area_cm2=1e-6, camera=None,
                             should_stop=never)
    # stalled at 0.3 s: caught 1 s later (plus the retract), not after the 5 s program
    assert r.clock.now - start < 1.3 + 0.25
    assert r.target.resets == resets + 1  # the program was stopped and the VI restarted
    assert True in r.register("external_stop").writes
    assert r.instrument.position_um()[2] <= 12.0 - 8.0
    assert not r.target.in_contact()
    assert r.instrument.is_safe()


def test_a_stream_that_ends_early_fails_even_when_the_program_completes(rig):
    r = rig(surface_z_um=12.0)
    contact_z = r.land(speed_um_s=8.0, max_travel_um=16.0).z_um
    r.target.faults = TargetFaults(stall_stream_from_s=r.clock.now + 0.6)
    with pytest.raises(MeasurementError, match="FPGA_To_Host_FIFO stopped streaming at "
                                               "t = 0.5[0-9]+ s of the 1 s galvanostatic"):
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None, should_stop=never)
    assert r.instrument.position_um()[2] == pytest.approx(contact_z - 8.0, abs=UM_PER_COUNT)
    assert r.instrument.is_safe()


def test_lost_samples_fail_the_measurement(rig):
    r = rig()
    r.land()
    fifo = r.fake.sessions[-1].fifos["FPGA_To_Host_FIFO"]
    fifo.depth = 14 * 10  # the host cannot keep up: the target drops samples
    with pytest.raises(MeasurementError, match="lost samples in [0-9]+ places"):
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None, should_stop=never)
    assert r.target.samples_dropped > 0


def test_a_hung_target_times_out_a_move_within_its_deadline(rig):
    r = rig(config={"motion": {"move_speed_um_s": 20.0}})
    x0, y0, _ = r.instrument.position_um()
    r.target.faults = TargetFaults(hang_from_s=r.clock.now)
    start = r.clock.now
    with pytest.raises(StageTimeout, match="did not finish within its .* deadline") as caught:
        r.instrument.move_to_um(10.0, 10.0, should_stop=never)
    assert isinstance(caught.value, InstrumentTimeout) and isinstance(caught.value, StageError)
    deadline = deadline_s(np.hypot(x0 - 10.0, y0 - 10.0) / 20.0)
    assert deadline < r.clock.now - start <= deadline + 2 * POLL_INTERVAL_S


def test_a_hung_measurement_times_out_as_a_measurement_error(rig):
    r = rig()
    r.land()
    r.target.faults = TargetFaults(hang_from_s=r.clock.now + 0.2)
    start = r.clock.now
    with pytest.raises(MeasurementTimeout) as caught:
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None, should_stop=never)
    assert isinstance(caught.value, MeasurementError)
    # the deadline, then the cancel and the retract (a few sample periods)
    assert deadline_s(1.0) < r.clock.now - start <= deadline_s(1.0) + 0.25
    assert r.instrument.is_safe()


@pytest.mark.parametrize("action", ["measure", "approach", "move"])
def test_should_stop_is_honoured_within_100_ms(rig, action):
    r = rig(surface_z_um=30.0)
    if action == "measure":
        r.target.surface_z_um = 3.0
        r.land()
    stop_at = r.clock.now + 0.7
    stop = lambda: r.clock.now >= stop_at  # noqa: E731
    calls = {
        "measure": lambda: r.instrument.measure({**GALVANOSTATIC, "duration_s": 5.0},
                                                area_cm2=1e-6, camera=None, should_stop=stop),
        "approach": lambda: r.instrument.approach(speed_um_s=2.0, max_travel_um=12.0,
                                                  should_stop=stop),
        "move": lambda: r.instrument.move_to_um(0.0, 0.0, should_stop=stop),
    }
    with pytest.raises(Stopped):
        calls[action]()
    assert r.clock.now - stop_at <= 0.1
    assert True in r.register("external_stop").writes  # the FPGA program was stopped
    assert r.register("external_stop").read() is False  # and the VI restarted, unlatched
    r.instrument.retract(8.0)
    assert r.instrument.is_safe()


def test_the_emergency_stop_latches_until_reinitialised(rig):
    r = rig()
    r.land()
    r.instrument.emergency_stop("operator pressed stop")
    r.clock.sleep(0.01)
    assert r.register("external_stop").read() is True
    assert not r.target.running  # the VI saw the stop at its next iteration
    calls = [
        lambda: r.instrument.move_to_um(1.0, 1.0, should_stop=never),
        lambda: r.instrument.approach(speed_um_s=2.0, max_travel_um=1.0, should_stop=never),
        lambda: r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None,
                                     should_stop=never),
        lambda: r.instrument.retract(8.0),
        r.instrument.make_safe,
    ]
    for call in calls:
        with pytest.raises(EmergencyStopLatched, match="operator pressed stop.*reinitialise"):
            call()
    assert not r.instrument.is_safe()
    r.instrument.reinitialise()
    assert r.instrument.latched is None
    assert r.register("external_stop").read() is False
    r.instrument.make_safe()
    assert r.instrument.is_safe()
    r.instrument.move_to_um(10.0, 10.0, should_stop=never)


def test_an_emergency_stop_during_a_measurement_is_not_undone_by_a_restart(rig):
    r = rig()
    r.land()
    resets = r.target.resets
    stop_at = r.clock.now + 0.5

    def operator_presses_stop():  # another thread, seen by the polling loop
        if r.clock.now >= stop_at and r.instrument.latched is None:
            r.instrument.emergency_stop("e-stop button")
        return False

    with pytest.raises(EmergencyStopLatched, match="e-stop button"):
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None,
                             should_stop=operator_presses_stop)
    assert r.target.resets == resets
    assert r.register("external_stop").read() is True
    assert r.clock.now - stop_at <= 0.1


def test_close_makes_safe_and_closes_the_session(rig):
    r = rig()
    r.land()
    r.instrument.close()
    assert r.fake.sessions[-1].closed
    assert r.target.position["z"] == 0  # 8 µm above a 3 µm contact: the top of the travel
    assert r.target.position["v1"] == 0
    assert not r.target.in_contact()


# --- camera ----------------------------------------------------------------------------------


class FakeCamera:
    """Arms in 0.1 s of (simulated) time, then films one frame every 0.23 s; frame times
    count from its start_sequence."""

    def __init__(self, clock: FakeClock, *, fail_stop: bool = False,
                 fail_start: bool = False) -> None:
        self.clock, self.fail_stop, self.fail_start = clock, fail_stop, fail_start
        self.calls: list[tuple[str, float]] = []
        self.started_at = 0.0

    def start_sequence(self, interval_s: float) -> None:
        if self.fail_start:
            raise RuntimeError("no camera")
        self.calls.append(("start", interval_s))
        self.started_at = self.clock.now
        self.clock.sleep(0.1)

    def stop_sequence(self) -> Frames:
        self.calls.append(("stop", self.clock.now))
        if self.fail_stop:
            raise RuntimeError("buffer overflow")
        times = np.arange(0.0, self.clock.now - self.started_at, 0.23)
        return Frames(frames=np.zeros((times.size, 4, 4), np.uint16), times_s=times,
                      pixel_size_nm=40.0)


class ZeroedCamera(FakeCamera):
    """Like the Micro-Manager camera: frame times count from a settable time zero."""

    def set_time_zero(self, monotonic_s: float) -> None:
        self.calls.append(("zero", monotonic_s))
        self.zero_at = monotonic_s

    def stop_sequence(self) -> Frames:
        frames = super().stop_sequence()
        return Frames(frames.frames, frames.times_s + self.started_at - self.zero_at, 40.0)


@pytest.mark.parametrize("kind", [FakeCamera, ZeroedCamera])
def test_the_camera_films_the_measurement_on_its_clock(rig, kind):
    r = rig(open_=False)
    camera = kind(r.clock)
    r.instrument.camera = camera
    r.instrument.open()
    r.land()
    before = r.clock.now
    measurement = r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6,
                                       camera={"interval_s": 0.23}, should_stop=never)
    assert [c[0] for c in camera.calls if c[0] != "zero"] == ["start", "stop"]
    assert camera.calls[0][1] == 0.23
    # filming began 0.1 s (the camera arming) before the program and its first sample:
    # on the trace's clock, frame k is at 0.23 k - 0.1 s, to within a sample period or two
    times = measurement.movie.times_s
    assert times.size >= 5
    assert_allclose(times, np.arange(times.size) * 0.23 - 0.1, atol=2 * PERIOD_S)
    assert measurement.movie.pixel_size_nm == 40.0
    if kind is ZeroedCamera:
        assert camera.calls[-2] == ("zero", pytest.approx(before + 0.1, abs=2 * PERIOD_S))
    no_film = r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera=None,
                                   should_stop=never)
    assert no_film.movie is None and camera.calls[-1][0] == "stop"


def test_a_camera_that_fails_to_stop_keeps_the_trace(rig):
    r = rig(open_=False)
    r.instrument.camera = FakeCamera(r.clock, fail_stop=True)
    r.instrument.open()
    r.land()
    measurement = r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera={},
                                       should_stop=never)
    assert measurement.movie is None
    assert measurement.metadata["camera_error"] == "RuntimeError: buffer overflow"
    assert len(measurement.trace) > 300


def test_a_camera_that_fails_to_start_fails_the_measurement_before_it_runs(rig):
    r = rig(open_=False)
    r.instrument.camera = FakeCamera(r.clock, fail_start=True)
    r.instrument.open()
    r.land()
    lines = r.target.lines_started
    with pytest.raises(MeasurementError, match="the camera did not start: no camera"):
        r.instrument.measure(GALVANOSTATIC, area_cm2=1e-6, camera={}, should_stop=never)
    assert r.target.lines_started == lines
