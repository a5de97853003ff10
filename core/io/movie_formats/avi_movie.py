"""AVI movies (the article's supplementary movies, ImageJ and camera-software exports).

Opening demultiplexes the file once without decoding, to count the frames actually stored,
collect their timestamps and keyframe flags, and compare the count with the header's. Frames
are then decoded on demand: a run that continues the previous read decodes on, any other read
seeks to the nearest keyframe before it.

Gray values: gray pixel formats are read as stored; YUV formats give their luma plane
(range-expanded to full scale by FFmpeg); RGB and palette formats are converted to RGB and
then to BT.601 luma (:mod:`core.io.movie_formats.luminance`).

Frame times are the container's presentation timestamps. AVI stores one frame rate, so these
are uniform unless frames were skipped; they are real per-frame times only when the recording
software wrote them that way.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.errors import MovieFileError
from core.io.movie_formats.frame_source import FrameTimes, OpenedMovie
from core.io.movie_formats.luminance import rgb_to_luminance
from core.io.movie_formats.tiff_layout import check_declared_bytes

_LUMA_PREFIXES = ("yuv", "yuvj", "nv", "uyvy", "yuyv", "yvyu")


def _gray_format(pix_fmt: str) -> tuple[str, np.dtype, int]:
    """FFmpeg format to decode to, output dtype and bit depth for a stream's pixel format."""
    if pix_fmt.startswith("gray"):
        bits = "".join(ch for ch in pix_fmt[4:] if ch.isdigit())
        depth = int(bits) if bits else 8
        if depth > 8:
            return "gray16le", np.dtype(np.uint16), depth
        return "gray", np.dtype(np.uint8), 8
    if pix_fmt.startswith(_LUMA_PREFIXES):
        return "gray", np.dtype(np.uint8), 8
    return "rgb24", np.dtype(np.uint8), 8


class AviFrameSource:
    """Decodes frames ``[start, stop)`` of one AVI file to ``(n, rows, cols)`` gray arrays."""

    def __init__(
        self,
        path: Path,
        *,
        pts: list[int | None],
        keyframes: list[bool],
        rows: int,
        cols: int,
        decode_format: str,
        dtype: np.dtype,
    ) -> None:
        self.path = path
        self.pts = pts
        self.keyframes = keyframes
        self.rows, self.cols = rows, cols
        self.decode_format = decode_format
        self.dtype = dtype
        self._index_of_pts = (
            {p: i for i, p in enumerate(pts)}
            if None not in pts and len(set(pts)) == len(pts)
            else None
        )
        self._lock = threading.Lock()
        self._container = None
        self._frames = None  # iterator of decoded frames
        self._next = 0  # index of the frame the iterator yields next

    def close(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
            self._container, self._frames, self._next = None, None, 0

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, self.rows, self.cols), dtype=self.dtype)
        with self._lock:
            if self._frames is None or start != self._next:
                self._position(start)
            while self._next < stop:
                frame = self._decode_next()
                index = self._index(frame)
                if index < self._next:  # a repeat of a frame already passed
                    continue
                if index > self._next:
                    self._frames = None
                    raise MovieFileError(
                        self.path,
                        f"corrupt: frame {self._next} of {len(self.pts)} is missing "
                        f"from the decoded stream (next came frame {index})",
                    )
                if index >= start:
                    out[index - start] = self._gray(frame)
                self._next = index + 1
        return out

    def _decode_next(self) -> av.VideoFrame:
        try:
            frame = next(self._frames, None)
        except (av.FFmpegError, ValueError) as exc:
            self._frames = None
            raise MovieFileError(
                self.path, f"corrupt: frame {self._next} cannot be decoded: {exc}"
            ) from None
        if frame is None:
            self._frames = None
            raise MovieFileError(
                self.path, f"corrupt: frame {self._next} of {len(self.pts)} could not be decoded"
            )
        return frame

    def _position(self, start: int) -> None:
        """Seek so the next decoded frame is at or before ``start`` (a keyframe)."""
        if self._container is None:
            self._container = av.open(str(self.path))
        stream = self._container.streams.video[0]
        key = start
        while key > 0 and not self.keyframes[key]:
            key -= 1
        if self._index_of_pts is None or key == 0:
            self._container.seek(0)
            key = 0
        else:
            self._container.seek(self.pts[key], stream=stream, backward=True, any_frame=False)
        self._frames = iter(self._container.decode(stream))
        self._next = key

    def _index(self, frame: av.VideoFrame) -> int:
        if self._index_of_pts is not None and frame.pts in self._index_of_pts:
            return self._index_of_pts[frame.pts]
        return self._next

    def _gray(self, frame: av.VideoFrame) -> np.ndarray:
        data = frame.to_ndarray(format=self.decode_format)
        if self.decode_format == "rgb24":
            return rgb_to_luminance(data)
        return data


def _timestamps(
    pts: list[int | None], time_base: Fraction | None, rate: Fraction | None
) -> FrameTimes | None:
    n = len(pts)
    if None not in pts and time_base is not None:
        first = pts[0]
        times = np.array([float((p - first) * time_base) for p in pts])
        steps = np.diff(np.array(pts, dtype=np.int64))
        if n > 1 and np.all(steps == steps[0]):
            fps = 1 / float(steps[0] * time_base)
            detail = f"AVI container timestamps (constant {fps:.6g} frames/s)"
            return FrameTimes(times, detail, per_frame=False)
        return FrameTimes(times, "AVI container timestamps", per_frame=True)
    if rate:
        return FrameTimes(
            np.arange(n) / float(rate),
            f"AVI frame rate {float(rate):.6g} frames/s (uniform)",
            per_frame=False,
        )
    return None


def open_avi_movie(path: Path, *, max_bytes: int) -> OpenedMovie:
    """Check an AVI movie and describe it; frames are decoded only when read.

    Raises
    ------
    MovieFileError
        Unreadable container, no video stream, fewer frames than the header declares, or a
        declared decoded size over ``max_bytes``.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise MovieFileError(path, f"corrupt AVI: {exc}") from None
    with container:
        if not container.streams.video:
            raise MovieFileError(path, "AVI holds no video stream")
        stream = container.streams.video[0]
        rows, cols = int(stream.codec_context.height), int(stream.codec_context.width)
        pix_fmt = stream.codec_context.pix_fmt or ""
        if rows <= 0 or cols <= 0 or not pix_fmt:
            raise MovieFileError(
                path, f"corrupt AVI: video stream of {cols} × {rows} px, pixel format {pix_fmt!r}"
            )
        decode_format, dtype, bit_depth = _gray_format(pix_fmt)
        declared = int(stream.frames)
        check_declared_bytes(
            path,
            n_frames=max(declared, 1),
            frame_shape=(rows, cols),
            itemsize=dtype.itemsize,
            max_bytes=max_bytes,
            error_type=MovieFileError,
        )
        pts: list[int | None] = []
        keyframes: list[bool] = []
        try:
            for packet in container.demux(stream):
                if packet.size:  # the demuxer ends with an empty flush packet
                    pts.append(packet.pts)
                    keyframes.append(bool(packet.is_keyframe))
        except (av.FFmpegError, ValueError) as exc:
            raise MovieFileError(path, f"corrupt AVI after {len(pts)} frames: {exc}") from None
        time_base, rate = stream.time_base, stream.average_rate
        codec = stream.codec_context.name
    if not pts:
        raise MovieFileError(path, "AVI holds no frames")
    if declared > len(pts):
        raise MovieFileError(
            path, f"truncated: the AVI header declares {declared} frames, the file holds {len(pts)}"
        )
    check_declared_bytes(
        path,
        n_frames=len(pts),
        frame_shape=(rows, cols),
        itemsize=dtype.itemsize,
        max_bytes=max_bytes,
        error_type=MovieFileError,
    )
    if keyframes:
        keyframes[0] = True  # decoding always starts at the first packet
    source = AviFrameSource(
        path,
        pts=pts,
        keyframes=keyframes,
        rows=rows,
        cols=cols,
        decode_format=decode_format,
        dtype=dtype,
    )
    metadata = {
        "format": "AVI",
        "codec": codec,
        "pixel_format": pix_fmt,
        "frame_rate": float(rate) if rate else None,
        "warnings": [],
    }
    return OpenedMovie(
        n_frames=len(pts),
        rows=rows,
        cols=cols,
        dtype=dtype,
        bit_depth=bit_depth,
        times=_timestamps(pts, time_base, rate),
        pixel_size=None,
        source=source,
        metadata=metadata,
    )
