"""Write test movies and SEM images the way instruments and their software write them.

Each writer follows its instrument's layout, quirks included, so readers are tested against
what the lab's files look like rather than against what our own writer would produce:

- :func:`write_micromanager_stack`: Micro-Manager 1.4 ``MultipageTiffWriter`` layout: big-endian;
  the MM header at byte 8 (index map, display settings and comments offsets, Summary JSON);
  per image a 13-entry IFD, the pixels, X/Y resolution in pixels per cm truncated to an
  integer (as MM computes it), and the image's JSON (tag 51123) with ``ElapsedTime-ms``; index
  map, display settings and comments at the end, then 8 spare bytes.
- :func:`write_ome_tiff`, :func:`write_imagej_hyperstack`: with tifffile, as it writes these.
- :func:`write_camera_tiff`: one page per frame, written frame by frame, resolution in cm.
- :func:`write_fei_sem_tiff`: FEI/Thermo SEM: image plus data bar rows, INI text in tag 34682.
- :func:`write_zeiss_sem_tiff`: Zeiss SmartSEM text in tag 34118.
- :func:`write_avi`: rawvideo AVI with PyAV at a given frame rate.
- :func:`write_tiff_claiming`: a tiny hand-made TIFF whose header claims any size.
"""

from __future__ import annotations

import json
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import tifffile

# Micro-Manager MultipageTiffWriter magic numbers
_MM_INDEX_MAP_OFFSET_HEADER = 54773648
_MM_INDEX_MAP_HEADER = 3453623
_MM_SUMMARY_HEADER = 2355492
_MM_DISPLAY_OFFSET_HEADER = 483765892
_MM_DISPLAY_HEADER = 347834724
_MM_COMMENTS_OFFSET_HEADER = 99384722
_MM_COMMENTS_HEADER = 84720485


def jittered_times_s(
    n_frames: int, *, interval_s: float = 0.23, jitter_s: float = 0.012, seed: int = 0
) -> np.ndarray:
    """Frame times of a free-running camera: nominal interval plus per-frame jitter, from 0."""
    rng = np.random.default_rng(seed)
    steps = interval_s + rng.uniform(-jitter_s, jitter_s, n_frames - 1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def irm_frames(n_frames: int, rows: int, cols: int, *, bits: int = 12, seed: int = 0) -> np.ndarray:
    """A ``(T, rows, cols)`` stack of camera-like values using ``bits`` of the word."""
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if bits <= 8 else np.uint16
    return rng.integers(0, 2**bits, size=(n_frames, rows, cols), dtype=dtype)


def _ifd_entry(bo: str, tag: int, field_type: int, count: int, value: int) -> bytes:
    if field_type == 3 and count == 1:  # SHORT left-justified in the value field
        return struct.pack(bo + "HHIHH", tag, field_type, count, value, 0)
    return struct.pack(bo + "HHII", tag, field_type, count, value)


def write_micromanager_stack(
    path: Path,
    frames: np.ndarray,
    *,
    elapsed_ms: np.ndarray,
    pixel_size_um: float = 0.04,
    bit_depth: int = 12,
    numbers_as_strings: bool = False,
    planned_frames: int | None = None,
    start_ms: float = 1523.25,
) -> None:
    """Write ``frames`` (T, rows, cols) as a Micro-Manager 1.4 stack file.

    ``elapsed_ms`` are the frames' times from the start of the acquisition (frame 0 at
    ``start_ms``, as MM's clock starts before the first exposure ends). MM 1.4 with
    ``numbers_as_strings`` writes camera values as JSON strings. ``planned_frames`` larger
    than T mimics an acquisition stopped early.
    """
    bo = ">"
    n_frames, rows, cols = frames.shape
    byte_depth = frames.dtype.itemsize
    pixel_type = "GRAY16" if byte_depth == 2 else "GRAY8"
    summary = {
        "MicroManagerVersion": "1.4.23 20180220",
        "Prefix": "irm_spot_A1",
        "Frames": planned_frames or n_frames,
        "Slices": 1,
        "Channels": 1,
        "Positions": 1,
        "Width": cols,
        "Height": rows,
        "PixelType": pixel_type,
        "BitDepth": bit_depth,
        "PixelSize_um": pixel_size_um,
        "Interval_ms": 0,
        "z-step_um": 0,
        "TimeFirst": False,
        "SlicesFirst": True,
        "ChNames": ["Default"],
        "ChColors": [-1],
        "StartTime": "2023-06-12 11:22:33 +0100",
        "ComputerName": "IRM-RIG",
    }
    summary_json = json.dumps(summary, separators=(",", ":")).encode("ascii")
    out = bytearray(b"MM" + struct.pack(">HI", 42, 40 + len(summary_json)))
    out += struct.pack(
        ">IIIIIIII",
        _MM_INDEX_MAP_OFFSET_HEADER,
        0,
        _MM_DISPLAY_OFFSET_HEADER,
        0,
        _MM_COMMENTS_OFFSET_HEADER,
        0,
        _MM_SUMMARY_HEADER,
        len(summary_json),
    )
    out += summary_json

    # MM: resNumerator = (long) (1 / cmPerPixel), truncated; stored as (int), so an
    # uncalibrated camera (PixelSizeUm 0: Long.MAX_VALUE cast to int, -1) writes 0xFFFFFFFF
    per_cm = int(1 / (1e-4 * pixel_size_um)) if pixel_size_um > 0 else 2**32 - 1
    index_map = []
    next_pointer_at = 0
    for i in range(n_frames):
        tags = {
            "Camera": "CellCam",
            "Source": "CellCam",
            "BitDepth": bit_depth,
            "PixelSizeUm": pixel_size_um,
            "ElapsedTime-ms": float(elapsed_ms[i]),
            "Exposure-ms": 200.0,
            "Binning": 1,
            "Frame": i,
            "FrameIndex": i,
            "Slice": 0,
            "SliceIndex": 0,
            "ChannelIndex": 0,
            "PositionIndex": 0,
            "Channel": "Default",
            "PixelType": pixel_type,
            "Width": cols,
            "Height": rows,
            "Time": "2023-06-12 11:22:35 +0100",
            "CellCam-Gain": "1",
        }
        if numbers_as_strings:
            tags = {k: v if isinstance(v, str) else str(v) for k, v in tags.items()}
        md = (json.dumps(tags, separators=(",", ":")) + " ").encode("ascii")
        position = len(out)
        pixels_at = position + 2 + 13 * 12 + 4
        nbytes = rows * cols * byte_depth
        res_at = pixels_at + nbytes
        md_at = res_at + 16
        ifd = struct.pack(bo + "H", 13)
        ifd += _ifd_entry(bo, 256, 4, 1, cols)
        ifd += _ifd_entry(bo, 257, 4, 1, rows)
        ifd += _ifd_entry(bo, 258, 3, 1, 8 * byte_depth)
        ifd += _ifd_entry(bo, 259, 3, 1, 1)
        ifd += _ifd_entry(bo, 262, 3, 1, 1)
        ifd += _ifd_entry(bo, 273, 4, 1, pixels_at)
        ifd += _ifd_entry(bo, 277, 3, 1, 1)
        ifd += _ifd_entry(bo, 278, 3, 1, rows)
        ifd += _ifd_entry(bo, 279, 4, 1, nbytes)
        ifd += _ifd_entry(bo, 282, 5, 1, res_at)
        ifd += _ifd_entry(bo, 283, 5, 1, res_at + 8)
        ifd += _ifd_entry(bo, 296, 3, 1, 3)
        ifd += _ifd_entry(bo, 51123, 2, len(md), md_at)
        next_pointer_at = len(out) + len(ifd)
        ifd += struct.pack(bo + "I", md_at + len(md))
        out += ifd
        out += frames[i].astype(frames.dtype.newbyteorder(bo)).tobytes()
        out += struct.pack(bo + "IIII", per_cm, 1, per_cm, 1)
        out += md
        index_map.append((0, 0, i, 0, position))
    struct.pack_into(bo + "I", out, next_pointer_at, 0)  # writeNullOffsetAfterLastImage

    index_at = len(out)
    out += struct.pack(bo + "II", _MM_INDEX_MAP_HEADER, len(index_map))
    for entry in index_map:
        out += struct.pack(bo + "IIIII", *entry)
    struct.pack_into(bo + "II", out, 8, _MM_INDEX_MAP_OFFSET_HEADER, index_at)

    display_at = len(out)
    display = json.dumps(
        [
            {
                "Color": -1,
                "Min": 0,
                "Max": 2**bit_depth - 1,
                "Gamma": 1.0,
                "HistogramMax": -1,
                "DisplayMode": 1,
            }
        ]
    ).encode("ascii")
    out += struct.pack(bo + "II", _MM_DISPLAY_HEADER, 256) + display.ljust(256, b" ")
    struct.pack_into(bo + "II", out, 16, _MM_DISPLAY_OFFSET_HEADER, display_at)

    comments_at = len(out)
    comments = json.dumps({"Summary": ""}).encode("ascii")
    out += struct.pack(bo + "II", _MM_COMMENTS_HEADER, len(comments)) + comments
    struct.pack_into(bo + "II", out, 24, _MM_COMMENTS_OFFSET_HEADER, comments_at)
    out += bytes(8)  # raFile_.setLength(filePosition_ + 8)
    Path(path).write_bytes(bytes(out))


def write_ome_tiff(
    path: Path,
    frames: np.ndarray,
    *,
    physical_size: float,
    unit: str,
    delta_t_s: np.ndarray | None = None,
    significant_bits: int | None = None,
) -> None:
    """OME-TIFF with PhysicalSizeX/Y in ``unit`` (e.g. 'µm', 'nm') and per-plane DeltaT (s)."""
    n_frames = frames.shape[0]
    metadata: dict = {
        "axes": "TYX",
        "PhysicalSizeX": physical_size,
        "PhysicalSizeXUnit": unit,
        "PhysicalSizeY": physical_size,
        "PhysicalSizeYUnit": unit,
    }
    if delta_t_s is not None:
        metadata["Plane"] = {
            "DeltaT": [float(t) for t in delta_t_s],
            "DeltaTUnit": ["s"] * n_frames,
        }
    if significant_bits is not None:
        metadata["SignificantBits"] = significant_bits
    tifffile.imwrite(path, frames, ome=True, metadata=metadata)


def write_imagej_hyperstack(
    path: Path, frames: np.ndarray, *, pixel_size_um: float, finterval_s: float
) -> None:
    """ImageJ hyperstack (frames=T) with calibration in microns and a frame interval."""
    per_um = 1.0 / pixel_size_um
    tifffile.imwrite(
        path,
        frames,
        imagej=True,
        resolution=(per_um, per_um),
        metadata={"axes": "TYX", "finterval": finterval_s, "unit": "micron", "spacing": 0.5},
    )


def write_camera_tiff(
    path: Path,
    frames: np.ndarray,
    *,
    pixels_per_cm: float | None = None,
    dpi: float | None = None,
    rgb: bool = False,
) -> None:
    """Plain multi-page TIFF written one frame at a time, as camera SDKs write it."""
    with tifffile.TiffWriter(path) as tif:
        for frame in frames:
            kwargs: dict = {"metadata": None, "contiguous": False}
            if pixels_per_cm is not None:
                kwargs.update(
                    resolution=(pixels_per_cm, pixels_per_cm), resolutionunit="CENTIMETER"
                )
            elif dpi is not None:
                kwargs.update(resolution=(dpi, dpi), resolutionunit="INCH")
            if rgb:
                kwargs["photometric"] = "rgb"
            tif.write(frame, **kwargs)


def fei_header_text(*, pixel_width_m: float, resolution_x: int, resolution_y: int) -> str:
    """The INI-like text FEI/Thermo (Scios, Helios, Quanta) microscopes put in tag 34682."""
    return (
        "\r\n".join(
            [
                "[User]",
                "Date=06/12/2023",
                "Time=02:41:07 PM",
                "User=supervisor",
                "UserText=",
                "",
                "[System]",
                "Type=DualBeam",
                "Source=FEG",
                "Column=Elstar",
                "SystemType=Scios",
                "EucWD=0.007",
                "",
                "[Beam]",
                "HV=5000",
                "Beam=EBeam",
                "Scan=EScan",
                "ImageMode=Normal",
                "",
                "[EBeam]",
                "HV=5000",
                "BeamCurrent=1.3e-010",
                "WD=0.00402",
                "",
                "[Image]",
                "DigitalContrast=1",
                "DigitalBrightness=0",
                "Average=0",
                "Integrate=1",
                f"ResolutionX={resolution_x}",
                f"ResolutionY={resolution_y}",
                "ZoomFactor=1",
                "",
                "[Scan]",
                "InternalScan=true",
                "Dwelltime=1e-005",
                f"PixelWidth={pixel_width_m:.6g}".replace("e-0", "e-00"),
                f"PixelHeight={pixel_width_m:.6g}".replace("e-0", "e-00"),
                f"HorFieldsize={pixel_width_m * resolution_x:.6g}",
                f"VerFieldsize={pixel_width_m * resolution_y:.6g}",
                "FrameTime=2.3",
                "",
                "[EScan]",
                "Mainslock=On",
                f"PixelWidth={pixel_width_m:.6g}".replace("e-0", "e-00"),
                "",
            ]
        )
        + "\r\n"
    )


def write_fei_sem_tiff(
    path: Path,
    image: np.ndarray,
    *,
    pixel_width_m: float,
    data_bar_rows: int = 8,
    rgb: bool = False,
    scan_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """FEI/Thermo SEM TIFF: the scan plus a data bar below it; returns the stored array.

    ``scan_size`` (ResolutionX, ResolutionY) defaults to the image's own columns and rows;
    another value mimics an image resampled after acquisition.
    """
    rows, cols = image.shape
    bar = np.zeros((data_bar_rows, cols), dtype=image.dtype)
    bar[1:-1, 2 : cols // 3] = np.iinfo(image.dtype).max  # the scale bar and text block
    stored = np.vstack([image, bar])
    resolution_x, resolution_y = scan_size or (cols, rows)
    text = fei_header_text(
        pixel_width_m=pixel_width_m, resolution_x=resolution_x, resolution_y=resolution_y
    )
    data = np.repeat(stored[..., None], 3, axis=2) if rgb else stored
    tifffile.imwrite(
        path,
        data,
        photometric="rgb" if rgb else "minisblack",
        metadata=None,
        extratags=[(34682, "s", 0, text, True)],
    )
    return stored


def write_zeiss_sem_tiff(path: Path, image: np.ndarray, *, pixel_size_nm: float) -> None:
    """Zeiss SmartSEM TIFF with its parameter text in tag 34118."""
    text = (
        "\r\n".join(
            [
                "0",
                "0",
                "0",
                "0",
                "0",
                "AP_PIXEL_SIZE",
                f"Pixel Size = {pixel_size_nm:g} nm",
                "AP_WD",
                "WD = 4.5 mm",
                "AP_MAG",
                "Mag = 50.00 K X",
                "DP_DETECTOR_CHANNEL",
                "Signal A = InLens",
                "AP_ACTUALKV",
                "EHT = 5.00 kV",
            ]
        )
        + "\r\n"
    )
    tifffile.imwrite(path, image, metadata=None, extratags=[(34118, "s", 0, text, True)])


def write_avi(path: Path, frames: np.ndarray, *, fps: Fraction, codec: str = "rawvideo") -> None:
    """AVI of 8-bit frames (T, rows, cols) gray or (T, rows, cols, 3) RGB.

    ``rawvideo`` stores every frame whole (ImageJ's uncompressed export); ``ffv1`` is lossless
    but inter-coded, so frames between keyframes can only be decoded from the keyframe on.
    """
    rgb = frames.ndim == 4
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "bgr24" if rgb else "gray"
        if codec == "ffv1":
            stream.options = {"g": "8"}  # a keyframe every 8 frames
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24" if rgb else "gray")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_tiff_claiming(
    path: Path, *, rows: int, cols: int, bits: int = 16, n_pixel_bytes: int = 64
) -> None:
    """A tiny little-endian TIFF whose IFD declares a ``rows`` × ``cols`` image.

    Only ``n_pixel_bytes`` of pixel data follow; StripByteCounts claims the full image (capped
    at the largest 32-bit value).
    """
    declared = min(rows * cols * bits // 8, 2**32 - 1)
    entries = [
        (256, 4, 1, cols),
        (257, 4, 1, rows),
        (258, 3, 1, bits),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 0),
        (277, 3, 1, 1),
        (278, 4, 1, rows),
        (279, 4, 1, declared),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    pixels_at = 8 + ifd_size
    out = bytearray(b"II" + struct.pack("<HI", 42, 8))
    out += struct.pack("<H", len(entries))
    for tag, field_type, count, value in entries:
        out += _ifd_entry("<", tag, field_type, count, pixels_at if tag == 273 else value)
    out += struct.pack("<I", 0)
    out += bytes(n_pixel_bytes)
    Path(path).write_bytes(bytes(out))


def write_frame_times_csv(path: Path, times_s: np.ndarray, *, header: str = "frame,time_s") -> None:
    """The lab's frame-times sidecar: ``frame,time_s`` rows in shortest round-trip form."""
    lines = [header] + [f"{i},{float(t)!r}" for i, t in enumerate(times_s)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def cut_file(path: Path, fraction: float = 0.5) -> None:
    """Keep only the first ``fraction`` of a file, as an interrupted copy leaves it."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * fraction)])


def write_imagej_single_ifd(path: Path, frames: np.ndarray, *, finterval_s: float) -> None:
    """ImageJ stack as ImageJ saves one over 4 GiB: a single IFD, ``images=T``, data contiguous.

    ImageJ cannot address IFDs past 4 GiB, so it writes only the first and readers take the
    frames as following each other from the first one's pixels.
    """
    write_imagej_hyperstack(path, frames, pixel_size_um=0.04, finterval_s=finterval_s)
    data = bytearray(Path(path).read_bytes())
    (first_ifd,) = struct.unpack_from("<I", data, 4)
    (n_entries,) = struct.unpack_from("<H", data, first_ifd)
    struct.pack_into("<I", data, first_ifd + 2 + 12 * n_entries, 0)  # end the chain there
    Path(path).write_bytes(bytes(data))
