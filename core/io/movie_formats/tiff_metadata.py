"""Pixel size, frame times and bit depth from the metadata microscopy software writes in TIFFs.

Sources, each as its writer records it:

- **OME-XML** (ImageDescription of the first page): ``Pixels/@PhysicalSizeX`` with
  ``PhysicalSizeXUnit`` (default µm), ``Plane/@DeltaT`` with ``DeltaTUnit`` (default s) per
  plane, ``Pixels/@TimeIncrement`` (uniform), ``Pixels/@SignificantBits``.
- **Micro-Manager** per-image JSON (tag 51123 ``MicroManagerMetadata``): ``ElapsedTime-ms``
  (ms since the acquisition started; a number in MM 2, a string in MM 1.4), ``PixelSizeUm``
  (0 when no pixel-size calibration was active) and ``BitDepth``; the file's Summary JSON holds
  ``PixelSize_um`` and ``BitDepth`` too.
- **ImageJ** description: ``finterval`` (frame interval in ``tunit``, default seconds) and
  ``unit``, which gives the length unit of the XResolution tag (pixels per unit). ``spacing``
  is the z step, not a pixel size, and is not used for it.
- **TIFF resolution tags**: XResolution in pixels per ResolutionUnit (inch or centimetre).

Functions return None when their source is absent; ``warnings`` lists collect what was seen
but not trusted.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

import numpy as np

from core.io.movie_formats.frame_source import FrameTimes, PixelSize

#: nanometres per unit of length, for the unit spellings OME, ImageJ and SEM software write
LENGTH_UNITS_NM = {
    "pm": 1e-3,
    "Å": 0.1,
    "nm": 1.0,
    "µm": 1e3,
    "μm": 1e3,
    "um": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "\\u00b5m": 1e3,
    "mm": 1e6,
    "cm": 1e7,
    "m": 1e9,
    "inch": 25.4e6,
    "in": 25.4e6,
}

#: seconds per unit of time, for the unit spellings OME and ImageJ write
TIME_UNITS_S = {
    "ns": 1e-9,
    "µs": 1e-6,
    "μs": 1e-6,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
}

#: TIFF ResolutionUnit codes with a physical length: 2 inch, 3 centimetre
_RESOLUTION_UNIT_NM = {2: 25.4e6, 3: 1e7}

#: a resolution tag implying pixels outside this range (nm) is not a microscope calibration:
#: 72, 96 or 300 dpi are document defaults (353, 265, 85 µm pixels) that many programs write
PLAUSIBLE_TAG_PIXEL_NM = (0.01, 10_000.0)

SOURCE_OME = "metadata: OME PhysicalSizeX"
SOURCE_MM = "metadata: Micro-Manager PixelSizeUm"
SOURCE_IMAGEJ = "metadata: ImageJ resolution"
SOURCE_RESOLUTION = "metadata: TIFF resolution"


def _unit_scale(unit: str, table: Mapping[str, float]) -> float | None:
    unit = unit.strip()
    return table.get(unit, table.get(unit.lower()))


# --- OME-XML ------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ome_pixels(ome_xml: str) -> ET.Element | None:
    """The ``Pixels`` element of the first ``Image`` in an OME-XML document, or None."""
    try:
        root = ET.fromstring(ome_xml)
    except ET.ParseError:
        return None
    for image in root:
        if _local(image.tag) != "Image":
            continue
        for child in image:
            if _local(child.tag) == "Pixels":
                return child
        return None
    return None


def ome_referenced_files(pixels: ET.Element) -> set[str]:
    """File names that TiffData/UUID elements point to (multi-file OME datasets)."""
    names = set()
    for tiffdata in pixels:
        if _local(tiffdata.tag) != "TiffData":
            continue
        for uuid in tiffdata:
            if _local(uuid.tag) == "UUID" and uuid.get("FileName"):
                names.add(uuid.get("FileName"))
    return names


def ome_pixel_size(pixels: ET.Element, warnings: list[str]) -> PixelSize | None:
    """PhysicalSizeX (and Y) in nm, converted from PhysicalSizeXUnit (default µm)."""
    sizes = []
    for axis in ("X", "Y"):
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None:
            sizes.append(None)
            continue
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
        scale = _unit_scale(unit, LENGTH_UNITS_NM)
        try:
            size = float(value)
        except ValueError:
            size = math.nan
        if scale is None or not (math.isfinite(size) and size > 0):
            warnings.append(f"OME PhysicalSize{axis}={value!r} {unit!r} not understood; ignored")
            sizes.append(None)
            continue
        sizes.append(size * scale)
    if sizes[0] is None:
        return None
    return PixelSize(nm=sizes[0], source=SOURCE_OME, rows_nm=sizes[1])


def ome_frame_times(pixels: ET.Element, n_frames: int, time_axis: str) -> FrameTimes | None:
    """Plane DeltaT of every frame along ``time_axis`` (other axes at index 0), in seconds.

    Falls back to the uniform ``TimeIncrement`` when the planes do not all carry DeltaT.
    """
    key = f"The{time_axis}"
    others = [f"The{a}" for a in "TZC" if a != time_axis]
    times = np.full(n_frames, np.nan)
    for plane in pixels:
        if _local(plane.tag) != "Plane" or plane.get("DeltaT") is None:
            continue
        if any(int(plane.get(o, "0")) != 0 for o in others):
            continue
        index = int(plane.get(key, "0"))
        scale = _unit_scale(plane.get("DeltaTUnit", "s"), TIME_UNITS_S)
        if 0 <= index < n_frames and scale is not None:
            times[index] = float(plane.get("DeltaT")) * scale
    if n_frames > 0 and np.all(np.isfinite(times)):
        return FrameTimes(times, "OME Plane DeltaT", per_frame=True)
    increment = pixels.get("TimeIncrement")
    scale = _unit_scale(pixels.get("TimeIncrementUnit", "s"), TIME_UNITS_S)
    if increment is not None and scale is not None and time_axis == "T":
        step_s = float(increment) * scale
        if step_s > 0:
            return FrameTimes(
                np.arange(n_frames) * step_s,
                f"OME TimeIncrement {step_s:g} s (uniform)",
                per_frame=False,
            )
    return None


def ome_significant_bits(pixels: ET.Element) -> int | None:
    value = pixels.get("SignificantBits")
    return int(value) if value and value.isdigit() else None


# --- Micro-Manager -------------------------------------------------------------------------


def parse_mm_frame_json(raw: bytes) -> dict | None:
    """Decode one page's MicroManagerMetadata value (ASCII JSON, maybe NUL/space padded)."""
    try:
        value = json.loads(raw.rstrip(b"\x00 ").decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # MM 1.4 writes numbers as strings
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def mm_frame_times(per_frame: Sequence[dict | None]) -> FrameTimes | None:
    """``ElapsedTime-ms`` of every frame, in seconds; None unless every frame has it."""
    elapsed_ms = [_number(md.get("ElapsedTime-ms")) if md else None for md in per_frame]
    if not elapsed_ms or any(v is None for v in elapsed_ms):
        return None
    # divide once, so each time is the nearest float64 to the recorded milliseconds / 1000
    return FrameTimes(
        np.asarray(elapsed_ms, dtype=np.float64) / 1000.0,
        "Micro-Manager ElapsedTime-ms",
        per_frame=True,
    )


def mm_pixel_size(first_frame: Mapping | None, summary: Mapping | None) -> PixelSize | None:
    """``PixelSizeUm`` of the first frame, else the Summary's ``PixelSize_um``; 0 is unknown."""
    for source in (first_frame or {}, summary or {}):
        for key in ("PixelSizeUm", "PixelSize_um"):
            value = _number(source.get(key))
            if value is not None and value > 0:
                return PixelSize(nm=value * 1e3, source=SOURCE_MM)
    return None


def mm_bit_depth(first_frame: Mapping | None, summary: Mapping | None) -> int | None:
    for source in (first_frame or {}, summary or {}):
        value = _number(source.get("BitDepth"))
        if value is not None and value > 0:
            return int(value)
    return None


# --- ImageJ and TIFF resolution -----------------------------------------------------------


def _pixels_per_unit(page_tags: Mapping[str, object]) -> float | None:
    value = page_tags.get("XResolution")
    if not isinstance(value, tuple) or len(value) != 2 or not value[1]:
        return None
    per_unit = value[0] / value[1]
    return per_unit if per_unit > 0 else None


def imagej_pixel_size(
    page_tags: Mapping[str, object], imagej: Mapping[str, object], warnings: list[str]
) -> PixelSize | None:
    """XResolution (pixels per ``unit``) with the unit from the ImageJ description."""
    unit = imagej.get("unit")
    per_unit = _pixels_per_unit(page_tags)
    if not isinstance(unit, str) or per_unit is None or unit.lower() in ("pixel", "pixels"):
        return None
    scale = _unit_scale(unit, LENGTH_UNITS_NM)
    if scale is None:
        warnings.append(f"ImageJ unit {unit!r} not understood; pixel size ignored")
        return None
    return PixelSize(nm=scale / per_unit, source=SOURCE_IMAGEJ)


def imagej_frame_times(imagej: Mapping[str, object], n_frames: int) -> FrameTimes | None:
    """Uniform times from ``finterval`` (in ``tunit``, seconds by default)."""
    interval = _number(imagej.get("finterval"))
    if interval is None or interval <= 0:
        return None
    scale = _unit_scale(str(imagej.get("tunit", "s")), TIME_UNITS_S) or 1.0
    step_s = interval * scale
    return FrameTimes(
        np.arange(n_frames) * step_s, f"ImageJ finterval {step_s:g} s (uniform)", per_frame=False
    )


def resolution_pixel_size(page_tags: Mapping[str, object], warnings: list[str]) -> PixelSize | None:
    """XResolution with ResolutionUnit inch or centimetre; None without a physical unit."""
    unit = page_tags.get("ResolutionUnit")
    per_unit = _pixels_per_unit(page_tags)
    unit_nm = _RESOLUTION_UNIT_NM.get(int(unit)) if unit is not None else None
    if unit_nm is None or per_unit is None:
        return None
    size_nm = unit_nm / per_unit
    low, high = PLAUSIBLE_TAG_PIXEL_NM
    if not low <= size_nm <= high:
        unit_name = "inch" if int(unit) == 2 else "cm"
        warnings.append(
            f"TIFF resolution {per_unit:g} pixels/{unit_name} implies {size_nm:.4g} nm pixels, "
            f"outside {low:g}–{high:g} nm: a software default, not a calibration; ignored"
        )
        return None
    rows_per_unit = _pixels_per_unit({"XResolution": page_tags.get("YResolution")})
    rows_nm = unit_nm / rows_per_unit if rows_per_unit else None
    return PixelSize(nm=size_nm, source=SOURCE_RESOLUTION, rows_nm=rows_nm)


def page_tag_values(page: object) -> dict[str, object]:
    """The resolution tags of a tifffile page as plain values."""
    tags = page.tags
    values: dict[str, object] = {}
    for name in ("XResolution", "YResolution", "ResolutionUnit"):
        tag = tags.get(name)
        if tag is not None:
            values[name] = tag.value
    return values
