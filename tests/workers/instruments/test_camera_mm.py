"""The Micro-Manager camera backend, run on pymmcore-plus's own UniMMCore with a pure-Python
camera device (no Micro-Manager adapters needed): real core calls, real circular buffer."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pymmcore_plus.experimental.unicore import CameraDevice, UniMMCore

from workers.instruments.camera_mm import (
    MicroManagerCamera,
    count_dropped_frames,
    frame_times_monotonic_s,
)
from workers.instruments.protocols import InstrumentError, InstrumentTimeout

SHAPE = (8, 10)
#: generous bound on thread scheduling delays on a loaded 2-core machine (s)
SLACK_S = 0.15


class ScriptedCamera(CameraDevice):
    """Yields one frame per entry of ``gaps_s`` (frame i is filled with i * 100 + pixel index)
    after sleeping that long, stamped with the nominal time since start in µs; then the
    sequence ends. ``hang`` blocks the sequence without a frame until ``release`` is set."""

    def __init__(self, gaps_s=(), *, shape=SHAPE, dtype=np.uint16, hang=False, stamps_us=None):
        super().__init__()
        self.gaps_s = list(gaps_s)
        self.stamps_us = stamps_us
        self._shape = shape
        self._dtype = dtype
        self._exposure_ms = 10.0
        self.hang = hang
        self.release = threading.Event()
        self.done = threading.Event()

    def get_exposure(self) -> float:
        return self._exposure_ms

    def set_exposure(self, exposure: float) -> None:
        self._exposure_ms = exposure

    def shape(self):
        return self._shape

    def dtype(self):
        return self._dtype

    def start_sequence(self, n, get_buffer):
        if self.hang:
            self.release.wait()
            return
        pattern = np.arange(np.prod(self._shape)).reshape(self._shape)
        nominal_s = 0.0
        for index, gap_s in enumerate(self.gaps_s):
            time.sleep(gap_s)
            nominal_s += gap_s
            buffer = get_buffer(self._shape, self._dtype)
            buffer[:] = index * 100 + pattern
            stamp_us = round(nominal_s * 1e6) if self.stamps_us is None else self.stamps_us[index]
            yield {"TestStamp-us": str(stamp_us)}
        self.done.set()


@pytest.fixture
def make_camera():
    """A MicroManagerCamera on a UniMMCore holding one ScriptedCamera; hung cameras are
    released afterwards."""
    devices = []

    def make(device: ScriptedCamera, **options):
        core = UniMMCore()
        core.loadPyDevice("IRM", device)
        core.initializeDevice("IRM")
        core.setCameraDevice("IRM")
        devices.append(device)
        options.setdefault("exposure_ms", 20.0)
        return MicroManagerCamera(core, **options), core

    yield make
    for device in devices:
        device.release.set()


def wait_for(event: threading.Event) -> None:
    assert event.wait(5.0), "the scripted camera did not finish within 5 s"


def test_frames_and_camera_stamps_come_back_in_order(make_camera):
    gaps_s = [0.03, 0.05, 0.02, 0.04, 0.06, 0.03]
    stamps_s = np.cumsum(gaps_s)
    device = ScriptedCamera(gaps_s)
    camera, core = make_camera(device, exposure_ms=25.0, timestamp_key="TestStamp-us",
                               timestamp_unit_s=1e-6)
    assert core.getExposure() == 25.0

    camera.start_sequence(0.03)
    wait_for(device.done)
    movie = camera.stop_sequence()

    assert movie.frames.dtype == np.uint16
    assert movie.frames.shape == (6, *SHAPE)
    assert_array_equal(movie.frames[:, 0, 0], [0, 100, 200, 300, 400, 500])
    assert_array_equal(movie.frames[3], 300 + np.arange(80).reshape(SHAPE))
    # the spacing is the camera's own, to the µs
    assert_allclose(np.diff(movie.times_s), np.diff(stamps_s), atol=1e-9)
    # a frame cannot be shown before its nominal time since the start, nor long after it
    assert np.all(movie.times_s >= stamps_s - 1e-9)
    assert np.all(movie.times_s <= stamps_s + SLACK_S)
    assert movie.dropped == 0
    assert movie.pixel_size_nm is None  # the core has no pixel size calibration


def test_core_elapsed_times_follow_the_real_frame_spacing(make_camera):
    gaps_s = [0.04, 0.08, 0.04, 0.12]
    device = ScriptedCamera(gaps_s)
    camera, _ = make_camera(device)

    before = time.monotonic()
    camera.start_sequence(0.05)
    wait_for(device.done)
    movie = camera.stop_sequence()
    after = time.monotonic()

    assert movie.frames.shape[0] == 4
    assert np.all(np.diff(movie.times_s) > 0)
    assert_allclose(np.diff(movie.times_s), np.diff(np.cumsum(gaps_s)), atol=0.03)
    assert movie.times_s[0] >= 0.04 - 1e-3
    assert movie.times_s[-1] <= after - before


def test_time_zero_and_clock_offset_shift_every_frame(make_camera):
    device = ScriptedCamera([0.02, 0.02])
    camera, _ = make_camera(device, timestamp_key="TestStamp-us", timestamp_unit_s=1e-6,
                            clock_offset_s=-0.25)
    start = time.monotonic()
    camera.start_sequence(0.02, time_zero_monotonic_s=start + 100.0)
    camera.set_time_zero(start - 3.0)  # the electrochemistry started 3 s before the camera
    wait_for(device.done)
    movie = camera.stop_sequence()

    shift_s = 3.0 - 0.25
    assert np.all(movie.times_s - shift_s >= np.array([0.02, 0.04]) - 1e-9)
    assert np.all(movie.times_s - shift_s <= np.array([0.02, 0.04]) + SLACK_S)


def test_frames_lost_to_buffer_overflow_are_counted(make_camera):
    # 256 KiB frames in a 1 MiB buffer that nobody empties until the stop: only the last
    # four of twenty survive, and the core's image numbers say sixteen were lost
    device = ScriptedCamera([0.0] * 20, shape=(256, 512))
    camera, core = make_camera(device, buffer_mb=1, drain_interval_s=60.0)

    camera.start_sequence(0.0)
    wait_for(device.done)
    movie = camera.stop_sequence()

    assert core.isBufferOverflowed()
    assert movie.frames.shape == (4, 256, 512)
    assert_array_equal(movie.frames[:, 0, 0], [1600, 1700, 1800, 1900])
    assert movie.dropped == 16


def test_pixel_size_comes_from_the_core_unless_given(make_camera):
    device = ScriptedCamera([0.01])
    camera, core = make_camera(device)
    core.definePixelSizeConfig("60x")
    core.setPixelSizeUm("60x", 0.0425)
    core.setPixelSizeConfig("60x")
    camera.start_sequence(0.01)
    wait_for(device.done)
    assert camera.stop_sequence().pixel_size_nm == pytest.approx(42.5)

    device = ScriptedCamera([0.01])
    camera, core = make_camera(device, pixel_size_nm=40.0)
    camera.start_sequence(0.01)
    wait_for(device.done)
    assert camera.stop_sequence().pixel_size_nm == 40.0


def test_stop_with_a_hung_camera_times_out_and_the_camera_is_unusable(make_camera):
    camera, _ = make_camera(ScriptedCamera(hang=True), timeout_s=0.3)
    camera.start_sequence(0.1)

    started = time.monotonic()
    with pytest.raises(InstrumentTimeout,
                       match=r"camera 'IRM': stopping the sequence did not return within its "
                             r"0.30 s deadline"):
        camera.stop_sequence()
    assert time.monotonic() - started < 0.3 + SLACK_S
    with pytest.raises(InstrumentError, match="camera 'IRM' is unusable"):
        camera.start_sequence(0.1)


def test_a_sequence_without_frames_gives_an_empty_stack(make_camera):
    device = ScriptedCamera([])
    camera, _ = make_camera(device)
    camera.start_sequence(0.1)
    wait_for(device.done)
    movie = camera.stop_sequence()
    assert movie.frames.shape == (0, *SHAPE)
    assert movie.frames.dtype == np.uint16
    assert movie.times_s.shape == (0,)
    assert movie.dropped == 0


def test_misuse_and_unsupported_pixel_formats_are_refused(make_camera):
    device = ScriptedCamera([0.01])
    camera, _ = make_camera(device)
    with pytest.raises(InstrumentError, match="stop_sequence without start_sequence"):
        camera.stop_sequence()
    camera.start_sequence(0.01)
    with pytest.raises(InstrumentError, match="already acquiring"):
        camera.start_sequence(0.01)
    wait_for(device.done)
    camera.stop_sequence()

    camera, _ = make_camera(ScriptedCamera([0.01], dtype=np.uint32))
    with pytest.raises(InstrumentError,
                       match=r"camera 'IRM' gives 1 component\(s\) of 4 byte\(s\) per pixel"):
        camera.start_sequence(0.01)
    with pytest.raises(InstrumentError, match="exposure -1 ms must be positive"):
        make_camera(ScriptedCamera(), exposure_ms=-1)


def test_a_camera_stamp_running_backwards_is_refused(make_camera):
    device = ScriptedCamera([0.01, 0.01, 0.01], stamps_us=[4_294_967_000, 4_294_967_200, 100])
    camera, _ = make_camera(device, timestamp_key="TestStamp-us", timestamp_unit_s=1e-6)
    camera.start_sequence(0.01)
    wait_for(device.done)
    with pytest.raises(InstrumentError,
                       match=r"camera 'IRM': TestStamp-us runs backwards \(\[4294.967, "
                             r"4294.9672, 0.0001\] s...\); a stamp that wraps around"):
        camera.stop_sequence()


def test_close_stops_a_running_sequence(make_camera):
    camera, core = make_camera(ScriptedCamera([0.01] * 200))
    camera.start_sequence(0.01)
    time.sleep(0.05)
    assert core.isSequenceRunning()
    camera.close()
    assert not core.isSequenceRunning()


def test_count_dropped_frames_from_image_numbers():
    assert count_dropped_frames(np.array([0, 1, 2, 3]), overflowed=False) == 0
    assert count_dropped_frames(np.array([0, 1, 4, 5, 9]), overflowed=False) == 5
    assert count_dropped_frames(np.array([3, 4]), overflowed=False) == 3  # lost the first
    # a frame the buffer refused gets no number: an overflow is one lost frame at least
    assert count_dropped_frames(np.array([0, 1, 2]), overflowed=True) == 1
    assert count_dropped_frames(np.array([0, 2]), overflowed=True) == 1
    assert count_dropped_frames(np.array([], dtype=int), overflowed=False) == 0
    with pytest.raises(InstrumentError, match="not increasing"):
        count_dropped_frames(np.array([0, 2, 1]), overflowed=False)


def test_frame_times_take_the_tightest_offset():
    rng = np.random.default_rng(7)
    true_s = np.cumsum(rng.uniform(0.2, 0.26, 50)) + 1234.5  # host clock
    stamps_s = true_s - 1234.5 + 88.0  # another zero altogether
    latency_s = rng.exponential(0.01, 50) + 0.001
    latency_s[17] = 0.0002
    received_s = true_s + latency_s
    assert_allclose(frame_times_monotonic_s(stamps_s, received_s), true_s + 0.0002,
                    rtol=0, atol=1e-9)
    assert frame_times_monotonic_s(np.array([]), np.array([])).shape == (0,)
    with pytest.raises(ValueError, match="must be equal 1-D"):
        frame_times_monotonic_s(np.zeros(3), np.zeros(4))


def test_importing_the_backend_does_not_import_pymmcore_plus():
    code = ("import sys, workers.instruments.camera_mm; "
            "sys.exit('pymmcore_plus' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


@pytest.mark.skipif(not os.environ.get("MENISCUS_HW_CAMERA"),
                    reason="MENISCUS_HW_CAMERA=<Micro-Manager .cfg> names no camera")
def test_real_camera_records_a_short_sequence():
    camera = MicroManagerCamera(config_file=os.environ["MENISCUS_HW_CAMERA"], exposure_ms=50.0)
    camera.start_sequence(0.1)
    time.sleep(1.0)
    movie = camera.stop_sequence()
    assert movie.frames.ndim == 3 and movie.frames.shape[0] >= 3
    assert movie.frames.dtype == np.uint16
    assert np.all(np.diff(movie.times_s) > 0)
    assert movie.dropped == 0
