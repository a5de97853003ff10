"""TIFF movies: plain multi-page TIFF, OME-TIFF, Micro-Manager stacks and ImageJ hyperstacks.

:func:`open_tiff_movie` checks the file and builds a frame table (where each frame's pixels lie)
without reading pixel data; :class:`TiffFrameSource` then reads any run of frames on demand.

Frames of uncompressed files (what Micro-Manager, ImageJ and camera software write) are read
straight from their byte ranges into an array of the chunk's size, so opening a 20 GB movie and
reading one frame reads one frame. Compressed, tiled or bit-packed pages (e.g. 12-bit packed)
are decoded page by page by tifffile.

Checks, all before any pixel is read:

- the IFD chain ends where the file says (a cut file does not pass for a shorter one);
- every frame's data lies inside the file;
- the frames the metadata promises are present (ImageJ ``images=``, OME planes);
- Micro-Manager frames come from the index map, each entry checked against its own IFD
  (:mod:`core.io.movie_formats.micromanager`). An acquisition stopped early is not damage: the
  index map lists the frames written, the Summary those planned; the written frames are kept
  and ``metadata["warnings"]`` says so;
- the declared decoded size is under ``max_bytes``.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from core.errors import MovieFileError
from core.io.movie_formats import micromanager
from core.io.movie_formats import tiff_metadata as tm
from core.io.movie_formats.frame_source import OpenedMovie
from core.io.movie_formats.luminance import samples_to_gray
from core.io.movie_formats.tiff_layout import (
    TiffFormat,
    check_declared_bytes,
    check_extents,
    check_ifd_chain_complete,
    open_tiff,
    tifffile_messages,
)

_SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
_PHOTOMETRIC_GRAY = (0, 1)  # min-is-white, min-is-black
_PHOTOMETRIC_COLOUR = (2, 3, 6)  # RGB, palette, YCbCr (decoded to RGB)


class TiffFrameSource:
    """Reads frames ``[start, stop)`` of one TIFF movie as a ``(n, rows, cols)`` array.

    Parameters
    ----------
    path : Path
        The file.
    frame_shape : (rows, cols, samples)
        Stored shape of one frame.
    file_dtype : numpy dtype
        Sample type with the file's byte order.
    offsets : (T,) int64 ndarray or None
        Byte offset of each frame's contiguous, uncompressed pixels; None to decode pages
        with tifffile instead.
    page_indices : list of int
        IFD index of each frame (used when decoding with tifffile).
    photometric : int
        TIFF PhotometricInterpretation of the frames.
    colormap : (3, 2**bits) uint16 ndarray or None
        Palette of palette-colour frames.
    """

    def __init__(
        self,
        path: Path,
        *,
        frame_shape: tuple[int, int, int],
        file_dtype: np.dtype,
        offsets: np.ndarray | None,
        page_indices: list[int],
        photometric: int,
        colormap: np.ndarray | None,
    ) -> None:
        self.path = path
        self.frame_shape = frame_shape
        self.file_dtype = file_dtype
        self.offsets = offsets
        self.page_indices = page_indices
        self.photometric = photometric
        self.colormap = colormap
        self.frame_nbytes = int(np.prod(frame_shape)) * file_dtype.itemsize
        self._lock = threading.Lock()
        self._fh = None
        self._tif: tifffile.TiffFile | None = None

    @property
    def dtype(self) -> np.dtype:
        return self.file_dtype.newbyteorder("=")

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            if self._tif is not None:
                self._tif.close()
                self._tif = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop - 1``: ``(n, rows, cols)`` in native byte order."""
        with self._lock:
            raw = (
                self._read_raw(start, stop)
                if self.offsets is not None
                else self._decode(start, stop)
            )
        return self._to_gray(raw)

    def _read_raw(self, start: int, stop: int) -> np.ndarray:
        if self._fh is None:
            self._fh = open(self.path, "rb")  # kept open for the next read, until close()
        out = np.empty((stop - start, *self.frame_shape), dtype=self.file_dtype)
        flat = out.reshape(stop - start, -1).view(np.uint8)
        i = start
        while i < stop:
            # one read per run of frames stored back to back, as most writers store them
            j = i + 1
            while j < stop and self.offsets[j] == self.offsets[j - 1] + self.frame_nbytes:
                j += 1
            self._fh.seek(int(self.offsets[i]))
            block = flat[i - start : j - start].reshape(-1)
            if self._fh.readinto(block) != block.nbytes:
                raise MovieFileError(
                    self.path,
                    f"truncated: frames {i}–{j - 1} could not be "
                    "read in full (file changed since it was opened?)",
                )
            i = j
        if not self.file_dtype.isnative:
            out.byteswap(inplace=True)
            out = out.view(self.dtype)
        return out

    def _decode(self, start: int, stop: int) -> np.ndarray:
        if self._tif is None:
            self._tif = tifffile.TiffFile(self.path, _multifile=False)
        out = np.empty((stop - start, *self.frame_shape), dtype=self.dtype)
        for k, index in enumerate(self.page_indices[start:stop]):
            page = self._tif.pages[index]
            try:
                data = page.asarray()
            except (ValueError, RuntimeError, OSError, tifffile.TiffFileError) as exc:
                # codec errors (zlib, LZW, JPEG...) surface as ValueError or RuntimeError
                raise MovieFileError(
                    self.path, f"corrupt: frame {start + k} (IFD {index}) cannot be decoded: {exc}"
                ) from None
            if data.ndim == 3 and page.axes.startswith("S"):  # planar-separate samples
                data = np.moveaxis(data, 0, -1)
            out[k] = data.reshape(self.frame_shape)
        return out

    def _to_gray(self, frames: np.ndarray) -> np.ndarray:
        return samples_to_gray(frames, photometric=self.photometric, colormap=self.colormap)


def _time_axis(path: Path, axes: str, shape: tuple[int, ...]) -> tuple[str, int, int]:
    """The one non-spatial axis (treated as time), its length and samples per pixel."""
    sizes = dict(zip(axes, shape, strict=True))
    samples = sizes.get("S", 1)
    extra = [(a, n) for a, n in zip(axes, shape, strict=True) if a not in "YXS" and n > 1]
    if len(extra) > 1:
        dims = ", ".join(f"{a}={n}" for a, n in extra)
        raise MovieFileError(
            path,
            f"unsupported layout: axes {axes} with {dims}; expected one time axis (a single "
            f"channel, z-plane and position)",
        )
    if "Y" not in sizes or "X" not in sizes:
        raise MovieFileError(path, f"unsupported layout: axes {axes} have no rows and columns")
    axis, n_frames = extra[0] if extra else ("T", 1)
    return axis, n_frames, samples


def _classify(tif: tifffile.TiffFile) -> str:
    if tif.is_micromanager and tif.micromanager_metadata:
        return "Micro-Manager"
    if tif.is_ome:
        return "OME-TIFF"
    if tif.is_imagej:
        return "ImageJ hyperstack"
    return "TIFF"


def _checked_sample_type(path: Path, keyframe: tifffile.TiffPage) -> np.dtype:
    dtype = np.dtype(keyframe.dtype) if keyframe.dtype is not None else None
    if dtype not in _SUPPORTED_DTYPES:
        raise MovieFileError(
            path,
            f"unsupported sample type {dtype} ({keyframe.bitspersample} "
            f"bits); expected 8- or 16-bit unsigned camera data",
        )
    if keyframe.photometric not in _PHOTOMETRIC_GRAY + _PHOTOMETRIC_COLOUR:
        raise MovieFileError(
            path,
            f"unsupported photometric interpretation "
            f"{keyframe.photometric!r}; expected gray, RGB or palette",
        )
    return dtype


def _series_pages(path: Path, series: tifffile.TiffPageSeries, kind: str) -> list:
    """The series' pages; frames the metadata promise but the file lacks are truncation."""
    series.parent.pages.useframes = True  # light TiffFrames: offsets only, shape from keyframe
    pages = list(series)
    missing = [i for i, page in enumerate(pages) if page is None]
    if missing:
        promise = {"OME-TIFF": "OME-XML", "Micro-Manager": "Micro-Manager metadata"}.get(
            kind, "metadata"
        )
        raise MovieFileError(
            path,
            f"truncated: {len(missing)} of the {len(pages)} frames the {promise} promises are "
            f"missing from the file (first missing: frame {missing[0]})",
        )
    return pages


def _frame_offsets(
    path: Path,
    pages: list,
    series: tifffile.TiffPageSeries,
    n_frames: int,
    frame_nbytes: int,
    file_size: int,
    fast: bool,
) -> np.ndarray | None:
    """Byte offset of each frame's pixels (None when pages must be decoded); checks extents."""
    labels = [f"frame {i}" for i in range(n_frames)]
    if len(pages) < n_frames:
        # ImageJ writes no IFD past 4 GiB: frames follow each other from the first one
        if series.dataoffset is None or not fast:
            raise MovieFileError(
                path,
                f"corrupt: the metadata declare {n_frames} frames but "
                f"only {len(pages)} pages hold image data",
            )
        offsets = series.dataoffset + frame_nbytes * np.arange(n_frames, dtype=np.int64)
        check_extents(
            path,
            offsets,
            [frame_nbytes] * n_frames,
            file_size=file_size,
            labels=labels,
            error_type=MovieFileError,
        )
        return offsets
    for i, page in enumerate(pages):
        if len(page.dataoffsets) == 0:
            raise MovieFileError(path, f"corrupt: frame {i} (IFD {page.index}) has no pixel data")
        check_extents(
            path,
            page.dataoffsets,
            page.databytecounts,
            file_size=file_size,
            labels=[f"frame {i} (IFD {page.index})"] * len(page.dataoffsets),
            error_type=MovieFileError,
        )
    if not fast:
        return None
    for i, page in enumerate(pages):
        stored = sum(page.databytecounts)
        if stored < frame_nbytes:
            raise MovieFileError(
                path,
                f"corrupt: frame {i} (IFD {page.index}) stores {stored} bytes of pixels, "
                f"its dimensions need {frame_nbytes}",
            )
    offsets = np.array([p.dataoffsets[0] for p in pages], dtype=np.int64)
    check_extents(
        path,
        offsets,
        [frame_nbytes] * n_frames,
        file_size=file_size,
        labels=labels,
        error_type=MovieFileError,
    )
    return offsets


@dataclass
class _Layout:
    """Frames found in the file: count, axes, pixel locations, per-frame MM JSON."""

    n_frames: int
    axes: str
    time_axis: str
    samples: int
    offsets: np.ndarray | None
    page_indices: list[int]
    mm_json: list[dict | None]


def _mm_layout(
    path: Path,
    tif: tifffile.TiffFile,
    mm: dict,
    chain: list[int],
    file_size: int,
    max_bytes: int,
    warnings: list[str],
) -> _Layout:
    keyframe = tif.pages.first
    dtype = _checked_sample_type(path, keyframe)
    samples = int(keyframe.samplesperpixel)
    rows, cols = int(keyframe.imagelength), int(keyframe.imagewidth)
    index_map = mm["IndexMap"]
    check_declared_bytes(
        path,
        n_frames=len(index_map),
        frame_shape=(rows, cols, samples),
        itemsize=dtype.itemsize,
        max_bytes=max_bytes,
        error_type=MovieFileError,
    )
    expected = {256: cols, 257: rows, 258: int(keyframe.bitspersample), 277: samples}
    table = micromanager.frame_table(
        path,
        TiffFormat.of(tif),
        index_map,
        chain_offsets=chain,
        expected=expected,
        frame_nbytes=rows * cols * samples * dtype.itemsize,
        file_size=file_size,
    )
    n_frames = len(table.offsets)
    planned = mm.get("Summary", {}).get("Frames")
    if isinstance(planned, int) and planned > n_frames:
        warnings.append(
            f"Micro-Manager Summary plans {planned} frames, this file holds {n_frames}: the "
            f"acquisition stopped early, or the other frames are in further files of the "
            f"dataset, which are not read"
        )
    if table.first_frame_index:
        warnings.append(
            f"this file starts at frame {table.first_frame_index} of its Micro-Manager dataset"
        )
    return _Layout(
        n_frames=n_frames,
        axes="TYXS" if samples > 1 else "TYX",
        time_axis="T",
        samples=samples,
        offsets=table.offsets,
        page_indices=[],
        mm_json=table.frame_json,
    )


def _series_layout(
    path: Path,
    tif: tifffile.TiffFile,
    kind: str,
    imagej: dict,
    file_size: int,
    max_bytes: int,
    warnings: list[str],
) -> _Layout:
    series = tif.series[0]
    axes, shape = series.axes, tuple(series.shape)
    if len(tif.series) > 1:
        others = "; ".join(f"{s.axes} {tuple(s.shape)}" for s in tif.series[1:4])
        warnings.append(
            f"the file holds {len(tif.series)} image series; the first ({axes} "
            f"{shape}) is read, not {others}"
        )
    time_axis, n_declared, samples = _time_axis(path, axes, shape)
    keyframe = series.keyframe
    dtype = _checked_sample_type(path, keyframe)
    rows, cols = int(keyframe.imagelength), int(keyframe.imagewidth)
    check_declared_bytes(
        path,
        n_frames=n_declared,
        frame_shape=(rows, cols, samples),
        itemsize=dtype.itemsize,
        max_bytes=max_bytes,
        error_type=MovieFileError,
    )
    if kind == "ImageJ hyperstack":
        promised = int(imagej.get("images", n_declared))
        if promised > n_declared:
            raise MovieFileError(
                path,
                f"truncated: the ImageJ header promises {promised} "
                f"images, the file holds {n_declared}",
            )
    pages = _series_pages(path, series, kind)[:n_declared]
    fast = bool(keyframe.is_final) and keyframe.planarconfig == 1
    frame_nbytes = rows * cols * samples * dtype.itemsize
    offsets = _frame_offsets(path, pages, series, n_declared, frame_nbytes, file_size, fast)
    mm_json = []
    if kind == "Micro-Manager":  # MM images without an index map (re-saved, or MM 1.3)
        mm_json = micromanager.frame_json_of_ifds(
            path, TiffFormat.of(tif), [int(p.offset) for p in pages], file_size
        )
    return _Layout(
        n_frames=n_declared,
        axes=axes,
        time_axis=time_axis,
        samples=samples,
        offsets=offsets,
        page_indices=[int(p.index) for p in pages] if len(pages) == n_declared else [],
        mm_json=mm_json,
    )


def open_tiff_movie(path: Path, *, file_size: int, max_bytes: int) -> OpenedMovie:
    """Check a TIFF movie and describe it; no pixel data is read.

    Raises
    ------
    MovieFileError
        Corrupt, truncated, unsupported layout or sample type, or larger than ``max_bytes``.
    """
    warnings: list[str] = []
    with tifffile_messages() as reader_messages:
        tif = open_tiff(path, MovieFileError)
        try:
            return _describe(path, tif, file_size, max_bytes, warnings, reader_messages)
        except (
            tifffile.TiffFileError,
            ValueError,
            struct.error,
            IndexError,
            KeyError,
            TypeError,
        ) as exc:
            raise MovieFileError(path, f"corrupt TIFF: {exc}") from None
        finally:
            tif.close()


def _describe(
    path: Path,
    tif: tifffile.TiffFile,
    file_size: int,
    max_bytes: int,
    warnings: list[str],
    reader_messages: list[str],
) -> OpenedMovie:
    chain = check_ifd_chain_complete(path, tif, file_size=file_size, error_type=MovieFileError)
    kind = _classify(tif)
    mm = (tif.micromanager_metadata or {}) if kind == "Micro-Manager" else {}
    if kind == "Micro-Manager":
        micromanager.check_header(path, tif.byteorder, file_size)
    pixels = tm.ome_pixels(tif.ome_metadata) if tif.is_ome else None
    if pixels is not None:
        others = {name for name in tm.ome_referenced_files(pixels) if name != path.name}
        if others:
            raise MovieFileError(
                path,
                f"unsupported: part of a multi-file OME dataset (also "
                f"{', '.join(sorted(others))}); open a single-file movie",
            )
    imagej = tif.imagej_metadata or {}

    if len(mm.get("IndexMap", ())):
        layout = _mm_layout(path, tif, mm, chain, file_size, max_bytes, warnings)
    else:
        layout = _series_layout(path, tif, kind, imagej, file_size, max_bytes, warnings)
    keyframe = tif.pages.first
    n_frames = layout.n_frames
    first_mm = layout.mm_json[0] if layout.mm_json else None
    tag_values = tm.page_tag_values(keyframe)

    times = tm.mm_frame_times(layout.mm_json) if layout.mm_json else None
    if times is None and pixels is not None:
        times = tm.ome_frame_times(pixels, n_frames, layout.time_axis)
    if times is None and imagej:
        times = tm.imagej_frame_times(imagej, n_frames)

    pixel_size = tm.mm_pixel_size(first_mm, mm.get("Summary")) if kind == "Micro-Manager" else None
    if pixel_size is None and pixels is not None:
        pixel_size = tm.ome_pixel_size(pixels, warnings)
    if pixel_size is None and imagej:
        pixel_size = tm.imagej_pixel_size(tag_values, imagej, warnings)
    if pixel_size is None:
        pixel_size = tm.resolution_pixel_size(tag_values, warnings)
    if (
        pixel_size is not None
        and pixel_size.rows_nm is not None
        and abs(pixel_size.rows_nm - pixel_size.nm) > 1e-3 * pixel_size.nm
    ):
        warnings.append(
            f"pixels are not square: {pixel_size.nm:g} nm along columns, "
            f"{pixel_size.rows_nm:g} nm along rows; pixel_size_nm is the column size"
        )

    dtype = np.dtype(keyframe.dtype)
    bit_depth = tm.mm_bit_depth(first_mm, mm.get("Summary")) if kind == "Micro-Manager" else None
    if bit_depth is None and pixels is not None:
        bit_depth = tm.ome_significant_bits(pixels)
    if bit_depth is None and dtype == np.uint8:
        bit_depth = 8
    if bit_depth is not None and not 1 <= bit_depth <= 8 * dtype.itemsize:
        warnings.append(f"declared bit depth {bit_depth} does not fit {dtype}; ignored")
        bit_depth = None
    if layout.time_axis not in "TIQ":  # I and Q: tifffile's names for plain page sequences
        warnings.append(f"the only non-spatial axis is {layout.time_axis}; it is read as time")

    source = TiffFrameSource(
        path,
        frame_shape=(int(keyframe.imagelength), int(keyframe.imagewidth), layout.samples),
        file_dtype=dtype.newbyteorder(tif.byteorder),
        offsets=layout.offsets,
        page_indices=layout.page_indices,
        photometric=int(keyframe.photometric),
        colormap=np.asarray(keyframe.colormap, dtype=np.uint16)
        if keyframe.photometric == 3
        else None,
    )
    metadata = {
        "format": kind,
        "axes": layout.axes,
        "time_axis": layout.time_axis,
        "n_ifds": len(chain),
        "compression": int(keyframe.compression),
        "samples_per_pixel": layout.samples,
        "warnings": warnings,
        "reader_messages": list(reader_messages),
    }
    if imagej:
        metadata["imagej"] = dict(imagej)
    if mm:
        metadata["micromanager_summary"] = mm.get("Summary", {})
        metadata["micromanager_first_frame"] = first_mm or {}
    if pixels is not None:
        metadata["ome_pixels"] = dict(pixels.attrib)
    return OpenedMovie(
        n_frames=n_frames,
        rows=int(keyframe.imagelength),
        cols=int(keyframe.imagewidth),
        dtype=dtype,
        bit_depth=bit_depth,
        times=times,
        pixel_size=pixel_size,
        source=source,
        metadata=metadata,
    )
