"""The WEC-SPM FPGA wire format: waypoints in, sample frames out. Pure numpy, no hardware.

Both DMA FIFOs carry signed 16-bit words, 14 to a record. Analog values are volts on the
card's ±10 V converters: one count is 10/32768 V, so -32768 counts is -10 V and the largest
code, 32767, is +9.9997 V. Anything that would need a code outside that range is rejected
with :class:`OutOfRangeError`; the card would otherwise wrap or clip it silently.

Waypoint (host → target, ``Host_To_FPGA_Positions``)::

    word  content                          unit
    ----  -------------------------------  -------------------------------------------------
     0    action / feedback type (line     code: 0 plain move; 2 "stop current move on
          type)                             setpoint" (stop-on-feedback)
     1    X velocity                       counts per 40 MHz tick × 2**n  (n: velocity
     2    Y velocity                       exponent, written to the "2^(-n)" register; one
     3    Z velocity                       n for the whole program)
     4    V1 velocity
     5    V2 velocity
     6    X target                         counts (AO0)
     7    Y target                         counts (AO1)
     8    Z target                         counts (AO2)
     9    V1 target                        counts (AO3)
    10    V2 target                        counts (AO4)
    11    position-loop wait               loop-update interval (target's unit)
    12    hold timer                       hold-timer counts (1 µs each on the WEC-SPM target)
    13    flags                            bits, see :class:`Flag`

Flag bits (word 13): 0 move X, 1 move Y, 2 move Z, 3 move V (ramp V1), 4 jump V (step V1),
5 hold, 6 move V2, 7 jump V2, 8 hold feedback.

Sample (target → host, ``FPGA_To_Host_FIFO``): 14 words whose meaning is set by a
:class:`SampleLayout` (which word is which channel); two of them form a 40 MHz U32 timestamp,
high word first, that rolls over every 107 s and is unwrapped here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Literal

import numpy as np

from workers.instruments.protocols import InstrumentError

WAYPOINT_WORDS = 14
SAMPLE_WORDS = 14
CLOCK_HZ = 40_000_000.0
FULL_SCALE_V = 10.0
FULL_SCALE_COUNTS = 32768
I16_MIN, I16_MAX = -32768, 32767
VOLTS_PER_COUNT = FULL_SCALE_V / FULL_SCALE_COUNTS
#: largest velocity exponent n (the target shifts by 2**-n; beyond 30 nothing gains)
MAX_VELOCITY_EXPONENT = 30
AXES = ("x", "y", "z", "v1", "v2")
_VELOCITY_WORD = {axis: 1 + i for i, axis in enumerate(AXES)}
_TARGET_WORD = {axis: 6 + i for i, axis in enumerate(AXES)}
ACTION_WORD, LOOP_WAIT_WORD, HOLD_WORD, FLAGS_WORD = 0, 11, 12, 13
_U32 = 1 << 32


class OutOfRangeError(InstrumentError, ValueError):
    """A value cannot be represented on the FPGA (a voltage, count, velocity or time).

    Also a ValueError, so configuration validators report it with the offending field."""


class Flag(IntFlag):
    """Bits of the waypoint flags word."""

    MOVE_X = 1 << 0
    MOVE_Y = 1 << 1
    MOVE_Z = 1 << 2
    MOVE_V = 1 << 3
    JUMP_V = 1 << 4
    HOLD = 1 << 5
    MOVE_V2 = 1 << 6
    JUMP_V2 = 1 << 7
    HOLD_FEEDBACK = 1 << 8


_MOVE_FLAG = {"x": Flag.MOVE_X, "y": Flag.MOVE_Y, "z": Flag.MOVE_Z, "v1": Flag.MOVE_V,
              "v2": Flag.MOVE_V2}


# --- scalar conversions --------------------------------------------------------------------

def volts_to_counts(volts: float, *, what: str) -> int:
    """The converter code for ``volts``; raises :class:`OutOfRangeError` outside ±10 V.

    ``what`` names the value in the message (e.g. ``"contact threshold"``).
    """
    value = float(volts)
    if not math.isfinite(value):
        raise OutOfRangeError(f"{what} {value} V is not a finite voltage")
    counts = round(value / VOLTS_PER_COUNT)
    if not I16_MIN <= counts <= I16_MAX:
        raise OutOfRangeError(
            f"{what} {value:.4g} V is outside the ±10 V converter range "
            f"({I16_MIN * VOLTS_PER_COUNT:g} to {I16_MAX * VOLTS_PER_COUNT:.4f} V)"
        )
    return counts


def counts_to_volts(counts) -> np.ndarray:
    """Volts for converter codes (any shape)."""
    return np.asarray(counts, dtype=np.float64) * VOLTS_PER_COUNT


def rate_to_counts_per_tick(volts_per_s: float, *, clock_hz: float = CLOCK_HZ) -> float:
    """A ramp rate in V/s as converter counts per FPGA clock tick (magnitude)."""
    return abs(float(volts_per_s)) / VOLTS_PER_COUNT / clock_hz


def choose_velocity_exponent(counts_per_tick) -> int:
    """The largest n for which every velocity × 2**n still fits an I16 word.

    The target adds ``word × 2**-n`` counts per tick, so the largest n gives the finest
    resolution. Raises :class:`OutOfRangeError` if the fastest velocity cannot fit at n = 0.
    """
    fastest = float(np.max(np.abs(np.asarray(counts_per_tick, dtype=np.float64)), initial=0.0))
    if fastest == 0.0:
        return MAX_VELOCITY_EXPONENT
    if fastest > I16_MAX:
        raise OutOfRangeError(
            f"velocity {fastest:.4g} counts/tick exceeds the I16 velocity word ({I16_MAX})"
        )
    return int(min(MAX_VELOCITY_EXPONENT, math.floor(math.log2(I16_MAX / fastest))))


def velocity_word(counts_per_tick: float, exponent: int, *, what: str) -> int:
    """``counts_per_tick × 2**exponent`` as an I16 word; zero only for a zero velocity."""
    scaled = round(abs(float(counts_per_tick)) * 2.0**exponent)
    if scaled > I16_MAX:
        raise OutOfRangeError(
            f"{what} velocity {counts_per_tick:.4g} counts/tick × 2^{exponent} = {scaled} "
            f"exceeds the I16 word ({I16_MAX}); use a smaller velocity exponent"
        )
    if counts_per_tick != 0 and scaled == 0:
        raise OutOfRangeError(
            f"{what} velocity {counts_per_tick:.3g} counts/tick is below the resolution at "
            f"velocity exponent {exponent} (2^-{exponent} counts/tick)"
        )
    return scaled


def _i16(value: int, *, what: str) -> int:
    value = int(value)
    if not I16_MIN <= value <= I16_MAX:
        raise OutOfRangeError(f"{what} {value} is outside the I16 range {I16_MIN}..{I16_MAX}")
    return value


# --- waypoints -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Waypoint:
    """One line of an FPGA program, in converter units.

    Attributes
    ----------
    action : int
        Line type (feedback action) code, word 0.
    targets : mapping of axis -> int
        Target counts for the axes that move (``"x", "y", "z", "v1", "v2"``); an axis
        absent here does not move.
    velocities : mapping of axis -> float
        Speed of each moving axis, counts per clock tick (ignored for jumped axes).
    jump_v1, jump_v2 : bool
        Step V1/V2 to its target at once instead of ramping.
    hold_counts : int
        Hold-timer counts (0 = no hold).
    hold_feedback : bool
        Set the "hold feedback" flag.
    loop_wait : int
        Position-loop wait word.
    """

    action: int = 0
    targets: Mapping[str, int] = field(default_factory=dict)
    velocities: Mapping[str, float] = field(default_factory=dict)
    jump_v1: bool = False
    jump_v2: bool = False
    hold_counts: int = 0
    hold_feedback: bool = False
    loop_wait: int = 0

    @property
    def flags(self) -> Flag:
        """The flags word this waypoint encodes to."""
        flags = Flag(0)
        for axis in self.targets:
            if axis == "v1" and self.jump_v1:
                flags |= Flag.JUMP_V
            elif axis == "v2" and self.jump_v2:
                flags |= Flag.JUMP_V2
            else:
                flags |= _MOVE_FLAG[axis]
        if self.hold_counts > 0:
            flags |= Flag.HOLD
        if self.hold_feedback:
            flags |= Flag.HOLD_FEEDBACK
        return flags


def encode_waypoint(waypoint: Waypoint, *, velocity_exponent: int) -> np.ndarray:
    """The 14 I16 words of ``waypoint`` (layout in the module docstring).

    Parameters
    ----------
    waypoint : Waypoint
    velocity_exponent : int
        n of the program: velocities are sent as counts/tick × 2**n.

    Returns
    -------
    (14,) int16 ndarray

    Raises
    ------
    OutOfRangeError
        A target, velocity, hold or code does not fit its word.
    """
    unknown = (set(waypoint.targets) | set(waypoint.velocities)) - set(AXES)
    if unknown:
        raise ValueError(f"unknown waypoint axes {sorted(unknown)}; axes are {AXES}")
    if not 0 <= velocity_exponent <= MAX_VELOCITY_EXPONENT:
        raise OutOfRangeError(
            f"velocity exponent {velocity_exponent} is outside 0..{MAX_VELOCITY_EXPONENT}"
        )
    words = np.zeros(WAYPOINT_WORDS, dtype=np.int16)
    words[ACTION_WORD] = _i16(waypoint.action, what="action code")
    for axis, target in waypoint.targets.items():
        words[_TARGET_WORD[axis]] = _i16(target, what=f"{axis} target (counts)")
        jumped = (axis == "v1" and waypoint.jump_v1) or (axis == "v2" and waypoint.jump_v2)
        if not jumped:
            speed = waypoint.velocities.get(axis, 0.0)
            if speed == 0:
                raise OutOfRangeError(f"{axis} moves to {target} counts with zero velocity")
            words[_VELOCITY_WORD[axis]] = velocity_word(speed, velocity_exponent, what=axis)
    words[LOOP_WAIT_WORD] = _i16(waypoint.loop_wait, what="position-loop wait")
    if waypoint.hold_counts < 0:
        raise OutOfRangeError(f"hold timer {waypoint.hold_counts} counts is negative")
    words[HOLD_WORD] = _i16(waypoint.hold_counts, what="hold timer (counts)")
    words[FLAGS_WORD] = int(waypoint.flags)
    return words


def decode_waypoint(words, *, velocity_exponent: int) -> Waypoint:
    """The :class:`Waypoint` that ``words`` (14 I16) encodes: the inverse of
    :func:`encode_waypoint`, velocities back in counts per tick."""
    words = np.asarray(words, dtype=np.int64)
    if words.shape != (WAYPOINT_WORDS,):
        raise ValueError(f"a waypoint is {WAYPOINT_WORDS} words, got shape {words.shape}")
    flags = Flag(int(words[FLAGS_WORD]) & 0xFFFF)
    targets, velocities = {}, {}
    jump_v1, jump_v2 = bool(flags & Flag.JUMP_V), bool(flags & Flag.JUMP_V2)
    for axis in AXES:
        moving = bool(flags & _MOVE_FLAG[axis])
        jumped = (axis == "v1" and jump_v1) or (axis == "v2" and jump_v2)
        if moving or jumped:
            targets[axis] = int(words[_TARGET_WORD[axis]])
        if moving:
            velocities[axis] = float(words[_VELOCITY_WORD[axis]]) / 2.0**velocity_exponent
    return Waypoint(
        action=int(words[ACTION_WORD]), targets=targets, velocities=velocities,
        jump_v1=jump_v1, jump_v2=jump_v2,
        hold_counts=int(words[HOLD_WORD]) if flags & Flag.HOLD else 0,
        hold_feedback=bool(flags & Flag.HOLD_FEEDBACK), loop_wait=int(words[LOOP_WAIT_WORD]),
    )


def split_hold(total_counts: int) -> list[int]:
    """A hold of ``total_counts`` timer counts as consecutive holds that each fit an I16."""
    if total_counts < 0:
        raise OutOfRangeError(f"hold of {total_counts} counts is negative")
    full, rest = divmod(int(total_counts), I16_MAX)
    return [I16_MAX] * full + ([rest] if rest else [])


# --- samples -------------------------------------------------------------------------------

TimestampEncoding = Literal["offset_binary", "twos_complement"]


@dataclass(frozen=True)
class SampleLayout:
    """Which word of a 14-word sample frame holds which channel.

    Attributes
    ----------
    channels : mapping of name -> word index
        Analog channels, decoded to volts (e.g. ``"v1": 3``, ``"current_1": 8``).
    timestamp_high, timestamp_low : int
        Words of the U32 tick counter, high word first in the stream.
    timestamp_encoding : {"offset_binary", "twos_complement"}
        How each 16-bit half travels as a signed word: ``offset_binary`` means the half is
        ``word + 32768`` (the LabVIEW host adds 32768 to each word); ``twos_complement``
        means the half is the word's bit pattern.
    clock_hz : float
        Tick rate of the timestamp counter.
    """

    channels: Mapping[str, int]
    timestamp_high: int = 12
    timestamp_low: int = 13
    timestamp_encoding: TimestampEncoding = "offset_binary"
    clock_hz: float = CLOCK_HZ

    def __post_init__(self) -> None:
        words = [*self.channels.values(), self.timestamp_high, self.timestamp_low]
        bad = [w for w in words if not 0 <= w < SAMPLE_WORDS]
        if bad:
            raise ValueError(f"sample words {bad} are outside 0..{SAMPLE_WORDS - 1}")
        if len(set(words)) != len(words):
            raise ValueError(f"sample layout uses a word twice: {sorted(words)}")
        if self.timestamp_encoding not in ("offset_binary", "twos_complement"):
            raise ValueError(f"timestamp encoding {self.timestamp_encoding!r} is unknown")


def timestamp_ticks(high, low, *, encoding: TimestampEncoding = "offset_binary") -> np.ndarray:
    """The raw U32 tick counts (as int64) of timestamp word pairs."""
    high = np.asarray(high, dtype=np.int64)
    low = np.asarray(low, dtype=np.int64)
    if encoding == "offset_binary":
        high, low = high + 32768, low + 32768
    return ((high & 0xFFFF) << 16) | (low & 0xFFFF)


def encode_timestamp(ticks, *, encoding: TimestampEncoding = "offset_binary"):
    """The (high, low) I16 words of U32 tick counts: the inverse of :func:`timestamp_ticks`."""
    ticks = np.asarray(ticks, dtype=np.int64) % _U32
    halves = np.stack([ticks >> 16, ticks & 0xFFFF])
    if encoding == "offset_binary":
        halves = halves - 32768
    else:
        halves = np.where(halves >= 32768, halves - 65536, halves)
    return halves[0].astype(np.int16), halves[1].astype(np.int16)


class TickUnwrapper:
    """Turns U32 tick counts that roll over into a continuous int64 count.

    A step back by more than half the counter range is a rollover. Keeps the last count
    between calls, so successive reads unwrap as one stream.
    """

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._offset = 0

    def __call__(self, ticks) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.int64)
        if ticks.size == 0:
            return ticks.copy()
        previous = ticks[0] if self._last_raw is None else self._last_raw
        steps = np.diff(ticks, prepend=previous)
        wraps = np.cumsum(steps < -(_U32 // 2)) - np.cumsum(steps > _U32 // 2)
        unwrapped = ticks + self._offset + wraps * _U32
        self._offset += int(wraps[-1]) * _U32
        self._last_raw = int(ticks[-1])
        return unwrapped


def decode_samples(raw, layout: SampleLayout, *, unwrapper: TickUnwrapper | None = None,
                   origin_ticks: int | None = None) -> dict[str, np.ndarray]:
    """Decode whole 14-word sample frames.

    Parameters
    ----------
    raw : (14·N,) array_like of int
        I16 words, a whole number of frames (use :class:`FrameAssembler` for a stream).
    layout : SampleLayout
    unwrapper : TickUnwrapper, optional
        Carries rollover state from earlier frames of the same stream.
    origin_ticks : int, optional
        Unwrapped tick count of time zero; default the first frame's.

    Returns
    -------
    dict
        ``"time_s"`` (N,) float s from the origin, ``"ticks"`` (N,) int64 unwrapped counts,
        and one (N,) float array in volts per layout channel.
    """
    words = np.asarray(raw)
    if words.size % SAMPLE_WORDS:
        raise ValueError(
            f"{words.size} words is not a whole number of {SAMPLE_WORDS}-word sample frames"
        )
    if words.size and (words.min() < I16_MIN or words.max() > I16_MAX):
        raise ValueError("sample words outside the I16 range")
    frames = words.astype(np.int16).reshape(-1, SAMPLE_WORDS)
    ticks = timestamp_ticks(frames[:, layout.timestamp_high], frames[:, layout.timestamp_low],
                            encoding=layout.timestamp_encoding)
    unwrapped = (unwrapper or TickUnwrapper())(ticks)
    if origin_ticks is None:
        origin_ticks = int(unwrapped[0]) if unwrapped.size else 0
    out = {name: counts_to_volts(frames[:, word]) for name, word in layout.channels.items()}
    out["ticks"] = unwrapped
    out["time_s"] = (unwrapped - origin_ticks) / layout.clock_hz
    return out


class FrameAssembler:
    """Decodes a word stream read in arbitrary pieces into whole sample frames.

    A read that ends inside a frame leaves the partial frame here until the next read
    completes it; times count from the first frame this assembler decoded.
    """

    def __init__(self, layout: SampleLayout) -> None:
        self.layout = layout
        self._pending = np.empty(0, dtype=np.int16)
        self._unwrapper = TickUnwrapper()
        self._origin: int | None = None

    @property
    def pending_words(self) -> int:
        """Words of an incomplete frame waiting for the rest of it."""
        return int(self._pending.size)

    def push(self, words) -> dict[str, np.ndarray]:
        """Add ``words`` (I16) and decode every frame now complete (possibly none)."""
        stream = np.concatenate([self._pending, np.asarray(words, dtype=np.int16)])
        whole = stream.size - stream.size % SAMPLE_WORDS
        self._pending = stream[whole:].copy()
        block = decode_samples(stream[:whole], self.layout, unwrapper=self._unwrapper,
                               origin_ticks=self._origin)
        if self._origin is None and block["ticks"].size:
            self._origin = int(block["ticks"][0])
        return block
