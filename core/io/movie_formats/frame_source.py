"""What a format reader hands to :func:`core.io.movies.open_movie`: geometry, metadata, frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class FrameSource(Protocol):
    """Reads runs of frames of one movie file on demand."""

    dtype: np.dtype

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop - 1`` as a ``(n, rows, cols)`` array, native byte order."""
        ...

    def close(self) -> None:
        """Release file handles; a later ``read`` opens them again."""
        ...


@dataclass(frozen=True)
class PixelSize:
    """A pixel size (nm, along columns) and where it came from."""

    nm: float
    source: str
    rows_nm: float | None = None


@dataclass(frozen=True)
class FrameTimes:
    """Per-frame times as recorded (s, not yet shifted to the first frame) and their origin.

    ``per_frame`` is True when the file recorded each frame's own time, False for a uniform
    interval (ImageJ finterval, a container frame rate).
    """

    times_s: np.ndarray
    detail: str
    per_frame: bool


@dataclass
class OpenedMovie:
    """What a format reader learned about a movie file, plus its frame source."""

    n_frames: int
    rows: int
    cols: int
    dtype: np.dtype
    bit_depth: int | None
    times: FrameTimes | None
    pixel_size: PixelSize | None
    source: FrameSource
    metadata: dict = field(default_factory=dict)
