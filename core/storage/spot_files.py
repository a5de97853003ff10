"""One HDF5 file per measured spot: trace, IRM movie, metadata and provenance.

Layout (units in dataset names)::

    /trace/time_s, /trace/potential_V, /trace/current_A      float64 (N,)
    /movie/frames                                            (T, rows, cols), one frame a chunk
    /movie/times_s                                           float64 (T,), same clock as the trace
    attrs on /: format, software_version, grid_hash, instrument, run_id, spot_order,
                written_at, plus the caller's metadata (JSON-encoded when not a scalar)
    attrs on /movie: pixel_size_nm

Files are written to a temporary name in the same folder, flushed and fsynced, then renamed
over the final name, so a reader (or a crash) never sees half a file; the caller commits the
ledger only after :func:`write_spot_file` returns the checksum.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

import core
from core.errors import MeniscusError
from core.io.atomic import fsync_folder
from core.traces import Trace

FORMAT = "meniscus-spot/1"
TEMP_SUFFIX = ".partial"


class SpotFileError(MeniscusError):
    """A spot file cannot be written or read back."""


@dataclass(frozen=True)
class SpotMovie:
    """Frames of a spot's IRM movie with per-frame times (s) on the trace's clock."""

    frames: np.ndarray
    times_s: np.ndarray
    pixel_size_nm: float | None = None


@dataclass(frozen=True)
class SpotRecord:
    """What a spot file holds once read back."""

    trace: Trace
    movie: SpotMovie | None
    attributes: dict = field(default_factory=dict)


def write_spot_file(
    path: str | Path,
    trace: Trace,
    *,
    movie: SpotMovie | None = None,
    provenance: dict | None = None,
) -> str:
    """Write a spot file atomically and return its SHA-256 (hex).

    Parameters
    ----------
    path : path of the final ``.h5`` file; its folder is created if needed.
    trace : the electrochemical record.
    movie : optional IRM movie; frames are stored one per chunk in their native dtype.
    provenance : attributes for the root group (grid hash, instrument, run id...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if movie is not None and len(movie.frames) != len(movie.times_s):
        raise SpotFileError(
            f"{path}: movie has {len(movie.frames)} frames but {len(movie.times_s)} frame times"
        )
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
    )
    os.close(handle)
    try:
        with h5py.File(temp_name, "w") as h5:
            _write_contents(h5, trace, movie, provenance or {})
        with open(temp_name, "rb") as stream:
            digest = _sha256_of(stream)
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return digest


def _write_contents(h5: h5py.File, trace: Trace, movie: SpotMovie | None, provenance: dict):
    h5.attrs["format"] = FORMAT
    h5.attrs["software_version"] = core.__version__
    h5.attrs["written_at"] = datetime.now(UTC).isoformat()
    for key, value in {**trace.metadata, **provenance}.items():
        h5.attrs[key] = value if isinstance(value, (int, float, str, bool)) else json.dumps(value)
    group = h5.create_group("trace")
    group["time_s"] = np.asarray(trace.time_s, dtype=np.float64)
    group["potential_V"] = np.asarray(trace.potential_V, dtype=np.float64)
    group["current_A"] = np.asarray(trace.current_A, dtype=np.float64)
    if movie is not None:
        frames = np.asarray(movie.frames)
        movie_group = h5.create_group("movie")
        movie_group.create_dataset(
            "frames", data=frames, chunks=(1, *frames.shape[1:]) if frames.size else None
        )
        movie_group["times_s"] = np.asarray(movie.times_s, dtype=np.float64)
        if movie.pixel_size_nm is not None:
            movie_group.attrs["pixel_size_nm"] = float(movie.pixel_size_nm)


def read_spot_file(path: str | Path, *, load_frames: bool = True) -> SpotRecord:
    """Read a spot file back (frames skipped with ``load_frames=False``)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("format") != FORMAT:
                raise SpotFileError(f"{path}: not a Meniscus spot file ({FORMAT} expected)")
            trace = Trace(
                time_s=h5["trace/time_s"][()],
                potential_V=h5["trace/potential_V"][()],
                current_A=h5["trace/current_A"][()],
            )
            movie = None
            if "movie" in h5:
                frames = h5["movie/frames"]
                movie = SpotMovie(
                    frames=frames[()] if load_frames else np.empty((0, *frames.shape[1:])),
                    times_s=h5["movie/times_s"][()],
                    pixel_size_nm=h5["movie"].attrs.get("pixel_size_nm"),
                )
            attributes = {key: _decode(value) for key, value in h5.attrs.items()}
    except (OSError, KeyError) as error:
        raise SpotFileError(f"{path}: cannot read spot file ({error})") from error
    return SpotRecord(trace=trace, movie=movie, attributes=attributes)


def read_movie_frame(path: str | Path, index: int) -> np.ndarray:
    """Read one movie frame (one HDF5 chunk) without touching the others."""
    with h5py.File(path, "r") as h5:
        frames = h5["movie/frames"]
        if not 0 <= index < frames.shape[0]:
            raise SpotFileError(f"{path}: frame {index} outside 0..{frames.shape[0] - 1}")
        return frames[index]


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, to check a spot file against the ledger."""
    with open(path, "rb") as stream:
        return _sha256_of(stream)


def orphan_temporary_files(folder: str | Path) -> list[Path]:
    """Temporary files left by an interrupted write under ``folder`` (safe to delete)."""
    return sorted(Path(folder).rglob(f".*{TEMP_SUFFIX}"))


def _sha256_of(stream) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _decode(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value
