"""Frame-times sidecar files: the acquisition time of every frame of a movie.

When a movie file does not record its frames' times (an AVI export, a TIFF written by software
that keeps no timestamps) the lab keeps them in a CSV next to it::

    frame,time_s
    0,0.0
    1,0.2312
    2,0.4641
    ...

- The header is exactly ``frame,time_s`` (a UTF-8 byte-order mark and spaces are tolerated).
- ``frame`` is an integer; every frame ``0 .. n_frames - 1`` appears exactly once (rows may
  come in any order). ``time_s`` is a finite number of seconds, strictly increasing with the
  frame number. Blank lines are skipped.

Every problem raises :class:`~core.errors.MovieFileError` with a one-line
message naming the file, the line (counted from 1) or frame, and the rule broken.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.errors import MovieFileError

#: the header row a frame-times sidecar must start with
HEADER = ("frame", "time_s")


def _parse_rows(path: Path, lines: list[str]) -> tuple[list[int], list[float], list[int]]:
    frames, times, line_numbers = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 2:
            raise MovieFileError(
                path, f"line {number}: expected 2 values (frame,time_s), found {len(cells)}"
            )
        try:
            frame = int(cells[0])
        except ValueError:
            raise MovieFileError(
                path, f"line {number}: frame {cells[0]!r} is not an integer"
            ) from None
        try:
            time_s = float(cells[1])
        except ValueError:
            raise MovieFileError(
                path, f"line {number}: time_s {cells[1]!r} is not a number"
            ) from None
        if not math.isfinite(time_s):
            raise MovieFileError(path, f"line {number}: time_s {cells[1]!r} is not finite")
        frames.append(frame)
        times.append(time_s)
        line_numbers.append(number)
    return frames, times, line_numbers


def _describe_missing(missing: np.ndarray) -> str:
    shown = ", ".join(str(int(f)) for f in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    word = "frame" if len(missing) == 1 else "frames"
    return f"{word} {shown}{more}"


def read_frame_times(path: str | Path, n_frames: int) -> np.ndarray:
    """Read the per-frame times of a movie from a ``frame,time_s`` CSV.

    Parameters
    ----------
    path : str or Path
        The sidecar CSV.
    n_frames : int
        Number of frames in the movie (T).

    Returns
    -------
    (T,) float64 ndarray
        ``time_s`` of frames ``0 .. T-1`` in frame order, exactly as written (not shifted).

    Raises
    ------
    MovieFileError
        Missing or unreadable file, wrong header, malformed row, frame number outside
        ``0 .. T-1``, repeated or missing frame, or times not strictly increasing.
    """
    path = Path(path)
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    if not path.is_file():
        raise MovieFileError(path, "frame-times file not found")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise MovieFileError(path, "frame-times file is not UTF-8 text") from None
    if not lines or not lines[0].strip():
        raise MovieFileError(path, "empty frame-times file; expected the header 'frame,time_s'")
    header = tuple(cell.strip() for cell in lines[0].split(","))
    if header != HEADER:
        raise MovieFileError(path, f"header {lines[0].strip()!r}; expected 'frame,time_s'")

    frames_list, times_list, line_numbers = _parse_rows(path, lines)
    if not frames_list:
        raise MovieFileError(path, f"no frame rows; the movie has {n_frames} frames")
    frames = np.asarray(frames_list, dtype=np.int64)
    times = np.asarray(times_list, dtype=np.float64)

    outside = np.flatnonzero((frames < 0) | (frames >= n_frames))
    if outside.size:
        k = int(outside[0])
        raise MovieFileError(
            path,
            f"line {line_numbers[k]}: frame {frames[k]} is outside "
            f"0..{n_frames - 1} (the movie has {n_frames} frames)",
        )
    order = np.argsort(frames, kind="stable")
    repeated = np.flatnonzero(np.diff(frames[order]) == 0)
    if repeated.size:
        first, again = order[repeated[0]], order[repeated[0] + 1]
        raise MovieFileError(
            path,
            f"line {line_numbers[again]}: frame {frames[again]} appears "
            f"again (first on line {line_numbers[first]})",
        )
    if frames.size != n_frames:
        missing = np.setdiff1d(np.arange(n_frames), frames)
        raise MovieFileError(
            path,
            f"{_describe_missing(missing)} missing; the movie has "
            f"{n_frames} frames (0..{n_frames - 1})",
        )

    in_order = times[order]
    not_after = np.flatnonzero(np.diff(in_order) <= 0)
    if not_after.size:
        i = int(not_after[0]) + 1
        raise MovieFileError(
            path,
            f"time_s not strictly increasing: frame {i} at "
            f"{float(in_order[i])!r} s is not after frame {i - 1} at "
            f"{float(in_order[i - 1])!r} s",
        )
    return in_order
