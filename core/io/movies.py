"""Open IRM movies as lazily read frame stacks with per-frame times and a pixel size.

Formats (recognised by their first bytes, not their extension)
----------------------------------------------------------------
- **Multi-page TIFF** as camera software writes it (one page per frame), classic or BigTIFF.
- **OME-TIFF**: ``PhysicalSizeX`` with its unit, ``Plane/@DeltaT`` per plane.
- **Micro-Manager** stacks (``*_MMStack*.ome.tif``): ``ElapsedTime-ms`` and ``PixelSizeUm``
  from each image's JSON (tag 51123), ``BitDepth``.
- **ImageJ hyperstacks**: ``finterval`` (uniform), XResolution with ``unit``.
- **AVI**: gray, YUV (luma) or RGB (BT.601 luma); times from the container's timestamps.

One time axis only: a file with several channels, z-planes or positions is rejected. RGB frames
become luma. Samples are 8- or 16-bit unsigned; 12-bit cameras store 16-bit words and
``bit_depth`` says 12 when the file records it.

Frame times (``times_s``, seconds from the first frame; ``time_source`` says which)
-------------------------------------------------------------------------------------
1. ``frame_times_csv`` when given (``"sidecar"``, see :mod:`core.io.frame_times`): an explicit
   file wins over the movie's own metadata, as a given pixel size does; what the metadata said
   is kept in ``metadata["time_detail_in_file"]``.
2. The file's metadata (``"metadata"``): Micro-Manager ``ElapsedTime-ms``, OME ``DeltaT`` (or
   ``TimeIncrement``), ImageJ ``finterval``, AVI timestamps, in that order. Recorded per-frame
   times are kept exactly (only shifted so the first frame is at 0). ``time_detail`` names the
   field, and says "uniform" when the file holds a single interval rather than real times.
3. ``nominal_interval_s`` (``"nominal"``).

Pixel size (``pixel_size_nm``, along columns)
----------------------------------------------
``pixel_size_nm`` when given (source ``"given"``; the file's value is kept in
``metadata["pixel_size_in_file"]``), else Micro-Manager ``PixelSizeUm``, OME ``PhysicalSizeX``,
ImageJ resolution and unit, TIFF XResolution with ResolutionUnit inch/cm, else None.

Errors
------
Every unreadable file raises :class:`MovieFileError` (a :class:`core.errors.MeniscusError`)
with a one-line ``"<path>: <problem>"`` message: missing, empty, unsupported format, corrupt,
truncated (frames the metadata promises missing, an IFD chain or frame data running past the
end of the file, an AVI with fewer frames than its header), unsupported layout or sample type,
a declared decoded size over ``max_bytes`` (default 16 GiB), or bad frame-time metadata. All
are checked from headers and the file size before any pixel memory is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import MovieFileError
from core.io.frame_times import read_frame_times
from core.io.movie_formats.avi_movie import open_avi_movie
from core.io.movie_formats.frame_source import FrameSource, OpenedMovie
from core.io.movie_formats.tiff_layout import DEFAULT_MAX_BYTES, file_size_checked, sniff_format
from core.io.movie_formats.tiff_movie import open_tiff_movie

__all__ = ["DEFAULT_MAX_BYTES", "Movie", "MovieFileError", "open_movie"]

#: ``time_source`` values
TIME_SOURCES = ("metadata", "sidecar", "nominal")


@dataclass(frozen=True, eq=False)
class Movie:
    """An opened movie: geometry, per-frame times, pixel size, and frames read on demand.

    Attributes
    ----------
    path : Path
        The movie file.
    shape : (T, rows, cols)
        Frames, rows and columns.
    dtype : numpy dtype
        ``uint8`` or ``uint16``, native byte order, as frames are returned.
    bit_depth : int or None
        Significant bits per sample when the file records them (e.g. 12 for a 12-bit camera
        written as 16-bit words); 8 for 8-bit data.
    times_s : (T,) float64 ndarray
        Time of each frame, s, from the first frame (``times_s[0] == 0``); read-only.
    time_source : str
        ``"metadata"``, ``"sidecar"`` or ``"nominal"``.
    time_detail : str
        The field or file the times came from, e.g. ``"Micro-Manager ElapsedTime-ms"``.
    pixel_size_nm : float or None
        Pixel size along columns, nm; None when unknown.
    pixel_size_source : str or None
        ``"given"``, ``"metadata: OME PhysicalSizeX"``, ``"metadata: Micro-Manager
        PixelSizeUm"``, ``"metadata: ImageJ resolution"``, ``"metadata: TIFF resolution"``,
        or None when unknown.
    metadata : dict
        Format, raw metadata of interest, ``first_frame_time_s`` (the first frame's time as
        recorded) and ``warnings`` (metadata seen but not trusted).
    """

    path: Path
    shape: tuple[int, int, int]
    dtype: np.dtype
    bit_depth: int | None
    times_s: np.ndarray
    time_source: str
    time_detail: str
    pixel_size_nm: float | None
    pixel_size_source: str | None
    metadata: dict
    _source: FrameSource = field(repr=False)

    @property
    def n_frames(self) -> int:
        return self.shape[0]

    def __len__(self) -> int:
        return self.shape[0]

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (negative counts from the end) as a ``(rows, cols)`` array."""
        n = self.shape[0]
        if not -n <= index < n:
            raise IndexError(f"frame {index} out of range for a movie of {n} frames")
        index %= n
        return self._source.read(index, index + 1)[0]

    def frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start`` to ``stop - 1`` as a ``(stop - start, rows, cols)`` array."""
        n = self.shape[0]
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise IndexError(f"frames {start}:{stop} out of range for a movie of {n} frames")
        if start == stop:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)
        return self._source.read(start, stop)

    def __getitem__(self, key) -> np.ndarray:
        """NumPy-style indexing that reads only the frames the time index selects.

        The time index (first) is an int or a slice with any step; the rest of ``key``
        (ints, slices, index arrays, a (rows, cols) boolean mask, ``None``, ``...``) is applied
        to those frames as NumPy applies it. ``movie[a:b, r0:r1, c0:c1]`` equals
        ``movie.frames(a, b)[:, r0:r1, c0:c1]``, but whole frames are read about 64 MB at a
        time and reduced before the next read, so a crop of a movie larger than memory can be
        taken. This lets analyses written for (T, R, C) arrays (``detect_landing``,
        ``process_movie``, ``nucleation_time_map``) take a Movie.

        Raises
        ------
        IndexError
            A time index that is neither an int nor a slice (NumPy would take index arrays
            there), one out of range, an invalid rest of ``key``, or index arrays separated
            by ``None`` or ``...`` (NumPy would move their axes before the time axis).
        """
        key = key if isinstance(key, tuple) else (key,)
        time_key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if time_key is Ellipsis:
            # a leading ... covers the time axis unless the indices after it fill all 3 axes
            axes = sum(
                np.ndim(k) if np.asarray(k).dtype == bool else 1 for k in rest if k is not None
            )
            time_key, rest = (rest[0], rest[1:]) if axes >= 3 else (slice(None), key)
        advanced = [
            i
            for i, k in enumerate(rest)
            if not (k is None or k is Ellipsis or isinstance(k, slice))
        ]
        if any(np.ndim(rest[i]) for i in advanced) and advanced[-1] - advanced[0] >= len(advanced):
            raise IndexError(
                f"index arrays separated by None or ... in {key!r} would move the time axis; "
                "index the frames' array instead"
            )
        if not isinstance(time_key, slice):
            is_int = isinstance(time_key, (int, np.integer)) and not isinstance(time_key, bool)
            if not is_int:
                raise IndexError(f"the time axis takes an int or a slice, not {time_key!r}")
            return self.frame(int(time_key))[rest]

        selected = range(*time_key.indices(self.shape[0]))
        if not selected:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)[(slice(None), *rest)]
        frame_bytes = max(1, math.prod(self.shape[1:]) * self.dtype.itemsize)
        per_read = max(1, 64 * 2**20 // frame_bytes)
        out = None
        for first in range(0, len(selected), per_read):
            indices = selected[first : first + per_read]
            if abs(indices.step) == 1:  # consecutive frames: one read
                low = min(indices[0], indices[-1])
                block = self._source.read(low, low + len(indices))[:: indices.step]
            else:
                block = np.concatenate([self._source.read(i, i + 1) for i in indices])
            part = block[(slice(None), *rest)]
            if out is None:
                out = np.empty((len(selected), *part.shape[1:]), dtype=part.dtype)
            out[first : first + len(indices)] = part
        return out

    def iter_chunks(self, n_frames: int) -> Iterator[np.ndarray]:
        """Yield consecutive ``(k, rows, cols)`` chunks of ``k <= n_frames`` frames, in order.

        Only one chunk is held at a time, so a movie far larger than memory can be reduced
        chunk by chunk (e.g. a per-frame mean over a region).
        """
        if n_frames < 1:
            raise ValueError(f"n_frames must be at least 1, got {n_frames}")
        for start in range(0, self.shape[0], n_frames):
            yield self._source.read(start, min(start + n_frames, self.shape[0]))

    def close(self) -> None:
        """Close file handles; reading again reopens them."""
        self._source.close()

    def __enter__(self) -> Movie:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _positive(path: Path, name: str, value: float, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise MovieFileError(path, f"{name}={value!r} must be a positive, finite number of {unit}")
    return number


def _open_format(path: Path, max_bytes: int) -> OpenedMovie:
    file_size = file_size_checked(path, MovieFileError)
    kind = sniff_format(path)
    if kind in ("tiff", "bigtiff"):
        return open_tiff_movie(path, file_size=file_size, max_bytes=max_bytes)
    if kind == "avi":
        return open_avi_movie(path, max_bytes=max_bytes)
    with open(path, "rb") as fh:
        head = fh.read(8).hex(" ")
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        problem = (
            f"not a TIFF file (first bytes {head}; a TIFF starts with 49 49 2a 00 or 4d 4d 00 2a)"
        )
    elif suffix == ".avi":
        problem = f"not an AVI file (first bytes {head}; an AVI starts with RIFF....AVI)"
    else:
        problem = f"unsupported movie format (first bytes {head}); expected TIFF or AVI"
    raise MovieFileError(path, problem)


def _checked_metadata_times(path: Path, times_s: np.ndarray, detail: str) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(times_s))
    if bad.size:
        raise MovieFileError(
            path,
            f"{detail}: frame {bad[0]} has no finite time; pass "
            f"frame_times_csv with the true times",
        )
    not_after = np.flatnonzero(np.diff(times_s) <= 0)
    if not_after.size:
        i = int(not_after[0]) + 1
        raise MovieFileError(
            path,
            f"{detail} not strictly increasing: frame {i} at {float(times_s[i])!r} s is not "
            f"after frame {i - 1} at {float(times_s[i - 1])!r} s; pass frame_times_csv with "
            f"the true times",
        )
    return times_s


def open_movie(
    path: str | Path,
    *,
    frame_times_csv: str | Path | None = None,
    pixel_size_nm: float | None = None,
    nominal_interval_s: float = 0.23,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Movie:
    """Open an IRM movie without reading its pixels.

    Parameters
    ----------
    path : str or Path
        TIFF (plain, OME, Micro-Manager, ImageJ) or AVI movie.
    frame_times_csv : str or Path, optional
        Sidecar ``frame,time_s`` CSV; used instead of the file's own times when given.
    pixel_size_nm : float, optional
        Pixel size, nm; used instead of the file's calibration when given.
    nominal_interval_s : float
        Frame interval, s, used only when neither the sidecar nor the file give times.
    max_bytes : int
        Largest decoded movie accepted (T × rows × cols × samples × bytes per sample).

    Returns
    -------
    Movie
        Close it (or use it as a context manager) to release the file.

    Raises
    ------
    MovieFileError
        The file or sidecar cannot be read; see the module docstring.
    """
    path = Path(path)
    if pixel_size_nm is not None:
        pixel_size_nm = _positive(path, "pixel_size_nm", pixel_size_nm, "nm")
    nominal_interval_s = _positive(path, "nominal_interval_s", nominal_interval_s, "s")
    opened = _open_format(path, max_bytes)
    metadata = dict(opened.metadata)
    try:
        times, time_source, time_detail = _frame_times(
            path, opened, frame_times_csv, nominal_interval_s, metadata
        )
    except MovieFileError:
        opened.source.close()
        raise
    metadata["first_frame_time_s"] = float(times[0])
    times_s = times - times[0]
    times_s.setflags(write=False)

    found = opened.pixel_size
    if pixel_size_nm is not None:
        size_nm, size_source = pixel_size_nm, "given"
        if found is not None:
            metadata["pixel_size_in_file"] = {"nm": found.nm, "source": found.source}
    elif found is not None:
        size_nm, size_source = found.nm, found.source
    else:
        size_nm, size_source = None, None

    return Movie(
        path=path,
        shape=(opened.n_frames, opened.rows, opened.cols),
        dtype=np.dtype(opened.dtype),
        bit_depth=opened.bit_depth,
        times_s=times_s,
        time_source=time_source,
        time_detail=time_detail,
        pixel_size_nm=size_nm,
        pixel_size_source=size_source,
        metadata=metadata,
        _source=opened.source,
    )


def _frame_times(
    path: Path,
    opened: OpenedMovie,
    frame_times_csv: str | Path | None,
    nominal_interval_s: float,
    metadata: dict,
) -> tuple[np.ndarray, str, str]:
    """Times as recorded (not shifted), their source and detail."""
    if frame_times_csv is not None:
        if opened.times is not None:
            metadata["time_detail_in_file"] = opened.times.detail
        times = read_frame_times(frame_times_csv, opened.n_frames)
        return times, "sidecar", f"sidecar {Path(frame_times_csv).name}"
    if opened.times is not None:
        times = _checked_metadata_times(
            path, np.array(opened.times.times_s, dtype=np.float64), opened.times.detail
        )
        return times, "metadata", opened.times.detail
    times = np.arange(opened.n_frames, dtype=np.float64) * nominal_interval_s
    return times, "nominal", f"nominal interval {nominal_interval_s:g} s"
