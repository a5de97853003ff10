"""Write movies, SEM images, pictures and arrays atomically, in forms our readers understand.

- :func:`write_ome_tiff`: an IRM movie as OME-TIFF with ``PhysicalSizeX``/``Y`` in nm and the
  frame times as per-plane ``DeltaT`` in s, so :func:`core.io.movies.open_movie` reads times
  and pixel size from the file itself (``time_source == "metadata"``).
- :func:`write_sem_tiff`: an SEM image as a TIFF with XResolution/YResolution in pixels per
  centimetre, which :func:`core.io.sem_images.read_sem_image` turns back into nm.
- :func:`write_png`: an RGB (or grey) picture, e.g. a QA overlay.
- :func:`write_npy`: an array as ``.npy`` (e.g. a t_nuc(IRM) map).
- :func:`write_truth`: a simulation's ground truth as the JSON sidecar ``<file>.truth.json``,
  exactly as :func:`core.io.traces.write_trace` writes it (its helpers are reused).

Every file is written to a temporary name in the destination's folder, flushed to disk and
renamed over the destination (``os.replace``): a reader sees the old file or the whole new
one, and a failure (a full disk, an interrupt, data the format refuses) leaves no partial
file behind. Problems raise :class:`core.errors.ImageFileError` naming the file.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np
import tifffile

from core.errors import ImageFileError, TraceFileError
from core.io.atomic import fsync_folder, write_text_atomically
from core.io.traces import format_truth, truth_path

__all__ = ["write_npy", "write_ome_tiff", "write_png", "write_sem_tiff", "write_truth"]

#: sample types the movie and SEM readers accept
_CAMERA_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
#: OME entries set from the arguments, which ``metadata`` may not replace
_OME_OWN_KEYS = frozenset(
    {"axes", "PhysicalSizeX", "PhysicalSizeXUnit", "PhysicalSizeY", "PhysicalSizeYUnit", "Plane"}
)
_CM_PER_NM = 1e-7


def write_ome_tiff(
    path: str | os.PathLike,
    frames,
    times_s,
    *,
    pixel_size_nm: float,
    metadata: Mapping | None = None,
) -> Path:
    """Write a movie as an OME-TIFF (one plane per frame) with its times and pixel size.

    Parameters
    ----------
    path : str or path-like
        File to write (conventionally ``*.ome.tif``); its folder must exist.
    frames : (T, R, C) array_like of uint8 or uint16
        Frames, camera counts.
    times_s : (T,) array_like
        Time of every frame, s, finite and strictly increasing (any origin); stored as each
        plane's ``DeltaT`` in s, exactly (shortest round-trip decimal).
    pixel_size_nm : float
        Pixel size in the sample plane, nm (square pixels); stored as ``PhysicalSizeX``/``Y``
        with unit nm.
    metadata : mapping, optional
        Further OME ``Pixels`` entries as tifffile takes them, e.g. ``{"SignificantBits": 12}``
        for a 12-bit camera; they may not replace the axes, pixel size or plane times.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ImageFileError
        Frames, times or pixel size that cannot be written, or the file system refuses.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[0] < 1:
        raise ImageFileError(path, f"cannot write: frames must be (T, R, C); got {frames.shape}")
    _check_dtype(path, frames.dtype)
    times = _checked_times(path, times_s, frames.shape[0])
    size_nm = _checked_pixel_size(path, pixel_size_nm)
    extra = dict(metadata or {})
    clash = sorted(_OME_OWN_KEYS & set(extra))
    if clash:
        raise ImageFileError(
            path, f"cannot write: metadata may not set {', '.join(clash)} (set from the arguments)"
        )
    ome = {
        **extra,
        "axes": "TYX",
        "PhysicalSizeX": size_nm,
        "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": size_nm,
        "PhysicalSizeYUnit": "nm",
        "Plane": {"DeltaT": times.tolist(), "DeltaTUnit": ["s"] * times.size},
    }

    def write(handle: BinaryIO) -> None:
        tifffile.imwrite(handle, frames, ome=True, photometric="minisblack", metadata=ome)

    return _write_binary(path, write)


def write_sem_tiff(path: str | os.PathLike, image, *, pixel_size_nm: float) -> Path:
    """Write a grey SEM image as a TIFF whose resolution tags give the pixel size.

    Parameters
    ----------
    path : str or path-like
        File to write; its folder must exist.
    image : (M, N) array_like of uint8 or uint16
        Grey levels.
    pixel_size_nm : float
        Pixel size, nm (square pixels); stored as X/YResolution in pixels per centimetre
        (ResolutionUnit 3), as a rational good to about 1e-9.

    Returns
    -------
    Path

    Raises
    ------
    ImageFileError
        An image or pixel size that cannot be written, or the file system refuses.
    """
    path = Path(path)
    image = np.asarray(image)
    if image.ndim != 2 or 0 in image.shape:
        raise ImageFileError(path, f"cannot write: the image must be (M, N); got {image.shape}")
    _check_dtype(path, image.dtype)
    per_cm = 1.0 / (_checked_pixel_size(path, pixel_size_nm) * _CM_PER_NM)

    def write(handle: BinaryIO) -> None:
        tifffile.imwrite(
            handle,
            image,
            photometric="minisblack",
            resolution=(per_cm, per_cm),
            resolutionunit="CENTIMETER",
            metadata=None,
        )

    return _write_binary(path, write)


def write_png(path: str | os.PathLike, rgb) -> Path:
    """Write an (M, N, 3) RGB or (M, N) grey uint8 picture as a PNG.

    Raises
    ------
    ImageFileError
        Not 8-bit RGB or grey, or the file system refuses.
    """
    path = Path(path)
    picture = np.asarray(rgb)
    shape_ok = picture.ndim == 2 or (picture.ndim == 3 and picture.shape[2] == 3)
    if not shape_ok or 0 in picture.shape or picture.dtype != np.uint8:
        raise ImageFileError(
            path,
            f"cannot write: a PNG needs (M, N, 3) or (M, N) uint8; got {picture.shape} "
            f"{picture.dtype}",
        )
    picture = np.ascontiguousarray(picture)

    def write(handle: BinaryIO) -> None:
        # Pillow is installed with imageio (which encodes PNG through it anyway)
        from PIL import Image

        Image.fromarray(picture).save(handle, format="PNG")

    return _write_binary(path, write)


def write_npy(path: str | os.PathLike, array) -> Path:
    """Write ``array`` as a NumPy ``.npy`` file (dtype and shape kept; no pickled objects)."""
    path = Path(path)
    values = np.asarray(array)
    if values.dtype.hasobject:
        raise ImageFileError(path, "cannot write: an array of Python objects is not data")

    def write(handle: BinaryIO) -> None:
        np.save(handle, values, allow_pickle=False)

    return _write_binary(path, write)


def write_truth(path: str | os.PathLike, truth: Mapping) -> Path:
    """Write the ground truth of the file ``path`` as its sidecar ``<path>.truth.json``.

    The same JSON as :func:`core.io.traces.write_trace` writes (numpy values made plain,
    NaN refused), written atomically; :func:`core.io.traces.read_truth` reads it back.
    Returns the sidecar's path.
    """
    sidecar = truth_path(path)
    try:
        text = format_truth(sidecar, truth)
    except TraceFileError as exc:
        raise ImageFileError(exc.path, exc.problem) from None
    _check_folder(sidecar)
    try:
        write_text_atomically(sidecar, text)
    except OSError as exc:
        raise ImageFileError(sidecar, f"cannot write: {exc.strerror or exc}") from None
    return sidecar


# --- helpers ---------------------------------------------------------------------------------
def _check_dtype(path: Path, dtype: np.dtype) -> None:
    if dtype not in _CAMERA_DTYPES:
        raise ImageFileError(
            path, f"cannot write {dtype} samples; the readers take uint8 or uint16 (camera counts)"
        )


def _checked_times(path: Path, times_s, n_frames: int) -> np.ndarray:
    times = np.asarray(times_s, dtype=np.float64)
    if times.shape != (n_frames,):
        raise ImageFileError(path, f"cannot write: {times.size} frame times for {n_frames} frames")
    if not np.all(np.isfinite(times)):
        raise ImageFileError(path, "cannot write: frame times must be finite numbers of s")
    later = np.diff(times) > 0
    if not later.all():
        k = int(np.argmin(later)) + 1
        raise ImageFileError(
            path,
            f"cannot write: frame {k} at {times[k]!r} s is not after frame {k - 1} at "
            f"{times[k - 1]!r} s",
        )
    return times


def _checked_pixel_size(path: Path, pixel_size_nm: float) -> float:
    size = float(pixel_size_nm)
    if not (math.isfinite(size) and size > 0):
        raise ImageFileError(
            path, f"cannot write: pixel size {pixel_size_nm!r} nm must be a positive number of nm"
        )
    return size


def _check_folder(path: Path) -> None:
    if path.is_dir():
        raise ImageFileError(path, "is a folder; give a file name to write to")
    if not path.parent.is_dir():
        raise ImageFileError(path, f"cannot write: folder {str(path.parent)!r} does not exist")


def _write_binary(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync, rename over ``path``.

    On any failure, the encoder's included, the temporary file is removed and ``path`` is left
    as it was. Encoder errors become :class:`ImageFileError`; an interrupt propagates.
    """
    _check_folder(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "xb") as handle:  # "x": never reuse another writer's file
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ImageFileError(path, f"cannot write: {exc.strerror or exc}") from None
        if isinstance(exc, (ValueError, TypeError)):
            raise ImageFileError(path, f"cannot write: {exc}") from None
        raise
    fsync_folder(path.parent)
    return path
