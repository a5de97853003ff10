"""What the spot page draws of an SEM analysis: particle outlines, the image, the histogram.

- :func:`particle_outlines`: each particle's outline as a polygon in µm, thinned to about
  :data:`MAX_OUTLINE_POINTS` vertices in all, counted and excluded particles apart, the
  polygons of each separated by ``None`` (one Plotly trace draws them all).
- :func:`display_png`: the image block-averaged to at most :data:`DISPLAY_MAX_SIDE_PX` on its
  long side and stretched to 8 bits, as a PNG: what the browser loads, never the full scan.
- :func:`size_histogram`: bins, counts and the fitted curve from a stored ``sem`` result.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.measure import find_contours, regionprops

from core.io.sem_pictures import read_sem_picture

#: longest side of the image the browser is sent, px
DISPLAY_MAX_SIDE_PX = 1024
#: vertices kept over all outlines (beyond it, every k-th vertex is kept)
MAX_OUTLINE_POINTS = 20_000
#: zlib level of the display PNG (fast; the image is cached by the route)
PNG_COMPRESS_LEVEL = 1
_UM_DIGITS = 3


def particle_outlines(labels, counted_labels, *, pixel_size_nm: float,
                      max_points: int = MAX_OUTLINE_POINTS) -> dict:
    """Outlines of the segmented particles as polygons, µm from the centre of pixel (0, 0).

    Each outline is the 0.5 level of the particle's mask (marching squares), without the
    points that lie on a straight run (lossless); when all outlines together still have over
    ``max_points`` vertices, every k-th vertex is kept (at least a triangle per particle).

    Parameters
    ----------
    labels : (M, N) int array_like
        Particle labels (0 = background), e.g. ``SemResult.labels``.
    counted_labels : array_like of int
        Labels of the counted particles; the others are "excluded".
    pixel_size_nm : float
        Pixel size, nm.
    max_points : int
        Vertices kept in all (about: each polygon keeps at least three).

    Returns
    -------
    dict
        ``{"counted": {"x_um": [...], "y_um": [...]}, "excluded": {...}}``: closed polygons
        one after the other, each followed by ``None``; ``x`` along columns, ``y`` along rows.
    """
    lab = np.asarray(labels)
    counted = set(np.asarray(counted_labels, dtype=int).tolist())
    polygons: list[tuple[bool, np.ndarray]] = []
    for region in regionprops(lab):
        row0, col0, _, _ = region.bbox
        mask = np.pad(region.image, 1).astype(np.float32)
        for contour in find_contours(mask, 0.5):
            corners = _without_straight_runs(contour + np.array([row0 - 1, col0 - 1]))
            polygons.append((region.label in counted, corners))
    # each polygon adds its closing vertex, and up to one more by rounding up its share
    open_points = sum(len(polygon) - 1 for _, polygon in polygons)
    step = max(1, math.ceil(open_points / max(max_points - 2 * len(polygons), 1)))
    px_um = pixel_size_nm * 1e-3
    out = {"counted": {"x_um": [], "y_um": []}, "excluded": {"x_um": [], "y_um": []}}
    for is_counted, polygon in polygons:
        kept = polygon[:-1:step] if len(polygon) - 1 >= 3 * step else polygon[:-1]
        kept = np.round(np.vstack([kept, kept[:1]]) * px_um, _UM_DIGITS)
        target = out["counted" if is_counted else "excluded"]
        target["x_um"] += [*kept[:, 1].tolist(), None]
        target["y_um"] += [*kept[:, 0].tolist(), None]
    return out


def _without_straight_runs(contour: np.ndarray) -> np.ndarray:
    """A closed contour (first point repeated last) without its points on straight runs."""
    points = contour[:-1]
    if len(points) < 4:
        return contour
    before, after = points - np.roll(points, 1, axis=0), np.roll(points, -1, axis=0) - points
    turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    corners = points[np.abs(turn) > 1e-9]
    if len(corners) < 3:
        return contour
    return np.vstack([corners, corners[:1]])


def display_factor(shape: tuple[int, int], max_side_px: int = DISPLAY_MAX_SIDE_PX) -> int:
    """Block size (px) that brings an image of ``shape`` within ``max_side_px``."""
    return max(1, math.ceil(max(shape) / max_side_px))


def display_image(image, *, max_side_px: int = DISPLAY_MAX_SIDE_PX) -> np.ndarray:
    """``image`` block-averaged to at most ``max_side_px`` per side, stretched between its
    0.5 and 99.5 percentiles to 8 bits: (rows // k, cols // k) uint8."""
    values = np.asarray(image, dtype=np.float32)
    k = display_factor(values.shape, max_side_px)
    rows, cols = values.shape[0] // k * k, values.shape[1] // k * k
    if k > 1:
        values = values[:rows, :cols].reshape(rows // k, k, cols // k, k).mean(axis=(1, 3))
    low, high = np.percentile(values, [0.5, 99.5])
    scale = 255.0 / max(float(high - low), 1e-12)
    return np.clip((values - low) * scale, 0, 255).astype(np.uint8)


def display_png(image, *, max_side_px: int = DISPLAY_MAX_SIDE_PX) -> bytes:
    """:func:`display_image` encoded as a grey PNG."""
    buffer = io.BytesIO()
    Image.fromarray(display_image(image, max_side_px=max_side_px), mode="L").save(
        buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def image_file_png(path, *, max_side_px: int = DISPLAY_MAX_SIDE_PX) -> bytes:
    """The SEM image file at ``path`` (data bar removed, as analysed) as a display PNG.

    Raises :class:`core.errors.SemImageFileError` when it cannot be read.
    """
    return display_png(read_sem_picture(path).image, max_side_px=max_side_px)


@dataclass(frozen=True)
class SizeHistogram:
    """Equivalent diameters of the counted particles, binned, with the fitted populations.

    ``centres_nm``/``widths_nm``/``counts`` per bin; ``fit_counts`` per bin or None.
    """

    centres_nm: list[float]
    widths_nm: list[float]
    counts: list[int]
    fit_counts: list[float] | None
    fit_label: str | None


def size_histogram(results: dict) -> SizeHistogram | None:
    """The histogram of a stored ``sem`` result (None when it has none)."""
    histogram = results.get("histogram") or {}
    edges, counts = histogram.get("bin_edges_nm") or [], histogram.get("counts") or []
    if len(edges) != len(counts) + 1 or not counts:
        return None
    edges = np.asarray(edges, dtype=float)
    fit = results.get("fit") or {}
    fit_counts = fit.get("expected_counts")
    label = None
    if fit_counts is not None:
        means = ", ".join(f"{c['mean_nm']:.0f} ± {c['sd_nm']:.0f} nm"
                          for c in fit.get("components", []) if "mean_nm" in c)
        label = f"{fit.get('model', 'gaussian')} fit ({means})" if means else "fit"
    return SizeHistogram(
        centres_nm=((edges[:-1] + edges[1:]) / 2).tolist(),
        widths_nm=np.diff(edges).tolist(), counts=[int(c) for c in counts],
        fit_counts=None if fit_counts is None else [float(v) for v in fit_counts],
        fit_label=label)
