"""Read SEM images (TIFF) with their pixel size, without the instrument's data bar.

Pixel size (``pixel_size_nm``; ``pixel_size_source`` says where it came from)
-------------------------------------------------------------------------------
1. ``pixel_size_nm`` when given (``"given"``; the file's value is kept in
   ``metadata["pixel_size_in_file"]``).
2. FEI/Thermo Fisher (Scios, Helios, Quanta...): the INI-like text in TIFF tag 34682 (or 34680),
   ``[Scan] PixelWidth`` in metres (``"metadata: FEI PixelWidth"``). It applies to the scan as
   acquired: if the stored width differs from ``[Image] ResolutionX`` the image was resampled
   afterwards and the value is not used (a warning says so).
3. Zeiss SmartSEM: tag 34118, ``AP_IMAGE_PIXEL_SIZE`` or ``AP_PIXEL_SIZE`` with its unit
   (``"metadata: Zeiss pixel size"``).
4. TIFF XResolution with ResolutionUnit inch or centimetre (``"metadata: TIFF resolution"``);
   values implying pixels over 10 µm are a software's dpi default and are ignored.
5. Otherwise None.

Data bar
--------
FEI/Thermo images store the information band (scale bar, HV, magnification) as extra rows
below the scan; ``[Image] ResolutionY`` is the scan height, so rows beyond it are removed
(``metadata["data_bar_rows_removed"]``). Zeiss data zones are drawn over the image and are not
removed.

Pixels
------
The first page of the TIFF, in its stored dtype (8- or 16-bit, or float); RGB(A) becomes BT.601
luma, palette images are looked up, min-is-white is inverted.

Errors raise :class:`SemImageFileError` with a one-line ``"<path>: <problem>"`` message: missing,
empty, not a TIFF, corrupt, truncated (IFD chain, tag values or pixel data beyond the end of the
file), unsupported layout, or a declared size over ``max_bytes`` (default 16 GiB), all checked
before the pixels are read.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from core.errors import SemImageFileError
from core.io.movie_formats import tiff_metadata as tm
from core.io.movie_formats.frame_source import PixelSize
from core.io.movie_formats.luminance import samples_to_gray
from core.io.movie_formats.tiff_layout import (
    DEFAULT_MAX_BYTES,
    check_declared_bytes,
    check_extents,
    check_ifd_chain_complete,
    file_size_checked,
    open_tiff,
    sniff_format,
    tifffile_messages,
)

__all__ = ["SemImage", "SemImageFileError", "read_sem_image"]

SOURCE_FEI = "metadata: FEI PixelWidth"
SOURCE_ZEISS = "metadata: Zeiss pixel size"

_PHOTOMETRIC_SUPPORTED = (0, 1, 2, 3, 6)


@dataclass(frozen=True, eq=False)
class SemImage:
    """An SEM image with its pixel size.

    Attributes
    ----------
    image : (rows, cols) ndarray
        Gray values in the file's dtype, data bar removed.
    pixel_size_nm : float or None
        Pixel size along columns, nm; None when unknown.
    pixel_size_source : str or None
        ``"given"``, ``"metadata: FEI PixelWidth"``, ``"metadata: Zeiss pixel size"``,
        ``"metadata: TIFF resolution"`` or None.
    path : Path
        The file.
    metadata : dict
        ``instrument``, ``fei`` / ``zeiss`` parameter sections, ``data_bar_rows_removed``,
        ``warnings``.
    """

    image: np.ndarray
    pixel_size_nm: float | None
    pixel_size_source: str | None
    path: Path
    metadata: dict


def _fei_pixel_size(fei: Mapping, cols: int, warnings: list[str]) -> PixelSize | None:
    width_m = None
    for section in ("Scan", "EScan"):
        value = fei.get(section, {}).get("PixelWidth")
        if isinstance(value, int | float) and value > 0:
            width_m = float(value)
            break
    if width_m is None:
        return None
    scan_cols = fei.get("Image", {}).get("ResolutionX")
    if isinstance(scan_cols, int) and scan_cols != cols:
        warnings.append(
            f"image is {cols} px wide but the FEI scan was {scan_cols} px "
            f"(ResolutionX): resampled after acquisition; PixelWidth not used"
        )
        return None
    height_m = fei.get("Scan", {}).get("PixelHeight")
    rows_nm = float(height_m) * 1e9 if isinstance(height_m, int | float) and height_m > 0 else None
    return PixelSize(nm=width_m * 1e9, source=SOURCE_FEI, rows_nm=rows_nm)


def _fei_scan_rows(fei: Mapping, rows: int, warnings: list[str]) -> int:
    """Rows of the scan itself: ``[Image] ResolutionY`` when it is within the stored height."""
    scan_rows = fei.get("Image", {}).get("ResolutionY")
    if not isinstance(scan_rows, int) or scan_rows <= 0:
        warnings.append("FEI metadata give no ResolutionY: data bar (if any) not removed")
        return rows
    if scan_rows > rows:
        warnings.append(
            f"FEI ResolutionY {scan_rows} exceeds the stored height {rows}: data bar not removed"
        )
        return rows
    return scan_rows


def _zeiss_pixel_size(zeiss: Mapping, warnings: list[str]) -> PixelSize | None:
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        entry = zeiss.get(key)
        if not isinstance(entry, tuple) or len(entry) < 3:
            continue
        value, unit = entry[1], entry[2]
        scale = tm.LENGTH_UNITS_NM.get(unit)
        if isinstance(value, int | float) and value > 0 and scale is not None:
            return PixelSize(nm=float(value) * scale, source=SOURCE_ZEISS)
        warnings.append(f"Zeiss {key.upper()} {value!r} {unit!r} not understood; ignored")
    return None


def _read_pixels(path: Path, page: tifffile.TiffPage) -> np.ndarray:
    """The page as ``(rows, cols, samples)``."""
    data = page.asarray()
    axes = page.axes
    if data.ndim == 2:
        return data[..., None]
    if axes.startswith("S"):
        return np.moveaxis(data, 0, -1)
    if data.ndim == 3 and axes.endswith("S"):
        return data
    raise SemImageFileError(path, f"unsupported layout: page axes {axes} shape {data.shape}")


def read_sem_image(
    path: str | Path,
    *,
    pixel_size_nm: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SemImage:
    """Read an SEM TIFF: gray image without data bar, pixel size and its source.

    Parameters
    ----------
    path : str or Path
        The SEM TIFF.
    pixel_size_nm : float, optional
        Pixel size, nm; used instead of the file's calibration when given.
    max_bytes : int
        Largest decoded image accepted (rows × cols × samples × bytes per sample).

    Returns
    -------
    SemImage

    Raises
    ------
    SemImageFileError
        See the module docstring.
    """
    path = Path(path)
    if pixel_size_nm is not None:
        given = float(pixel_size_nm)
        if not (math.isfinite(given) and given > 0):
            raise SemImageFileError(
                path, f"pixel_size_nm={pixel_size_nm!r} must be a positive, finite number of nm"
            )
    file_size = file_size_checked(path, SemImageFileError)
    if sniff_format(path) not in ("tiff", "bigtiff"):
        with open(path, "rb") as fh:
            head = fh.read(8).hex(" ")
        raise SemImageFileError(
            path,
            f"not a TIFF file (first bytes {head}; a TIFF starts with 49 49 2a 00 or 4d 4d 00 2a)",
        )
    warnings: list[str] = []
    with tifffile_messages() as reader_messages:
        tif = open_tiff(path, SemImageFileError)
        try:
            n_pages = len(
                check_ifd_chain_complete(
                    path, tif, file_size=file_size, error_type=SemImageFileError
                )
            )
            page = tif.pages[0]
            image, fei, zeiss, tag_values = _checked_page(path, tif, page, file_size, max_bytes)
        except (
            tifffile.TiffFileError,
            ValueError,
            struct.error,
            IndexError,
            KeyError,
            TypeError,
        ) as exc:
            raise SemImageFileError(path, f"corrupt TIFF: {exc}") from None
        finally:
            tif.close()

    rows, cols = image.shape
    metadata: dict = {
        "instrument": None,
        "n_pages": n_pages,
        "warnings": warnings,
        "data_bar_rows_removed": 0,
        "reader_messages": list(reader_messages),
    }
    found = None
    if fei:
        metadata.update(instrument="FEI/Thermo Fisher", fei=fei)
        found = _fei_pixel_size(fei, cols, warnings)
        scan_rows = _fei_scan_rows(fei, rows, warnings)
        metadata["data_bar_rows_removed"] = rows - scan_rows
        image = image[:scan_rows]
    elif zeiss:
        metadata.update(instrument="Zeiss", zeiss={k: v for k, v in zeiss.items() if k})
        found = _zeiss_pixel_size(zeiss, warnings)
    if found is None:
        found = tm.resolution_pixel_size(tag_values, warnings)
    if (
        found is not None
        and found.rows_nm is not None
        and abs(found.rows_nm - found.nm) > 1e-3 * found.nm
    ):
        warnings.append(
            f"pixels are not square: {found.nm:g} nm along columns, "
            f"{found.rows_nm:g} nm along rows; pixel_size_nm is the column size"
        )

    if pixel_size_nm is not None:
        size_nm, source = float(pixel_size_nm), "given"
        if found is not None:
            metadata["pixel_size_in_file"] = {"nm": found.nm, "source": found.source}
    elif found is not None:
        size_nm, source = found.nm, found.source
    else:
        size_nm, source = None, None
    return SemImage(
        image=np.ascontiguousarray(image),
        pixel_size_nm=size_nm,
        pixel_size_source=source,
        path=path,
        metadata=metadata,
    )


def _checked_page(
    path: Path, tif: tifffile.TiffFile, page: tifffile.TiffPage, file_size: int, max_bytes: int
) -> tuple[np.ndarray, dict, dict, dict]:
    """Check page 0 against the limits and the file, then decode it to gray."""
    rows, cols = int(page.imagelength), int(page.imagewidth)
    samples = int(page.samplesperpixel)
    dtype = page.dtype
    if dtype is None or page.imagedepth > 1:
        raise SemImageFileError(
            path, f"unsupported image: {page.bitspersample}-bit samples, depth {page.imagedepth}"
        )
    if page.photometric not in _PHOTOMETRIC_SUPPORTED:
        raise SemImageFileError(
            path,
            f"unsupported photometric interpretation "
            f"{page.photometric!r}; expected gray, RGB or palette",
        )
    check_declared_bytes(
        path,
        n_frames=1,
        frame_shape=(rows, cols, samples),
        itemsize=np.dtype(dtype).itemsize,
        max_bytes=max_bytes,
        error_type=SemImageFileError,
    )
    if len(page.dataoffsets) == 0:
        raise SemImageFileError(path, "corrupt: the image has no pixel data")
    check_extents(
        path,
        page.dataoffsets,
        page.databytecounts,
        file_size=file_size,
        labels=["image"] * len(page.dataoffsets),
        error_type=SemImageFileError,
    )
    if page.compression == 1 and sum(page.databytecounts) < page.nbytes:
        raise SemImageFileError(
            path,
            f"truncated: the image stores {sum(page.databytecounts)} "
            f"bytes of pixels, its dimensions need {page.nbytes}",
        )
    colormap = page.colormap if page.photometric == 3 else None
    image = samples_to_gray(
        _read_pixels(path, page), photometric=int(page.photometric), colormap=colormap
    )
    return image, tif.fei_metadata or {}, tif.sem_metadata or {}, tm.page_tag_values(page)
