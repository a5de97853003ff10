"""Micro-Manager stack files: frames from the index map, each image's JSON, header checks.

Micro-Manager's ``MultipageTiffWriter`` puts a header at byte 8 (offsets of the index map,
display settings and comments, then the Summary JSON), writes each image as an IFD, its pixels
and its JSON (tag 51123), and at close an index map: one ``(channel, slice, frame, position,
IFD offset)`` entry per image written. Readers that trust the index map blindly (tifffile
assumes each image's pixels sit 162 bytes after its IFD, and zero-fills entries pointing past
the end of the file) can return wrong or blank frames; here every entry must point at an IFD of
the file's own chain, and each frame's pixel location is read from that IFD.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import MovieFileError
from core.io.movie_formats import tiff_metadata as tm
from core.io.movie_formats.tiff_layout import (
    IfdEntry,
    TiffFormat,
    check_extents,
    read_entry_bytes,
    read_entry_integers,
    read_ifd,
)

#: magic number before the index map's offset at byte 8 of a Micro-Manager stack file
INDEX_MAP_OFFSET_HEADER = 54773648
#: TIFF tag holding each image's JSON
METADATA_TAG = 51123


@dataclass(frozen=True)
class FrameTable:
    """Where each frame of a Micro-Manager stack lies, in frame order.

    Attributes
    ----------
    offsets : (T,) int64 ndarray
        Byte offset of each frame's contiguous pixels.
    frame_json : list of dict or None
        Each image's MicroManagerMetadata (None where absent or unreadable).
    first_frame_index : int
        Frame index of the first frame (0 unless the file continues a multi-file dataset).
    """

    offsets: np.ndarray
    frame_json: list[dict | None]
    first_frame_index: int


def check_header(path: Path, byteorder: str, file_size: int) -> None:
    """Raise if the header places the index map beyond the end of the file (a cut file)."""
    with open(path, "rb") as fh:
        fh.seek(8)
        head = fh.read(8)
    if len(head) < 8:
        return
    header, offset = struct.unpack(byteorder + "II", head)
    if header == INDEX_MAP_OFFSET_HEADER and offset + 8 > file_size:
        raise MovieFileError(
            path,
            f"truncated: the Micro-Manager index map should start at byte {offset}, beyond the "
            f"end of the file ({file_size} bytes)",
        )


def _json_of(fh, entries: dict[int, IfdEntry], file_size: int) -> dict | None:
    entry = entries.get(METADATA_TAG)
    if entry is None:
        return None
    try:
        return tm.parse_mm_frame_json(read_entry_bytes(fh, entry, file_size))
    except ValueError:
        return None


def frame_json_of_ifds(
    path: Path, fmt: TiffFormat, ifd_offsets: list[int], file_size: int
) -> list[dict | None]:
    """The MicroManagerMetadata JSON of the IFDs at ``ifd_offsets``."""
    with open(path, "rb") as fh:
        return [
            _json_of(fh, read_ifd(fh, offset, fmt, file_size)[0], file_size)
            for offset in ifd_offsets
        ]


def _single(
    fh, entries: dict[int, IfdEntry], tag: int, fmt: TiffFormat, file_size: int, default: int
) -> int:
    entry = entries.get(tag)
    return read_entry_integers(fh, entry, fmt, file_size)[0] if entry else default


def _check_single_axis(path: Path, index_map: np.ndarray) -> None:
    counts = {
        name: len(np.unique(index_map[:, column]))
        for name, column in (("C", 0), ("Z", 1), ("P", 3))
    }
    if any(n > 1 for n in counts.values()):
        dims = ", ".join(f"{name}={n}" for name, n in counts.items())
        raise MovieFileError(
            path,
            f"unsupported layout: the Micro-Manager index map has {dims}; expected one time "
            f"axis (a single channel, z-plane and position)",
        )


def frame_table(
    path: Path,
    fmt: TiffFormat,
    index_map: np.ndarray,
    *,
    chain_offsets: list[int],
    expected: dict[int, int],
    frame_nbytes: int,
    file_size: int,
) -> FrameTable:
    """Frames listed in the index map, each checked against its own IFD.

    Parameters
    ----------
    index_map : (n, 5) uint32 ndarray
        Channel, slice, frame, position and IFD offset of every image written.
    chain_offsets : list of int
        Offsets of the IFDs in the file's chain.
    expected : dict
        Tag number to the value every image must have (width, length, bits, samples).
    frame_nbytes : int
        Bytes of pixels per frame.

    Raises
    ------
    MovieFileError
        Several channels/slices/positions, repeated or skipped frames, entries that point
        outside the file or at no IFD, or images that differ from the first.
    """
    _check_single_axis(path, index_map)
    order = np.argsort(index_map[:, 2], kind="stable")
    frames = index_map[order, 2].astype(np.int64)
    ifds = index_map[order, 4].astype(np.int64)
    first = int(frames[0])
    if not np.array_equal(frames, np.arange(first, first + len(frames))):
        raise MovieFileError(
            path,
            f"corrupt: the Micro-Manager index map lists frames "
            f"{first}..{int(frames[-1])} with repeats or gaps "
            f"({len(frames)} entries)",
        )
    in_chain = set(chain_offsets)
    offsets = np.empty(len(frames), dtype=np.int64)
    frame_json: list[dict | None] = []
    with open(path, "rb") as fh:
        for k, (frame, ifd) in enumerate(zip(frames.tolist(), ifds.tolist(), strict=True)):
            if ifd >= file_size:
                raise MovieFileError(
                    path,
                    f"truncated: the Micro-Manager index map puts frame "
                    f"{frame} at byte {ifd}, beyond the end of the file "
                    f"({file_size} bytes)",
                )
            if ifd not in in_chain:
                raise MovieFileError(
                    path,
                    f"corrupt: the Micro-Manager index map puts frame "
                    f"{frame} at byte {ifd}, where no IFD of the file is",
                )
            entries, _ = read_ifd(fh, ifd, fmt, file_size)
            for tag, value in expected.items():
                found = _single(fh, entries, tag, fmt, file_size, default=1)
                if found != value:
                    raise MovieFileError(
                        path,
                        f"corrupt: frame {frame} (IFD at byte {ifd}) has "
                        f"tag {tag} = {found}, the first image {value}",
                    )
            if _single(fh, entries, 259, fmt, file_size, default=1) != 1:
                raise MovieFileError(path, f"unsupported: frame {frame} is compressed")
            strips = read_entry_integers(fh, entries[273], fmt, file_size)
            counts = read_entry_integers(fh, entries[279], fmt, file_size)
            contiguous = all(strips[i] + counts[i] == strips[i + 1] for i in range(len(strips) - 1))
            if not contiguous or sum(counts) != frame_nbytes:
                raise MovieFileError(
                    path,
                    f"corrupt: frame {frame} (IFD at byte {ifd}) stores "
                    f"{sum(counts)} bytes of pixels in {len(strips)} "
                    f"strip(s), its dimensions need {frame_nbytes}",
                )
            offsets[k] = strips[0]
            frame_json.append(_json_of(fh, entries, file_size))
    check_extents(
        path,
        offsets,
        [frame_nbytes] * len(offsets),
        file_size=file_size,
        labels=[f"frame {f}" for f in frames.tolist()],
        error_type=MovieFileError,
    )
    return FrameTable(offsets=offsets, frame_json=frame_json, first_frame_index=first)
