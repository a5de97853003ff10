"""File-level checks made before any pixel is read: size, format, IFD chain, data extents.

A damaged TIFF rarely fails loudly: a reader handed a file cut in half typically returns the
pages it could reach, zero-fills the frames its metadata promised but the file no longer holds,
or allocates whatever the header declares. Every check here uses only the file size and a few
header bytes, so a corrupt or hostile file is rejected before memory is allocated for it.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import tifffile

from core.errors import ImageFileError

#: default limit on the decoded size of a movie or image, bytes (16 GiB)
DEFAULT_MAX_BYTES = 16 * 2**30

#: byte sizes of the TIFF field types (TIFF 6.0 and BigTIFF)
_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}

#: an IFD with more entries than this is garbage, not a camera's page
_MAX_IFD_ENTRIES = 4096


def format_bytes(n_bytes: int | float) -> str:
    """Human-readable size: ``'300 bytes'``, ``'12.0 MiB'``, ``'18.6 GiB'``."""
    if n_bytes < 1024:
        return f"{int(n_bytes)} bytes"
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    raise AssertionError("unreachable")


def file_size_checked(path: Path, error_type: type[ImageFileError]) -> int:
    """Size of ``path`` in bytes; raise ``error_type`` if it is missing, a folder or empty."""
    if not path.exists():
        raise error_type(path, "file not found")
    if not path.is_file():
        raise error_type(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise error_type(path, "empty file (0 bytes)")
    return size


def sniff_format(path: Path) -> str | None:
    """``'tiff'``, ``'bigtiff'`` or ``'avi'`` from the file's magic bytes, else None."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "bigtiff"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def check_declared_bytes(
    path: Path,
    *,
    n_frames: int,
    frame_shape: Sequence[int],
    itemsize: int,
    max_bytes: int,
    error_type: type[ImageFileError],
) -> int:
    """Raise if the decoded data the header declares exceeds ``max_bytes``; return the size.

    ``frame_shape`` is ``(rows, cols)`` or ``(rows, cols, samples)``.
    """
    rows, cols, *rest = (int(n) for n in frame_shape)
    samples = rest[0] if rest else 1
    declared = n_frames * rows * cols * samples * itemsize
    if declared > max_bytes:
        per_pixel = f" × {samples} samples" if samples > 1 else ""
        raise error_type(
            path,
            f"declared image data {format_bytes(declared)} ({n_frames} frame(s) × {rows} × "
            f"{cols} px{per_pixel} × {itemsize} byte(s)) exceeds the limit "
            f"{format_bytes(max_bytes)} (max_bytes={max_bytes})",
        )
    return declared


def check_extents(
    path: Path,
    offsets: Sequence[int],
    byte_counts: Sequence[int],
    *,
    file_size: int,
    labels: Sequence[str],
    error_type: type[ImageFileError],
) -> None:
    """Raise if any data block ``[offset, offset + count)`` runs past the end of the file."""
    for offset, count, label in zip(offsets, byte_counts, labels, strict=True):
        end = int(offset) + int(count)
        if int(offset) < 0 or end > file_size:
            raise error_type(
                path,
                f"truncated: {label} data runs to byte {end}, beyond the end of the file "
                f"({file_size} bytes)",
            )


class IfdBeyondEnd(ValueError):
    """An IFD or tag value runs past the end of the file."""


class IfdCorrupt(ValueError):
    """An IFD cannot be a real one (absurd entry count)."""


class IfdEntry(NamedTuple):
    """One raw IFD entry: field type, value count, where its value lies, and its size.

    ``inline`` holds the value bytes when they fit in the entry itself (None otherwise).
    """

    tag: int
    field_type: int
    count: int
    value_position: int
    nbytes: int
    inline: bytes | None


@dataclass(frozen=True)
class TiffFormat:
    """Byte order and offset width of a TIFF file (classic or BigTIFF)."""

    byteorder: str  # '<' or '>'
    bigtiff: bool

    @classmethod
    def of(cls, tif: tifffile.TiffFile) -> TiffFormat:
        return cls(byteorder=tif.byteorder, bigtiff=tif.is_bigtiff)


def read_ifd(
    fh: BinaryIO, offset: int, fmt: TiffFormat, file_size: int
) -> tuple[dict[int, IfdEntry], int]:
    """Parse the IFD at ``offset``; values too large for the entry are not read.

    Returns
    -------
    entries : dict
        Tag number to :class:`IfdEntry`.
    next_offset : int
        Offset of the next IFD (0 at the end of the chain).

    Raises
    ------
    IfdBeyondEnd
        The IFD runs past the end of the file.
    IfdCorrupt
        The IFD claims an implausible number of entries.
    """
    bo = fmt.byteorder
    if fmt.bigtiff:
        count_fmt, entry_fmt, offset_fmt, inline_size = "Q", "HHQ8s", "Q", 8
    else:
        count_fmt, entry_fmt, offset_fmt, inline_size = "H", "HHI4s", "I", 4
    count_size = struct.calcsize(count_fmt)
    entry_size = struct.calcsize(bo + entry_fmt)
    offset_size = struct.calcsize(offset_fmt)
    if offset + count_size > file_size:
        raise IfdBeyondEnd(f"starts at byte {offset}, beyond the end of the file")
    fh.seek(offset)
    (n_entries,) = struct.unpack(bo + count_fmt, fh.read(count_size))
    if n_entries > _MAX_IFD_ENTRIES:
        raise IfdCorrupt(f"at byte {offset} claims {n_entries} entries")
    end = offset + count_size + n_entries * entry_size + offset_size
    if end > file_size:
        raise IfdBeyondEnd(f"at byte {offset} runs to byte {end}, beyond the end of the file")
    raw = fh.read(n_entries * entry_size + offset_size)
    entries = {}
    value_base = offset + count_size + entry_size - inline_size
    for i, (tag, field_type, count, value) in enumerate(
        struct.iter_unpack(bo + entry_fmt, raw[: n_entries * entry_size])
    ):
        nbytes = count * _TYPE_SIZES.get(field_type, 1)
        if nbytes <= inline_size:
            entries[tag] = IfdEntry(
                tag, field_type, count, value_base + i * entry_size, nbytes, value[:nbytes]
            )
        else:
            (position,) = struct.unpack(bo + offset_fmt, value)
            entries[tag] = IfdEntry(tag, field_type, count, position, nbytes, None)
    (next_offset,) = struct.unpack_from(bo + offset_fmt, raw, n_entries * entry_size)
    return entries, next_offset


def read_entry_bytes(fh: BinaryIO, entry: IfdEntry, file_size: int) -> bytes:
    """The raw value bytes of an IFD entry; ValueError if they run past the end of the file."""
    if entry.inline is not None:
        return entry.inline
    if entry.value_position + entry.nbytes > file_size:
        raise ValueError(
            f"tag {entry.tag} value runs to byte {entry.value_position + entry.nbytes}, "
            f"beyond the end of the file"
        )
    fh.seek(entry.value_position)
    return fh.read(entry.nbytes)


def walk_ifd_chain(
    path: Path, fmt: TiffFormat, *, file_size: int, error_type: type[ImageFileError]
) -> list[int]:
    """Offsets of every IFD, checked to lie, with every tag value, inside the file.

    Readers stop quietly at the first IFD or tag value they cannot reach, so a file cut short
    looks like a shorter, valid file (or loses its metadata). This walk follows the chain
    itself from the header to the IFD whose next offset is 0.

    Raises
    ------
    error_type
        An IFD or tag value runs past the end of the file (truncated), or the chain loops or
        cannot be parsed (corrupt).
    """
    offsets: list[int] = []
    seen: set[int] = set()
    with open(path, "rb") as fh:
        fh.seek(8 if fmt.bigtiff else 4)
        head = fh.read(8 if fmt.bigtiff else 4)
        (offset,) = struct.unpack(fmt.byteorder + ("Q" if fmt.bigtiff else "I"), head)
        while offset != 0:
            k = len(offsets)
            where = "the header" if k == 0 else f"IFD {k - 1}"
            if offset >= file_size:
                raise error_type(
                    path,
                    f"truncated: {where} points to IFD {k} at byte {offset}, beyond the end of "
                    f"the file ({file_size} bytes); {k} complete page(s)",
                )
            if offset in seen:
                raise error_type(
                    path, f"corrupt: {where} points back to byte {offset} (the IFD chain loops)"
                )
            seen.add(offset)
            try:
                entries, next_offset = read_ifd(fh, offset, fmt, file_size)
            except IfdBeyondEnd as exc:
                raise error_type(path, f"truncated: IFD {k} {exc} ({file_size} bytes)") from None
            except IfdCorrupt as exc:
                raise error_type(path, f"corrupt: IFD {k} {exc}") from None
            for entry in entries.values():
                end = entry.value_position + entry.nbytes
                if end > file_size:
                    name = tifffile.TIFF.TAGS.get(entry.tag, "private")
                    raise error_type(
                        path,
                        f"truncated: IFD {k} tag {entry.tag} ({name}) value runs to byte {end}, "
                        f"beyond the end of the file ({file_size} bytes)",
                    )
            offsets.append(offset)
            offset = next_offset
    if not offsets:
        raise error_type(path, "TIFF file holds no image (no IFD)")
    return offsets


_INTEGER_FORMATS = {1: "B", 3: "H", 4: "I", 16: "Q"}


def read_entry_integers(
    fh: BinaryIO, entry: IfdEntry, fmt: TiffFormat, file_size: int
) -> tuple[int, ...]:
    """The values of a BYTE, SHORT, LONG or LONG8 entry (e.g. StripOffsets)."""
    code = _INTEGER_FORMATS.get(entry.field_type)
    if code is None:
        raise ValueError(f"tag {entry.tag} has field type {entry.field_type}, not an integer")
    raw = read_entry_bytes(fh, entry, file_size)
    return struct.unpack(f"{fmt.byteorder}{entry.count}{code}", raw)


def check_ifd_chain_complete(
    path: Path,
    tif: tifffile.TiffFile,
    *,
    file_size: int,
    error_type: type[ImageFileError],
) -> list[int]:
    """Walk the IFD chain (:func:`walk_ifd_chain`) and check tifffile saw every page.

    Returns
    -------
    list of int
        Byte offset of every IFD (page), in chain order.
    """
    offsets = walk_ifd_chain(path, TiffFormat.of(tif), file_size=file_size, error_type=error_type)
    n_read = len(tif.pages)  # tifffile walks the whole chain
    if n_read != len(offsets):
        raise error_type(
            path,
            f"corrupt: the file chains {len(offsets)} IFDs, the TIFF reader could parse {n_read}",
        )
    return offsets


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def tifffile_messages() -> Iterator[list[str]]:
    """Collect tifffile's warnings instead of printing them; the caller decides what they mean."""
    logger = logging.getLogger("tifffile")
    handler = _Collect()
    previous = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


def open_tiff(path: Path, error_type: type[ImageFileError]) -> tifffile.TiffFile:
    """Open ``path`` with tifffile (single file only); raise ``error_type`` if it cannot parse."""
    try:
        return tifffile.TiffFile(path, _multifile=False)
    except (
        tifffile.TiffFileError,
        ValueError,
        struct.error,
        OSError,
        IndexError,
        KeyError,
        TypeError,
    ) as exc:
        raise error_type(path, f"corrupt TIFF: {exc}") from None
