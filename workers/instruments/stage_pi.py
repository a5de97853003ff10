"""The PI piezo positioner (P-611.3S NanoCube or any GCS 2 controller) through PI's pipython.

``pipython`` is imported only when :class:`PiStage` is built, so importing this module costs
nothing on a machine without it.

Connections, as written in an instrument's config or in ``MENISCUS_HW_PI``
(:func:`parse_connection`):

- ``("tcpip", host, port)`` and ``("rs232", port, baud)`` talk GCS through pipython's own
  Python interfaces (no PI driver needed); a USB controller that shows up as a serial port is
  ``rs232`` too;
- ``("usb", serial_number)`` goes through PI's GCS library (installed with PI's software),
  as does any connection with ``use_gcs_dll=True``.

Every move is checked against the travel before anything is sent (the configured
``travel_um`` narrowed by the controller's own TMN?/TMX? range), computes its deadline from
the distance and the velocity, polls ``should_stop`` while it waits for the controller's
on-target flags, and halts the axes (HLT) when it gives up or is stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from workers.instruments.protocols import (
    POLL_INTERVAL_S,
    InstrumentError,
    StageError,
    StopCheck,
    Stopped,
    deadline_s,
)

CONNECTION_KINDS = ("tcpip", "usb", "rs232")
DEFAULT_TCP_PORT = 50000
#: the controller reports the travel in these units (PUN?); anything else is refused
MICROMETRE_UNITS = {"UM", "µM", "MICRON", "MICRONS", "MICROMETER", "MICROMETRE"}


class TravelLimitError(InstrumentError):
    """A target lies outside the stage's travel; nothing was moved."""


def parse_connection(text: str) -> tuple:
    """A connection from ``tcpip:HOST[:PORT]``, ``usb:SERIAL`` or ``rs232:PORT:BAUD``."""
    kind, _, rest = text.partition(":")
    parts = rest.split(":") if rest else []
    try:
        if kind == "tcpip" and len(parts) in (1, 2):
            port = int(parts[1]) if len(parts) == 2 else DEFAULT_TCP_PORT
            return ("tcpip", parts[0], port)
        if kind == "usb" and len(parts) == 1:
            return ("usb", parts[0])
        if kind == "rs232" and len(parts) == 2:
            return ("rs232", parts[0], int(parts[1]))
    except ValueError:
        pass
    raise InstrumentError(
        f"PI connection {text!r} is not tcpip:HOST[:PORT], usb:SERIAL or rs232:PORT:BAUD"
    )


def _check_connection(connection: Sequence) -> tuple:
    connection = tuple(connection)
    lengths = {"tcpip": 3, "usb": 2, "rs232": 3}
    if not connection or len(connection) != lengths.get(connection[0]):
        raise InstrumentError(
            f"PI connection {connection!r} is not ('tcpip', host, port), ('usb', serial) or "
            f"('rs232', port, baud)"
        )
    return connection


def open_gcs_device(connection: Sequence, *, use_gcs_dll: bool = False) -> tuple[Any, Any]:
    """Connect to a PI controller; returns the ``GCSDevice`` and a function that closes it."""
    kind, *where = _check_connection(connection)
    from pipython import GCSDevice

    if use_gcs_dll or kind == "usb":
        device = GCSDevice()
        if kind == "tcpip":
            device.ConnectTCPIP(where[0], int(where[1]))
        elif kind == "usb":
            device.ConnectUSB(str(where[0]))
        else:
            device.ConnectRS232(where[0], int(where[1]))
        return device, device.CloseConnection
    if kind == "tcpip":
        from pipython.pidevice.interfaces.pisocket import PISocket

        class ClosingOnceSocket(PISocket):
            # GCSDevice.__del__ closes its gateway again, and PISocket.close fails on a socket
            # that is closed already (or that the garbage collector finalised first)
            def close(self) -> None:
                if self.connected:
                    try:
                        super().close()
                    except OSError:
                        self._connected = False

        gateway = ClosingOnceSocket(host=where[0], port=int(where[1]))
    else:
        from pipython.pidevice.interfaces.piserial import PISerial

        gateway = PISerial(port=where[0], baudrate=int(where[1]))
    device = GCSDevice(gateway=gateway)
    # pipython calls every GCSDevice's callback (a class-wide list) whenever any gateway
    # connects, and each then queries its own controller from that thread; this device was
    # set up just now and needs no such call
    gateway.unregister_connection_status_changed_callback(device.connection_status_changed)
    return device, gateway.close


class PiStage:
    """Lateral positioning on a PI controller, with limits, deadlines and a stop.

    Parameters
    ----------
    device : GCSDevice, optional
        An already connected device; otherwise one is opened from ``connection``.
    connection : tuple, optional
        ``("tcpip", host, port)``, ``("usb", serial)`` or ``("rs232", port, baud)``.
    axes : sequence of str
        Controller axes for x, y and (optionally) z.
    travel_um : float
        Travel of each axis from 0 (µm); the controller's TMN?/TMX? range narrows it.
    velocity_um_s : float
        Velocity set on the axes (VEL, with velocity control on where the controller has VCO)
        and used for the deadlines (µm/s).
    settle_s : float
        Time the servo needs to settle on target after the motion (s), part of the deadline.
    use_gcs_dll : bool
        Connect through PI's GCS library instead of pipython's Python interfaces.
    name : str
        How messages name the stage.
    """

    def __init__(
        self,
        device: Any = None,
        *,
        connection: Sequence | None = None,
        axes: Sequence[str] = ("1", "2", "3"),
        travel_um: float = 100.0,
        velocity_um_s: float = 100.0,
        settle_s: float = 0.05,
        use_gcs_dll: bool = False,
        name: str = "PI stage",
    ) -> None:
        from pipython.pidevice.pierror_base import PIErrorBase

        self._device_errors = (PIErrorBase, OSError)
        self.axes = tuple(str(axis) for axis in axes)
        if len(self.axes) not in (2, 3):
            raise InstrumentError(f"{name}: axes {self.axes!r} must name x, y and optionally z")
        if not travel_um > 0 or not velocity_um_s > 0:
            raise InstrumentError(
                f"{name}: travel {travel_um!r} µm and velocity {velocity_um_s!r} µm/s must be "
                f"positive"
            )
        self.name = name
        self.velocity_um_s = float(velocity_um_s)
        self.settle_s = float(settle_s)
        self._close_connection = None
        if device is None:
            if connection is None:
                raise InstrumentError(f"{name}: give a connected device or a connection")
            self.name = f"{name} {':'.join(str(part) for part in connection)}"
            try:
                device, self._close_connection = open_gcs_device(
                    connection, use_gcs_dll=use_gcs_dll)
            except self._device_errors as error:
                raise StageError(f"{self.name}: cannot connect: {error}") from error
        self._device = device
        try:
            self.low_um, self.high_um = self._setup(float(travel_um))
        except BaseException:
            self.close()
            raise

    # --- motion -----------------------------------------------------------------------------
    def move_to_um(self, x_um: float, y_um: float, *, should_stop: StopCheck) -> None:
        """Move x and y to (``x_um``, ``y_um``) and wait until both are on target.

        Raises
        ------
        TravelLimitError
            A target is outside the travel; nothing was sent to the controller.
        Stopped
            ``should_stop`` said so; the axes were halted.
        StageError
            The controller failed, or the axes were not on target within the deadline (they
            were halted).
        """
        targets = {self.axes[0]: float(x_um), self.axes[1]: float(y_um)}
        self._check_travel(targets)
        start = self.position_um()
        distance_um = max(abs(targets[self.axes[0]] - start[0]),
                          abs(targets[self.axes[1]] - start[1]))
        allowed_s = deadline_s(distance_um / self.velocity_um_s + self.settle_s)
        self._gcs("MOV", targets)
        give_up_at = time.monotonic() + allowed_s
        moving = list(targets)
        while True:
            if should_stop():
                self.halt()
                raise Stopped(f"{self.name}: move to ({x_um:.3f}, {y_um:.3f}) µm stopped")
            if all(self._gcs("qONT", moving).values()):
                return
            if time.monotonic() > give_up_at:
                self.halt()
                x_now, y_now, _ = self.position_um()
                raise StageError(
                    f"{self.name}: not on target ({x_um:.3f}, {y_um:.3f}) µm within its "
                    f"{allowed_s:.2f} s deadline ({distance_um:.3f} µm at "
                    f"{self.velocity_um_s:g} µm/s); halted at ({x_now:.3f}, {y_now:.3f}) µm"
                )
            time.sleep(POLL_INTERVAL_S)

    def position_um(self) -> tuple[float, float, float]:
        """Measured (x, y, z) in µm; z is NaN on a stage without a z axis."""
        positions = self._gcs("qPOS", list(self.axes))
        values = [float(positions[axis]) for axis in self.axes]
        return (values[0], values[1], values[2] if len(values) == 3 else math.nan)

    def halt(self) -> None:
        """Halt every axis smoothly (HLT); the controller's "stopped" error 10 is expected."""
        self._gcs("HLT", list(self.axes), noraise=True)

    def close(self) -> None:
        """Close the connection if this stage opened it. The servos stay on: switching them
        off would let the piezo relax and the pipette drift."""
        if self._close_connection is not None:
            self._close_connection()
            self._close_connection = None

    # --- internals --------------------------------------------------------------------------
    def _gcs(self, command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._device, command)(*args, **kwargs)
        except self._device_errors as error:
            shown = " ".join(str(arg) for arg in args)
            raise StageError(f"{self.name}: {command} {shown} failed: {error}") from error

    def _optional(self, command: str, *args: Any) -> Any:
        """A command some controllers lack (they list theirs in HLP?): None where missing.

        Asking is needed: a controller answers nothing to a query it does not know, and the
        host would wait for the communication timeout."""
        if not self._gcs(f"Has{command}"):
            return None
        return self._gcs(command, *args)

    def _setup(self, travel_um: float) -> tuple[dict, dict]:
        """Check the axes and units, servo on, velocity set; the travel range of each axis."""
        known = [str(axis) for axis in self._gcs("qSAI")]
        missing = [axis for axis in self.axes if axis not in known]
        if missing:
            raise StageError(f"{self.name}: axes {missing} not among the controller's {known}")
        axes = list(self.axes)
        units = self._optional("qPUN", axes) or {}
        wrong = {axis: unit for axis, unit in units.items()
                 if str(unit).strip().upper() not in MICROMETRE_UNITS}
        if wrong:
            raise StageError(f"{self.name}: axes report units {wrong}; this backend needs µm")
        servo = self._gcs("qSVO", axes)
        if not all(servo.values()):
            self._gcs("SVO", axes, [True] * len(axes))
        # velocity control makes the motion (and so the deadline) follow VEL, where it exists
        self._optional("VCO", axes, [True] * len(axes))
        self._optional("VEL", axes, [self.velocity_um_s] * len(axes))
        low = dict.fromkeys(axes, 0.0)
        high = dict.fromkeys(axes, travel_um)
        for axis, value in (self._optional("qTMN", axes) or {}).items():
            low[axis] = max(low[axis], float(value))
        for axis, value in (self._optional("qTMX", axes) or {}).items():
            high[axis] = min(high[axis], float(value))
        return low, high

    def _check_travel(self, targets: dict[str, float]) -> None:
        for label, (axis, value) in zip("xy", targets.items(), strict=True):
            if not math.isfinite(value):
                raise TravelLimitError(f"{self.name}: {label} target {value!r} µm is not a number")
            if not self.low_um[axis] <= value <= self.high_um[axis]:
                raise TravelLimitError(
                    f"{self.name}: {label} target {value:.3f} µm is outside the travel of axis "
                    f"{axis!r}, {self.low_um[axis]:.3f} to {self.high_um[axis]:.3f} µm; "
                    f"nothing moved"
                )
