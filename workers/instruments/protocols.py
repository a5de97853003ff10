"""What the acquisition engine needs from an instrument, whatever drives it.

Small protocols with units in the names. Every motion computes its own deadline from the
distance and speed (plus a margin) and raises :class:`InstrumentTimeout` past it; every long
call polls ``should_stop`` so an abort "now" is honoured within :data:`POLL_INTERVAL_S`.
``make_safe()`` must always leave the pipette retracted and the outputs off; the engine calls
it in a ``finally`` whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.errors import MeniscusError
from core.traces import Trace

#: longest time any instrument call may go without checking ``should_stop`` (s)
POLL_INTERVAL_S = 0.05
#: deadline margin on top of the computed duration of a motion or a program
DEADLINE_MARGIN_S = 2.0
DEADLINE_FACTOR = 1.5

StopCheck = Callable[[], bool]


class InstrumentError(MeniscusError):
    """The instrument failed; the message says which device and what it was doing."""


class InstrumentTimeout(InstrumentError):
    """A device did not finish within its computed deadline."""


class StageError(InstrumentError):
    """The positioner failed or hung: positions can no longer be trusted."""


class MeasurementError(InstrumentError):
    """The electrochemistry or its data stream failed during a measurement."""


class Stopped(MeniscusError):
    """A long call returned early because ``should_stop`` said so (abort now)."""


def deadline_s(nominal_s: float) -> float:
    """The time allowed for an operation expected to take ``nominal_s`` seconds."""
    return nominal_s * DEADLINE_FACTOR + DEADLINE_MARGIN_S


@dataclass(frozen=True)
class Approach:
    """Outcome of a z approach: contact made (and where), or travel exhausted."""

    contact: bool
    z_um: float
    travel_um: float


@dataclass(frozen=True)
class Frames:
    """Camera frames with per-frame times (s) on the electrochemistry's clock."""

    frames: np.ndarray
    times_s: np.ndarray
    pixel_size_nm: float | None = None
    dropped: int = 0


@dataclass(frozen=True)
class Measurement:
    """Everything one landing recorded."""

    trace: Trace
    movie: Frames | None = None
    metadata: dict = field(default_factory=dict)


class Positioner(Protocol):
    def move_to_um(self, x_um: float, y_um: float, *, should_stop: StopCheck) -> None: ...

    def approach(
        self, *, speed_um_s: float, max_travel_um: float, should_stop: StopCheck
    ) -> Approach: ...

    def retract(self, height_um: float) -> None: ...

    def position_um(self) -> tuple[float, float, float]: ...


class Electrochemistry(Protocol):
    def run_technique(
        self, technique: dict, *, area_cm2: float, should_stop: StopCheck,
        on_samples: Callable[[Trace], None] | None = None,
    ) -> Trace: ...

    def stop(self) -> None: ...


class Camera(Protocol):
    def start_sequence(self, interval_s: float) -> None: ...

    def stop_sequence(self) -> Frames: ...


class Instrument(Protocol):
    """An instrument as the engine sees it: devices plus a measurement and a safe state."""

    name: str

    def move_to_um(self, x_um: float, y_um: float, *, should_stop: StopCheck) -> None: ...

    def approach(
        self, *, speed_um_s: float, max_travel_um: float, should_stop: StopCheck
    ) -> Approach: ...

    def measure(
        self, spot: dict, *, area_cm2: float, camera: dict | None, should_stop: StopCheck,
        on_samples: Callable[[Trace], None] | None = None,
    ) -> Measurement: ...

    def retract(self, height_um: float) -> None: ...

    def make_safe(self) -> None: ...

    def is_safe(self) -> bool: ...

    def close(self) -> None: ...

    def checkpoint(self, phase: str, site: tuple[float, float]) -> None:
        """Called by the engine at each phase of a spot; real backends do nothing."""
