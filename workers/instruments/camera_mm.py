"""The IRM camera through Micro-Manager's core, driven from Python by pymmcore-plus.

``pymmcore_plus`` is imported only when :class:`MicroManagerCamera` builds its own core, so
importing this module costs nothing on a machine without Micro-Manager.

Lifecycle of one camera object::

    idle --start_sequence--> acquiring --stop_sequence--> idle
                                 |              |
                                 |              +-- core hung past its deadline:
                                 |                  InstrumentTimeout --> failed
                                 +-- error while starting: InstrumentError --> idle

A failed camera refuses to start again: the core (or the camera driver under it) is stuck in
a call and must be re-created.

While acquiring, a drain thread pops every frame out of the core's circular buffer every
``drain_interval_s`` and notes when it arrived (``time.monotonic``). So the buffer only has
to bridge a hiccup of the host, not a whole measurement.

**Frame times.** Each frame carries a camera-side stamp in its metadata (``ElapsedTime-ms``,
added by the core or by the camera adapter, or a hardware stamp the adapter adds, chosen with
``timestamp_key``). Its zero differs between Micro-Manager versions and adapters, so only the
spacing of the stamps is trusted. The offset to the host clock is the smallest
(arrival - stamp) over the sequence: a frame cannot arrive before it was stamped, and the
frame picked up soonest after its stamp bounds the offset tightest (within one drain
interval at worst, well under a millisecond typically). Times are then given relative to a
time zero on ``time.monotonic`` (the electrochemistry's start, set with
:meth:`MicroManagerCamera.set_time_zero`), plus ``clock_offset_s``: a calibrated shift from
"stamped" to the moment that the frame shows, e.g. ``-(exposure + readout) / 2``.

**Dropped frames.** The core numbers the frames it accepts from 0 (``ImageNumber``), and a
cleared or overwritten buffer loses numbers; a gap is a frame lost. A frame the buffer
refused outright gets no number, so an overflow that no gap explains counts as one frame lost
at least.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.instruments.protocols import (
    Frames,
    InstrumentError,
    InstrumentTimeout,
    deadline_s,
)

ELAPSED_TIME_KEY = "ElapsedTime-ms"
IMAGE_NUMBER_KEY = "ImageNumber"
#: circular buffer of the core (MiB): it only has to bridge a stall of the drain thread
DEFAULT_BUFFER_MB = 256
#: how often the drain thread empties the circular buffer (s)
DEFAULT_DRAIN_INTERVAL_S = 0.005


def frame_times_monotonic_s(stamps_s: np.ndarray, received_s: np.ndarray) -> np.ndarray:
    """Camera stamps put on the host clock by their earliest possible offset.

    Parameters
    ----------
    stamps_s : (T,) ndarray
        Camera-side stamp of each frame (s), on any zero; only differences are used.
    received_s : (T,) ndarray
        Host clock reading (s) when each frame was taken out of the buffer; never earlier
        than the frame was stamped.

    Returns
    -------
    (T,) ndarray
        The stamps on the host clock (s): ``stamps_s + min(received_s - stamps_s)``. They can
        only be late, by the shortest pick-up delay of the sequence.
    """
    stamps_s = np.asarray(stamps_s, dtype=float)
    received_s = np.asarray(received_s, dtype=float)
    if stamps_s.shape != received_s.shape or stamps_s.ndim != 1:
        raise ValueError(
            f"stamps_s {stamps_s.shape} and received_s {received_s.shape} must be equal 1-D"
        )
    if stamps_s.size == 0:
        return stamps_s.copy()
    return stamps_s + np.min(received_s - stamps_s)


def count_dropped_frames(image_numbers: np.ndarray, *, overflowed: bool) -> int:
    """Frames the core numbered but that never came out of the buffer.

    Parameters
    ----------
    image_numbers : (T,) ndarray of int
        ``ImageNumber`` of each frame popped, in popping order (the core counts from 0).
    overflowed : bool
        Whether the core reported a buffer overflow during the sequence.

    Returns
    -------
    int
        Missing numbers before the last frame popped; at least 1 when the buffer overflowed,
        since a frame the buffer refused is never numbered.
    """
    numbers = np.asarray(image_numbers, dtype=np.int64)
    if numbers.size and np.any(np.diff(numbers) <= 0):
        raise InstrumentError(
            f"camera image numbers are not increasing: {numbers[:10].tolist()}..."
        )
    missing = int(numbers[-1] + 1 - numbers.size) if numbers.size else 0
    return max(missing, 1) if overflowed else missing


def _call_with_deadline(call: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run ``call`` in a helper thread; :class:`InstrumentTimeout` if it is not back in time.

    A driver call cannot be interrupted from Python: on a timeout the helper thread is left
    behind (a daemon), which is why a camera that timed out is marked failed.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    helper = threading.Thread(target=run, name=f"camera: {what}", daemon=True)
    helper.start()
    helper.join(timeout_s)
    if helper.is_alive():
        raise InstrumentTimeout(f"{what} did not return within its {timeout_s:.2f} s deadline")
    if "error" in outcome:
        error = outcome["error"]
        raise InstrumentError(f"{what} failed: {error}") from error
    return outcome.get("value")


class MicroManagerCamera:
    """A Micro-Manager camera behind the :class:`~workers.instruments.protocols.Camera`
    protocol: a continuous sequence with per-frame times on the host's monotonic clock.

    Parameters
    ----------
    core : CMMCorePlus, optional
        A loaded core whose current camera is used; built (``CMMCorePlus(mm_path)``) if None.
    config_file : str, optional
        Micro-Manager configuration (``.cfg``) to load into the core first.
    exposure_ms : float
        Exposure set on the camera (ms).
    pixel_size_nm : float, optional
        Pixel size at the sample (nm); by default the core's calibrated pixel size
        (``getPixelSizeUm``, binning included), ``None`` in the frames if it has none.
    buffer_mb : int
        Size of the core's circular buffer (MiB).
    timestamp_key, timestamp_unit_s : str, float
        Metadata key of the per-frame stamp, and its unit in seconds (``ElapsedTime-ms``,
        1e-3 by default; a camera's hardware stamp gives a cleaner spacing where it has one).
    clock_offset_s : float
        Added to every frame time (s): the calibrated delay from a frame's content to its stamp.
    drain_interval_s : float
        How often the drain thread empties the circular buffer (s).
    timeout_s : float, optional
        Deadline for the core to start or stop the sequence (s); by default
        ``deadline_s`` of the longer of exposure and interval.
    mm_path : str, optional
        Micro-Manager adapter folder when the core is built here.
    """

    def __init__(
        self,
        core: Any = None,
        *,
        config_file: str | None = None,
        exposure_ms: float,
        pixel_size_nm: float | None = None,
        buffer_mb: int = DEFAULT_BUFFER_MB,
        timestamp_key: str = ELAPSED_TIME_KEY,
        timestamp_unit_s: float = 1e-3,
        clock_offset_s: float = 0.0,
        drain_interval_s: float = DEFAULT_DRAIN_INTERVAL_S,
        timeout_s: float | None = None,
        mm_path: str | None = None,
    ) -> None:
        if not exposure_ms > 0:
            raise InstrumentError(f"exposure {exposure_ms!r} ms must be positive")
        if pixel_size_nm is not None and not pixel_size_nm > 0:
            raise InstrumentError(f"pixel size {pixel_size_nm!r} nm must be positive")
        self._owns_core = core is None
        if core is None:
            from pymmcore_plus import CMMCorePlus

            core = CMMCorePlus(mm_path) if mm_path else CMMCorePlus()
        self._core = core
        self._exposure_ms = float(exposure_ms)
        self._pixel_size_nm = pixel_size_nm
        self._timestamp_key = timestamp_key
        self._timestamp_unit_s = float(timestamp_unit_s)
        self._clock_offset_s = float(clock_offset_s)
        self._drain_interval_s = float(drain_interval_s)
        self._timeout_s = timeout_s
        self._failed: str | None = None
        self._acquiring = False
        self._reset_sequence()
        try:
            if config_file is not None:
                core.loadSystemConfiguration(str(config_file))
            self.label = core.getCameraDevice()
            if not self.label:
                raise InstrumentError(
                    f"Micro-Manager configuration {config_file!r} selects no camera device"
                )
            core.setExposure(self._exposure_ms)
            core.setCircularBufferMemoryFootprint(int(buffer_mb))
        except (RuntimeError, OSError) as error:
            raise InstrumentError(
                f"Micro-Manager camera from {config_file!r} could not be set up: {error}"
            ) from error

    # --- the Camera protocol ----------------------------------------------------------------
    def start_sequence(
        self, interval_s: float, *, time_zero_monotonic_s: float | None = None
    ) -> None:
        """Start a continuous sequence, one frame every ``interval_s`` (s) where the camera
        paces itself by the core's interval (many run at their exposure + readout instead;
        the frame times say what really happened).

        ``time_zero_monotonic_s`` is the ``time.monotonic()`` reading that frame times are
        relative to (default: now); :meth:`set_time_zero` can move it until the stop.
        """
        if self._failed:
            raise InstrumentError(f"camera {self.label!r} is unusable: {self._failed}")
        if self._acquiring:
            raise InstrumentError(f"camera {self.label!r} is already acquiring a sequence")
        if not interval_s >= 0:
            raise InstrumentError(f"frame interval {interval_s!r} s must be >= 0")
        self._check_pixel_format()
        self._reset_sequence()
        self._interval_s = float(interval_s)
        self._frame_shape = (self._core.getImageHeight(), self._core.getImageWidth())
        self._sequence_pixel_size_nm = self._current_pixel_size_nm()
        self._time_zero_s = time.monotonic() if time_zero_monotonic_s is None else float(
            time_zero_monotonic_s)
        try:
            _call_with_deadline(
                lambda: self._core.startContinuousSequenceAcquisition(self._interval_s * 1e3),
                self._deadline_s(), f"camera {self.label!r}: starting the sequence")
        except InstrumentTimeout as timeout:
            self._failed = str(timeout)
            raise
        self._acquiring = True
        self._drain_thread = threading.Thread(
            target=self._drain_loop, name=f"camera {self.label} drain", daemon=True)
        self._drain_thread.start()

    def set_time_zero(self, monotonic_s: float) -> None:
        """Make frame times relative to ``monotonic_s`` (a ``time.monotonic()`` reading)."""
        self._time_zero_s = float(monotonic_s)

    def stop_sequence(self) -> Frames:
        """Stop the sequence and return every frame it produced.

        Returns
        -------
        Frames
            ``frames`` (T, rows, cols) uint16, ``times_s`` (T,) relative to the time zero,
            ``pixel_size_nm`` and ``dropped`` (frames lost to buffer overflow).

        Raises
        ------
        InstrumentTimeout
            The core or the camera did not stop within the deadline; the camera is then
            marked failed.
        """
        if self._failed:
            raise InstrumentError(f"camera {self.label!r} is unusable: {self._failed}")
        if not self._acquiring:
            raise InstrumentError(f"camera {self.label!r}: stop_sequence without start_sequence")
        timeout_s = self._deadline_s()
        give_up_at = time.monotonic() + timeout_s
        try:
            _call_with_deadline(self._core.stopSequenceAcquisition, timeout_s,
                                f"camera {self.label!r}: stopping the sequence")
            while self._core.isSequenceRunning():
                if time.monotonic() > give_up_at:
                    raise InstrumentTimeout(
                        f"camera {self.label!r} still acquiring {timeout_s:.2f} s after the stop")
                time.sleep(min(self._drain_interval_s, 0.01))
            self._drain_stop.set()
            self._drain_thread.join(max(give_up_at - time.monotonic(), 0.0))
            if self._drain_thread.is_alive():
                raise InstrumentTimeout(
                    f"camera {self.label!r}: emptying the buffer took over {timeout_s:.2f} s")
        except InstrumentTimeout as timeout:
            self._drain_stop.set()
            self._failed = str(timeout)
            raise
        finally:
            self._acquiring = False
        self._drain()  # what arrived between the thread's last round and the stop
        overflowed = bool(self._core.isBufferOverflowed())
        if self._drain_error is not None:
            raise InstrumentError(
                f"camera {self.label!r}: reading frames failed: {self._drain_error}"
            ) from self._drain_error
        return self._frames(overflowed)

    def close(self) -> None:
        """Stop a sequence left running (best effort); unload the devices of a core built
        here, so that the camera driver is free for the next user."""
        if self._acquiring and not self._failed:
            try:
                self.stop_sequence()
            except InstrumentError:
                pass  # closing anyway
        self._drain_stop.set()
        if self._owns_core and not self._failed:
            self._core.unloadAllDevices()

    # --- internals --------------------------------------------------------------------------
    def _reset_sequence(self) -> None:
        self._images: list[np.ndarray] = []
        self._stamps: list[float] = []
        self._received: list[float] = []
        self._numbers: list[int] = []
        self._drain_error: BaseException | None = None
        self._drain_stop = threading.Event()
        self._interval_s = 0.0

    def _deadline_s(self) -> float:
        if self._timeout_s is not None:
            return float(self._timeout_s)
        return deadline_s(max(self._exposure_ms / 1e3, self._interval_s))

    def _check_pixel_format(self) -> None:
        channels = self._core.getNumberOfCameraChannels()
        if channels != 1:
            raise InstrumentError(
                f"camera {self.label!r} has {channels} channels; one camera channel is supported"
            )
        components = self._core.getNumberOfComponents()
        bytes_per_pixel = self._core.getBytesPerPixel()
        if components != 1 or bytes_per_pixel not in (1, 2):
            raise InstrumentError(
                f"camera {self.label!r} gives {components} component(s) of {bytes_per_pixel} "
                f"byte(s) per pixel; IRM needs one grey component of at most 2 bytes (16 bit)"
            )

    def _current_pixel_size_nm(self) -> float | None:
        if self._pixel_size_nm is not None:
            return float(self._pixel_size_nm)
        size_um = float(self._core.getPixelSizeUm())
        return size_um * 1e3 if size_um > 0 else None

    def _drain_loop(self) -> None:
        while not self._drain_stop.wait(self._drain_interval_s):
            if not self._drain():
                return

    def _drain(self) -> bool:
        """Pop every frame in the buffer; False once reading failed (the error is kept)."""
        if self._drain_error is not None:
            return False
        try:
            while self._core.getRemainingImageCount() > 0:
                image, metadata = self._core.popNextImageAndMD()
                received = time.monotonic()
                self._keep(image, metadata, received)
        except Exception as error:  # reported by stop_sequence, in the caller's thread
            self._drain_error = error
            return False
        return True

    def _keep(self, image: np.ndarray, metadata: Any, received_s: float) -> None:
        if image.dtype not in (np.uint8, np.uint16) or image.shape != self._frame_shape:
            raise InstrumentError(
                f"frame of {image.dtype} {image.shape}; expected uint16 {self._frame_shape}"
            )
        try:
            stamp = float(metadata[self._timestamp_key]) * self._timestamp_unit_s
            number = int(metadata[IMAGE_NUMBER_KEY])
        except KeyError as missing:
            raise InstrumentError(
                f"frame metadata lacks {missing}; it has {sorted(metadata)}"
            ) from None
        self._images.append(np.array(image, dtype=np.uint16))
        self._stamps.append(stamp)
        self._received.append(received_s)
        self._numbers.append(number)

    def _frames(self, overflowed: bool) -> Frames:
        if self._images:
            frames = np.stack(self._images)
        else:
            frames = np.empty((0, *self._frame_shape), dtype=np.uint16)
        stamps = np.array(self._stamps)
        if np.any(np.diff(stamps) < 0):
            raise InstrumentError(
                f"camera {self.label!r}: {self._timestamp_key} runs backwards "
                f"({np.round(stamps[:10], 6).tolist()} s...); a stamp that wraps around "
                f"cannot be used"
            )
        times = frame_times_monotonic_s(stamps, np.array(self._received))
        times = times + self._clock_offset_s - self._time_zero_s
        dropped = count_dropped_frames(np.array(self._numbers, dtype=np.int64),
                                       overflowed=overflowed)
        return Frames(frames=frames, times_s=times,
                      pixel_size_nm=self._sequence_pixel_size_nm, dropped=dropped)
