"""RGB to gray: luma with the ITU-R BT.601 weights (0.299 R + 0.587 G + 0.114 B).

BT.601 is the weighting video codecs use for their Y plane, so an RGB movie and a YUV-coded
movie of the same scene give the same gray values. Integer images are converted with integer
arithmetic and rounded half up, which keeps gray images stored as RGB (R = G = B) exact.
"""

from __future__ import annotations

import numpy as np

_WEIGHTS_PER_MILLE = (299, 587, 114)


def rgb_to_luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma of RGB(A) pixels, in the input's dtype.

    Parameters
    ----------
    rgb : (..., 3) or (..., 4) ndarray
        Samples last; a fourth (alpha) sample is ignored. Unsigned integer or float.

    Returns
    -------
    (...) ndarray
        Same dtype as ``rgb``.
    """
    if rgb.shape[-1] not in (3, 4):
        raise ValueError(f"expected 3 or 4 samples per pixel, got {rgb.shape[-1]}")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.issubdtype(rgb.dtype, np.integer):
        wr, wg, wb = _WEIGHTS_PER_MILLE
        total = wr * r.astype(np.uint64) + wg * g.astype(np.uint64) + wb * b.astype(np.uint64)
        return ((total + 500) // 1000).astype(rgb.dtype)
    wr, wg, wb = (w / 1000 for w in _WEIGHTS_PER_MILLE)
    return (wr * r + wg * g + wb * b).astype(rgb.dtype)


def samples_to_gray(
    pixels: np.ndarray, *, photometric: int, colormap: np.ndarray | None = None
) -> np.ndarray:
    """Gray values from TIFF samples, following the PhotometricInterpretation tag.

    Parameters
    ----------
    pixels : (..., rows, cols, samples) ndarray
        Samples last (1 for gray and palette, 3 or 4 for RGB/YCbCr decoded to RGB).
    photometric : int
        0 min-is-white (inverted), 1 min-is-black, 2 RGB, 3 palette, 6 YCbCr (which tifffile
        decodes to RGB).
    colormap : (3, 2**bits) uint16 ndarray, optional
        The palette, required for photometric 3.

    Returns
    -------
    (..., rows, cols) ndarray
        Same dtype as ``pixels``.
    """
    if photometric == 3:
        if colormap is None:
            raise ValueError("palette image without a colormap")
        rgb16 = np.moveaxis(np.asarray(colormap, dtype=np.uint16), 0, -1)[pixels[..., 0]]
        gray16 = rgb_to_luminance(rgb16)
        if pixels.dtype == np.uint8:
            return ((gray16.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return gray16.astype(pixels.dtype)
    if pixels.shape[-1] >= 3:
        return rgb_to_luminance(pixels)
    gray = pixels[..., 0]
    if photometric == 0:
        if np.issubdtype(gray.dtype, np.integer):
            return np.iinfo(gray.dtype).max - gray
        return gray.max() - gray
    return gray
