"""Read an SEM image in any format the import accepts: TIFF (with its calibration) or PNG/JPEG.

TIFFs go through :func:`core.io.sem_images.read_sem_image` (FEI/Zeiss pixel size, data bar
removed). PNG and JPEG exports carry no trustworthy calibration (their dpi fields are a
program's default), so their pixel size must be given. Their size is checked from the header
before any pixel is decoded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import SemImageFileError
from core.io.sem_images import SemImage, read_sem_image

#: largest image accepted, pixels (a 16k × 16k scan, well above any SEM's)
MAX_PIXELS = 16384 * 16384
_TIFF_SUFFIXES = (".tif", ".tiff")


def read_sem_picture(
    path: str | Path, *, pixel_size_nm: float | None = None, max_pixels: int = MAX_PIXELS
) -> SemImage:
    """Read an SEM image (TIFF, PNG or JPEG) as grey values with its pixel size.

    Parameters
    ----------
    path : the file; its suffix says the format.
    pixel_size_nm : pixel size, nm; overrides the TIFF's calibration, needed for PNG/JPEG.
    max_pixels : largest rows × cols accepted.

    Raises
    ------
    SemImageFileError
        Unreadable, damaged or too large (message ``"<path>: <problem>"``).
    """
    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES:
        # 8 bytes per pixel covers RGBA 16-bit: the same pixel limit as PNG/JPEG
        return read_sem_image(path, pixel_size_nm=pixel_size_nm, max_bytes=8 * max_pixels)
    return _read_png_or_jpeg(path, pixel_size_nm, max_pixels)


def _read_png_or_jpeg(path: Path, pixel_size_nm: float | None, max_pixels: int) -> SemImage:
    try:
        with Image.open(path) as picture:
            cols, rows = picture.size
            if rows * cols > max_pixels:
                raise SemImageFileError(
                    path, f"{cols} × {rows} px is over the limit of {max_pixels} pixels")
            # 16-bit PNGs keep their depth; colour and palette images become BT.601 luma
            grey = (np.asarray(picture, dtype=np.float32) if picture.mode.startswith("I")
                    else np.asarray(picture.convert("L")))
            image_format = picture.format
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise SemImageFileError(path, f"cannot read the image: {error}") from None
    if pixel_size_nm is not None and not pixel_size_nm > 0:
        raise SemImageFileError(path, f"pixel_size_nm={pixel_size_nm!r} must be positive")
    return SemImage(
        image=np.ascontiguousarray(grey),
        pixel_size_nm=None if pixel_size_nm is None else float(pixel_size_nm),
        pixel_size_source=None if pixel_size_nm is None else "given",
        path=path,
        metadata={"instrument": None, "format": image_format, "warnings": [],
                  "data_bar_rows_removed": 0},
    )
