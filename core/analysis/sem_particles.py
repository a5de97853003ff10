"""Particle segmentation in an SEM image: smooth, flatten, threshold, split, measure.

The steps follow the article's ImageJ protocol (Gaussian filter → threshold → watershed →
analyse particles), made explicit and robust for unattended use:

1. **Polarity**: Li particles are bright on the darker Au film in SE images; ``polarity="dark"``
   handles images where they are darker (e.g. backscatter, inverted LUT).
2. **Gaussian smoothing** with ``sigma_px``.
3. **Background flattening** (optional, ``background_um``): a low percentile of the smoothed
   image in blocks of that size, interpolated bilinearly, is subtracted, which removes detector
   shading and charging gradients. A low percentile (not the mean) stays on the film as long as
   particles cover less than 70 % of a block; blocks should be several times the largest
   particle.
4. **Threshold**: Otsu's by default, never closer to the background level than
   ``noise_floor_sd`` robust noise sds (Otsu would otherwise split pure noise into thousands of
   "particles" on a footprint where nothing nucleated). Small enclosed holes (SE rim
   brightening leaves darker particle centres) are filled; specks below
   ``min_particle_area_px`` are dropped.
5. **Splitting touching particles**: only components that are not compact are considered. A
   disc has the smallest polar moment of area, ``J = A²/2π``; touching discs have
   ``2πJ/A² ≈ 1.5``. In those, local maxima of the distance transform (as
   ``peak_local_max``, minimum spacing from the smallest particle allowed) are taken from the
   highest down; each joins a higher one unless the distance transform dips between them by
   at least ``max(0.5 px, 15 %)`` of its height (a neck; 0.5 px is ImageJ's EDM-watershed
   tolerance). Each group seeds a watershed of the distance transform. A round or elongated
   single particle has no such neck and is never split.
6. **Measurement**: areas and centroids by ``numpy.bincount`` over the labelled pixels (one
   pass, no Python loop over particles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.segmentation import watershed

from core.errors import AnalysisError

POLARITIES = ("bright", "dark")
#: Percentile of each block taken as the film level when flattening the background.
BACKGROUND_PERCENTILE = 30.0
#: Components less compact than this (2πJ/A², 1 for a disc) are examined for splitting.
SPLIT_COMPACTNESS = 1.08
#: A neck between two distance-transform peaks must be at least this deep to split them:
#: max(absolute px, relative × the lower peak). 0.5 px is ImageJ's EDM-watershed tolerance.
NECK_DEPTH_PX = 0.5
NECK_DEPTH_FRACTION = 0.15
#: Particles must not cover more than this fraction of the image (else polarity is wrong).
MAX_FOREGROUND_FRACTION = 0.5
_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class ParticleSegmentation:
    """Labelled particles and how they were found.

    Attributes
    ----------
    labels : (M, N) int32 ndarray
        0 for background, ``1..P`` for particles (touching ones already split).
    area_px : (P,) ndarray
        Pixel count of particle ``i + 1``.
    row_px, col_px : (P,) ndarray
        Centroid of particle ``i + 1``, pixels (row, column; pixel centres at integers).
    threshold : float
        Threshold applied, in the image's intensity units (on the smoothed, flattened image).
    otsu_threshold : float or None
        Otsu's threshold before the noise floor, same units; None for a given threshold.
    background_level, noise_sd : float
        Film level and robust noise sd of the smoothed, flattened image (polarity-corrected:
        particles above the level).
    n_specks, n_split : int
        Components dropped as too small; components split into several particles.
    signal : (M, N) float32 ndarray
        Smoothed image with particles bright (before flattening), for footprint detection.
    """

    labels: np.ndarray
    area_px: np.ndarray
    row_px: np.ndarray
    col_px: np.ndarray
    threshold: float
    otsu_threshold: float | None
    background_level: float
    noise_sd: float
    n_specks: int
    n_split: int
    signal: np.ndarray


def segment_particles(
    image,
    *,
    pixel_size_nm: float,
    polarity: str = "bright",
    sigma_px: float = 1.0,
    threshold: str | float = "otsu",
    background_um: float | None = 2.0,
    min_particle_area_px: float = 4.0,
    max_hole_area_px: float = math.inf,
    noise_floor_sd: float = 4.0,
    split_touching: bool = True,
) -> ParticleSegmentation:
    """Find and label the particles of an SEM image.

    Parameters
    ----------
    image : (M, N) array_like
        Grey-level SEM image (any real dtype).
    pixel_size_nm : float
        Pixel size, nm (sets the flattening block size).
    polarity : {"bright", "dark"}
        Whether particles are brighter or darker than the film.
    sigma_px : float
        Gaussian smoothing sd, pixels (0 for none).
    threshold : "otsu" or float
        A float is in the image's intensity units, applied to the smoothed (and flattened)
        image; flattening keeps the film near its original level. With ``polarity="dark"``
        particles are the pixels below it.
    background_um : float or None
        Block size of the background flattening, µm; None to skip flattening.
    min_particle_area_px : float
        Smaller components are dropped as specks.
    max_hole_area_px : float
        Enclosed holes up to this area are filled (particle interiors).
    noise_floor_sd : float
        Otsu's threshold is raised to at least this many robust noise sds above the film.
    split_touching : bool
        Split touching particles (watershed); False keeps connected components.

    Returns
    -------
    ParticleSegmentation
    """
    img = _checked_image(image)
    if polarity not in POLARITIES:
        raise AnalysisError(f"polarity {polarity!r} is not one of {POLARITIES}")
    if not pixel_size_nm > 0:
        raise AnalysisError(f"pixel size {pixel_size_nm} nm must be positive")
    if not sigma_px >= 0:
        raise AnalysisError(f"smoothing sigma {sigma_px} px must be ≥ 0")
    if not min_particle_area_px >= 1:
        raise AnalysisError(f"minimum particle area {min_particle_area_px} px must be ≥ 1 px")
    sign = 1.0 if polarity == "bright" else -1.0
    signal = img if sign > 0 else -img
    if sigma_px > 0:
        signal = ndi.gaussian_filter(signal, sigma_px, truncate=3.0)
    flat = signal
    if background_um is not None:
        if not background_um > 0:
            raise AnalysisError(f"background block {background_um} µm must be positive")
        flat = _flatten(signal, background_um * 1e3 / pixel_size_nm)
    # Image statistics from a regular subsample of ~250 000 pixels: plenty, and fast.
    stride = max(1, math.isqrt(flat.size // 250_000))
    sample = flat[::stride, ::stride]
    level = float(np.median(sample))
    noise_sd = _MAD_TO_SD * float(np.median(np.abs(sample - level)))

    otsu = None
    if isinstance(threshold, str):
        if threshold != "otsu":
            raise AnalysisError(f"threshold {threshold!r} is not 'otsu' or a number")
        # A uniform image has no threshold to find: nothing lies above its level.
        otsu = float(threshold_otsu(sample)) if np.ptp(sample) > 0 else level
        _check_polarity(sample, otsu, level, noise_floor_sd * noise_sd, polarity)
        cut = max(otsu, level + noise_floor_sd * noise_sd)
    else:
        cut = sign * float(threshold)
        if not np.isfinite(cut):
            raise AnalysisError(f"threshold {threshold} is not a finite number")
    mask = flat > cut
    fraction = float(mask.mean())
    if fraction > MAX_FOREGROUND_FRACTION:
        raise AnalysisError(
            f"threshold {sign * cut:.4g} marks {100 * fraction:.0f} % of the image as "
            f"particles (limit {100 * MAX_FOREGROUND_FRACTION:.0f} %): polarity "
            f"{polarity!r} is probably wrong for this image, or the threshold is"
        )
    _fill_small_holes(mask, max_hole_area_px)
    labels, n = ndi.label(mask)
    labels, n_specks = _drop_small(labels, n, min_particle_area_px)
    n_split = 0
    if split_touching:
        n_split = _split_touching(labels, min_particle_area_px)
    area, row, col = _measure(labels)
    return ParticleSegmentation(
        labels=labels,
        area_px=area,
        row_px=row,
        col_px=col,
        threshold=sign * cut,
        otsu_threshold=None if otsu is None else sign * otsu,
        background_level=sign * level,
        noise_sd=noise_sd,
        n_specks=n_specks,
        n_split=n_split,
        signal=signal,
    )


def _check_polarity(sample, otsu, level, floor, polarity) -> None:
    """Raise if the image's minority class lies clearly *below* the film level.

    With the wrong polarity the film is the brighter Otsu class (more than half the pixels)
    and the particles a darker minority; the noise floor would then silently find nothing.
    Pure noise also splits about half and half, but its lower class sits within the noise.
    """
    below = sample <= otsu
    if 1.0 - below.mean() > MAX_FOREGROUND_FRACTION and below.any():
        if level - float(sample[below].mean()) > floor:
            other = "dark" if polarity == "bright" else "bright"
            raise AnalysisError(
                f"most of the image lies above Otsu's threshold {otsu:.4g} and a minority "
                f"well below the film level {level:.4g}: the particles look {other}er than "
                f"the film, so polarity {polarity!r} is probably wrong for this image"
            )


def _checked_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 2:
        raise AnalysisError(
            f"SEM image must be 2-D (rows, cols); got shape {img.shape} "
            "(convert colour images to grey first)"
        )
    if min(img.shape) < 16:
        raise AnalysisError(f"SEM image {img.shape} is smaller than 16 × 16 px")
    kind = img.dtype.kind
    if kind not in "biuf":
        raise AnalysisError(f"SEM image dtype {img.dtype} is not a real number type")
    img = img.astype(np.float32, copy=False)
    if kind == "f" and not np.all(np.isfinite(img)):
        raise AnalysisError("SEM image contains NaN or infinite pixels")
    return img


def _flatten(signal: np.ndarray, block_px: float) -> np.ndarray:
    """Subtract a bilinear surface through per-block low percentiles; keep the median level.

    Percentiles are taken on every second pixel of each block (thousands of values are
    plenty), and the surface is applied as ``Wy @ B @ Wxᵀ`` with interpolation matrices.
    """
    rows, cols = signal.shape
    nby = max(1, round(rows / block_px))
    nbx = max(1, round(cols / block_px))
    if nby == 1 and nbx == 1:
        return signal
    bh, bw = math.ceil(rows / nby), math.ceil(cols / nbx)
    padded = np.pad(signal, ((0, nby * bh - rows), (0, nbx * bw - cols)), mode="reflect")
    blocks = padded.reshape(nby, bh, nbx, bw)[:, ::2, :, ::2]
    blocks = blocks.transpose(0, 2, 1, 3).reshape(nby, nbx, -1)
    surface = np.percentile(blocks, BACKGROUND_PERCENTILE, axis=-1).astype(np.float32)
    wy = _interpolation_matrix(rows, bh, nby)
    wx = _interpolation_matrix(cols, bw, nbx)
    background = wy @ surface @ wx.T
    return signal - background + np.float32(np.median(surface))


def _interpolation_matrix(length: int, block: int, n_blocks: int) -> np.ndarray:
    """(length, n_blocks) weights of linear interpolation between block centres (clamped)."""
    centres = (np.arange(n_blocks) + 0.5) * block - 0.5
    positions = np.arange(length, dtype=float)
    eye = np.eye(n_blocks)
    return np.stack(
        [np.interp(positions, centres, eye[k]) for k in range(n_blocks)], axis=1
    ).astype(np.float32)


def _fill_small_holes(mask: np.ndarray, max_area_px: float) -> None:
    """Fill enclosed background regions up to ``max_area_px`` (in place)."""
    holes, n = ndi.label(~mask)
    if n <= 1:
        return
    sizes = np.bincount(holes.ravel(), minlength=n + 1)
    fill = sizes <= max_area_px
    fill[0] = False
    border = np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])
    fill[border] = False
    if fill.any():
        mask |= fill[holes]


def _drop_small(labels: np.ndarray, n: int, min_area_px: float):
    """Remove components smaller than ``min_area_px`` and renumber the rest 1..P."""
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_area_px
    keep[0] = False
    n_specks = int(n - keep.sum())
    if n_specks:
        lut = np.zeros(n + 1, dtype=np.int32)
        lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
        labels = lut[labels]
    return labels.astype(np.int32, copy=False), n_specks


def _moments(labels: np.ndarray):
    """Per-label pixel count and centroid sums from the foreground pixels only."""
    flat = labels.ravel()
    fg = np.flatnonzero(flat)
    lab = flat[fg]
    row, col = np.divmod(fg, labels.shape[1])
    n = int(labels.max()) + 1
    area = np.bincount(lab, minlength=n).astype(float)
    return lab, row.astype(float), col.astype(float), area, n


def _measure(labels: np.ndarray):
    lab, row, col, area, n = _moments(labels)
    safe = np.maximum(area, 1.0)
    r = np.bincount(lab, weights=row, minlength=n) / safe
    c = np.bincount(lab, weights=col, minlength=n) / safe
    return area[1:], r[1:], c[1:]


def _split_touching(labels: np.ndarray, min_area_px: float) -> int:
    """Split non-compact components at distance-transform necks (in place); return count."""
    lab, row, col, area, n = _moments(labels)
    if n <= 1:
        return 0
    safe = np.maximum(area, 1.0)
    sr, sc = np.bincount(lab, row, n), np.bincount(lab, col, n)
    srr, scc = np.bincount(lab, row * row, n), np.bincount(lab, col * col, n)
    # Polar moment about the centroid, each pixel counted as a unit square (+1/6).
    polar = srr - sr**2 / safe + scc - sc**2 / safe + area / 6.0
    compactness = 2.0 * np.pi * polar / safe**2
    candidates = np.flatnonzero((compactness > SPLIT_COMPACTNESS) & (area >= 2 * min_area_px))
    candidates = candidates[candidates > 0]
    if candidates.size == 0:
        return 0
    r_min = math.sqrt(min_area_px / math.pi)
    min_distance = max(1, int(r_min))
    objects = ndi.find_objects(labels)
    next_label = n
    n_split = 0
    for k in candidates:
        box = _padded(objects[k - 1], labels.shape)
        region = labels[box]
        component = region == k
        dist = ndi.distance_transform_edt(component)
        peaks = _local_maxima(dist, min_distance, max(1.0, r_min))
        if len(peaks) < 2:
            continue
        group = _group_peaks(dist, peaks)
        if group.max() == 0:
            continue
        markers = np.zeros(dist.shape, dtype=np.int32)
        markers[peaks[:, 0], peaks[:, 1]] = group + 1
        pieces = watershed(-dist, markers, mask=component)
        sizes = np.bincount(pieces.ravel())[1:]
        if sizes.min() < min_area_px:
            continue
        for g in range(2, sizes.size + 1):
            region[pieces == g] = next_label
            next_label += 1
        n_split += 1
    return n_split


def _local_maxima(dist: np.ndarray, min_distance: int, min_height: float) -> np.ndarray:
    """(K, 2) pixels that are the maximum of their (2·min_distance + 1)² neighbourhood.

    The core of ``skimage.feature.peak_local_max`` without its per-call overhead (this runs
    once per candidate component); plateaus yield several pixels, which the neck test groups.
    """
    size = 2 * min_distance + 1
    peak = (dist == ndi.maximum_filter(dist, size=size, mode="constant")) & (dist >= min_height)
    return np.argwhere(peak)


def _padded(box, shape):
    """The slices of ``box`` grown by one pixel on each side, within ``shape``."""
    return tuple(
        slice(max(b.start - 1, 0), min(b.stop + 1, size))
        for b, size in zip(box, shape, strict=True)
    )


def _group_peaks(dist: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Assign each peak to a particle; return a group index 0..G-1 per peak.

    Peaks are taken from the highest down. A peak joins the first (highest) kept peak it
    reaches without crossing a neck, else it starts a particle of its own, as in the
    h-maxima transform: a low peak on the bridge between two particles joins one of them
    instead of chaining them together. The neck between two peaks is the lowest
    distance-transform value on the straight segment joining them (for blob-like particles
    the saddle lies on that segment).
    """
    height = dist[peaks[:, 0], peaks[:, 1]]
    group = np.full(len(peaks), -1)
    leaders: list[int] = []
    for i in np.argsort(-height, kind="stable"):
        for j in leaders:
            length = float(np.hypot(*(peaks[i] - peaks[j])))
            t = np.linspace(0.0, 1.0, math.ceil(2 * length) + 2)[:, None]
            path = np.rint(peaks[i] + t * (peaks[j] - peaks[i])).astype(int)
            saddle = float(dist[path[:, 0], path[:, 1]].min())
            lower = float(height[i])
            if lower - saddle < max(NECK_DEPTH_PX, NECK_DEPTH_FRACTION * lower):
                group[i] = group[j]
                break
        else:
            group[i] = len(leaders)
            leaders.append(i)
    return group
