"""The SECCM footprint in an SEM image: a circle, its areas, and its automatic detection.

Coordinates are µm from the centre of pixel (0, 0): ``x`` along columns, ``y`` along rows, so
pixel ``(row, col)`` sits at ``(x, y) = (col, row) · pixel size``.

Detection. The wetted disc shows up in two ways: the film inside has a different grey level,
often with a residue ring (salt left at the contact line), and it holds more particles than
its surroundings.

1. Film cue: the film level per block (blocks of about 1/256 of the image, particles masked
   out), smoothed, differentiated (Sobel) and divided by its noise level. A circular Hough
   transform on its thin (Canny) edges, done as FFT convolutions with thin annuli and scored
   as the fraction of each circle's in-image part that runs along an edge, picks centre and
   radius. Edge points along 256 rays (window ±25 % of the radius) then give centre and
   radius by a robust least-squares circle fit (Kåsa). The circle is accepted when at least
   ``MIN_EDGE_COVERAGE`` of the rays cross a real edge (``EDGE_LEVEL`` × the noise) on it,
   and its radius is finally read off the full-resolution azimuthal film profile. On a ray
   and in the profile the edge is the centre line of a residue ring (the profile's extremum
   between two opposite gradient peaks), or the steepest point of a plain step.
2. Density cue, when the film shows no circle: the disc whose particle density most exceeds
   that of the annulus around it (Poisson z-score, at least ``MIN_DENSITY_Z``). It is refined
   from the particle centroids themselves: the centre is the mean of those inside the disc,
   and the radius is where their spacing in ρ² jumps (dense inside, sparse strays outside,
   whatever the density profile inside). Its radius is only as sharp as the particle spacing,
   so pass the circle explicitly when the footprint has no film contrast and accurate
   densities matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi
from skimage.feature import canny

from core.errors import AnalysisError

#: Coarse map size (long side, blocks) for detection, and for the Hough search.
MAP_SIZE = 256
HOUGH_SIZE = 64
HOUGH_RADII = 48
#: A film circle is accepted when this fraction of its rays cross an edge stronger than
#: EDGE_LEVEL times the noise's median edge strength, on the circle (noise: about 10 %).
MIN_EDGE_COVERAGE = 0.5
EDGE_LEVEL = 3.0
# Median / 20th percentile of a Rayleigh distribution: √(2 ln 2) / √(−2 ln 0.8).
_RAYLEIGH_MEDIAN_OVER_P20 = math.sqrt(2 * math.log(2)) / math.sqrt(-2 * math.log(0.8))
#: Otherwise a disc of particles must be denser than its surroundings by this many Poisson sds.
MIN_DENSITY_Z = 6.0
#: Density edge: the mean spacing (in ρ²) of the next _EDGE_AFTER particles exceeds
#: _EDGE_JUMP times that of the previous _EDGE_BEFORE.
_EDGE_BEFORE = 15
_EDGE_AFTER = 5
_EDGE_JUMP = 5.0


@dataclass(frozen=True)
class Circle:
    """A circle in the image plane, µm (see module docstring for the axes)."""

    x_um: float
    y_um: float
    r_um: float

    def __post_init__(self):
        if not all(math.isfinite(v) for v in (self.x_um, self.y_um, self.r_um)):
            raise AnalysisError(f"circle {self} has a non-finite coordinate")
        if self.r_um <= 0:
            raise AnalysisError(f"circle radius {self.r_um} µm must be positive")

    @property
    def area_um2(self) -> float:
        return math.pi * self.r_um**2

    def to_dict(self) -> dict:
        return {"x_um": self.x_um, "y_um": self.y_um, "r_um": self.r_um}


def pixels_in_disc(shape, circle: Circle, pixel_size_nm: float) -> int:
    """Number of pixel centres of an image of ``shape`` inside ``circle`` (exact, O(rows))."""
    rows, cols = shape
    px_um = pixel_size_nm * 1e-3
    cy, cx, r = circle.y_um / px_um, circle.x_um / px_um, circle.r_um / px_um
    row = np.arange(max(0, math.floor(cy - r)), min(rows, math.ceil(cy + r) + 1))
    half = np.sqrt(np.maximum(r * r - (row - cy) ** 2, 0.0))
    inside_rows = r * r - (row - cy) ** 2 >= 0
    lo = np.maximum(np.ceil(cx - half), 0)
    hi = np.minimum(np.floor(cx + half), cols - 1)
    return int(np.sum(np.where(inside_rows & (hi >= lo), hi - lo + 1, 0)))


def detect_footprint(
    signal,
    *,
    pixel_size_nm: float,
    particle_rows=None,
    particle_cols=None,
    exclude=None,
    expected_diameter_um: float | None = None,
    smoothing_um: float = 0.1,
) -> Circle:
    """Find the wetted footprint (a disc) in an SEM image.

    Parameters
    ----------
    signal : (M, N) array_like
        The (smoothed) image, any polarity.
    pixel_size_nm : float
        Pixel size, nm.
    particle_rows, particle_cols : (P,) array_like, optional
        Particle centroids, pixels; their number density is the second cue.
    exclude : (M, N) bool array_like, optional
        Pixels left out of the film-level map (the particles themselves).
    expected_diameter_um : float, optional
        Search only radii within ±35 % of this diameter's half (otherwise 8–75 % of the
        image's shorter side).
    smoothing_um : float
        Smoothing of the film-level map, µm.

    Returns
    -------
    Circle

    Raises
    ------
    AnalysisError
        When no circle stands out from the edge noise (no footprint, or it fills the image).
    """
    img = np.asarray(signal, dtype=np.float32)
    if img.ndim != 2:
        raise AnalysisError(f"footprint detection needs a 2-D image; got shape {img.shape}")
    if not pixel_size_nm > 0:
        raise AnalysisError(f"pixel size {pixel_size_nm} nm must be positive")
    rows, cols = img.shape
    block = max(1, math.ceil(max(rows, cols) / MAP_SIZE))
    block_um = block * pixel_size_nm * 1e-3
    smooth = _film_map(img, block, block_um, exclude, smoothing_um)
    r_lo, r_hi = _radius_range(smooth.shape, block_um, expected_diameter_um)
    edges, noise = _normalised_gradient(smooth)
    # Thin (Canny) edges for the Hough: a broad edge band would let small circles fit inside.
    thin = canny(smooth / noise, sigma=0.0, low_threshold=2.0, high_threshold=EDGE_LEVEL)
    cy, cx, r = _hough(thin, r_lo, r_hi)
    for _ in range(2):  # the second pass starts from an accurate circle
        cy, cx, r, coverage = _ray_circle(smooth, edges, cy, cx, r)
    if coverage >= MIN_EDGE_COVERAGE and r_lo <= r <= r_hi:
        row, col, radius = _to_pixels(cy, cx, r, block)
        radius = _film_profile_radius(img, exclude, row, col, radius, block)
    else:
        counts = _count_map(particle_rows, particle_cols, block, smooth.shape)
        cy, cx, r, z = _density_disc(counts, r_lo, r_hi)
        if not z >= MIN_DENSITY_Z:
            raise AnalysisError(
                "no footprint found: no circle stands out in the film level (edge along "
                f"{100 * coverage:.0f} % of the best circle, need {100 * MIN_EDGE_COVERAGE:.0f}"
                f" %) nor in particle density (z = {z:.1f}, need {MIN_DENSITY_Z:g}); pass the "
                "footprint circle explicitly"
            )
        row, col, radius = _particle_disc(
            np.asarray(particle_rows, float),
            np.asarray(particle_cols, float),
            *_to_pixels(cy, cx, r, block),
        )
    px_um = pixel_size_nm * 1e-3
    return Circle(x_um=col * px_um, y_um=row * px_um, r_um=radius * px_um)


def _to_pixels(cy: float, cx: float, r: float, block: int):
    """Map-block coordinates to pixels: block (i, j) covers pixels i·b … i·b + b − 1."""
    offset = (block - 1) / 2.0
    return cy * block + offset, cx * block + offset, r * block


def _block_sum(values: np.ndarray, block: int) -> np.ndarray:
    rows, cols = values.shape
    rb, cb = rows // block, cols // block
    trimmed = values[: rb * block, : cb * block]
    return trimmed.reshape(rb, block, cb, block).sum(axis=(1, 3), dtype=np.float64)


def _film_map(img, block, block_um, exclude, smoothing_um):
    """Film level per block with the particles masked out, smoothed by ``smoothing_um``.

    A normalised convolution (smoothed sum over smoothed weight), so masked pixels do not
    drag the level down.
    """
    weight = np.ones(img.shape, np.float32)
    if exclude is not None:
        weight[np.asarray(exclude, dtype=bool)] = 0.0
    total = _block_sum(img * weight, block)
    count = _block_sum(weight, block)
    sigma = max(smoothing_um / block_um, 1.0)
    return ndi.gaussian_filter(total, sigma) / np.maximum(ndi.gaussian_filter(count, sigma), 1e-9)


def _count_map(particle_rows, particle_cols, block, shape) -> np.ndarray:
    """Particle centroids per map block."""
    if particle_rows is None or len(particle_rows) == 0:
        return np.zeros(shape)
    r = np.clip((np.asarray(particle_rows) // block).astype(int), 0, shape[0] - 1)
    c = np.clip((np.asarray(particle_cols) // block).astype(int), 0, shape[1] - 1)
    return np.bincount(r * shape[1] + c, minlength=shape[0] * shape[1]).reshape(shape) * 1.0


def _film_profile_radius(img, exclude, cy: float, cx: float, r: float, block: int) -> float:
    """Radius (px) of the film edge from its azimuthal profile at full resolution.

    Half-pixel bins of the image (particles excluded) within the search window around ``r``:
    the block map's smoothing would shift the extremum of an asymmetric ring (darker on one
    side). The window is re-centred on the edge found until it stops moving.
    """
    step = 0.5
    weight = None if exclude is None else ~np.asarray(exclude, dtype=bool)
    fitted = r
    for _ in range(3):
        half = _profile_half_width(r / block) * block
        top, left = max(int(cy - r - half), 0), max(int(cx - r - half), 0)
        bottom = min(int(cy + r + half) + 2, img.shape[0])
        right = min(int(cx + r + half) + 2, img.shape[1])
        yy, xx = np.ogrid[top:bottom, left:right]
        rho = np.hypot(yy - cy, xx - cx)
        near = np.abs(rho - r) < half
        if weight is not None:
            near &= weight[top:bottom, left:right]
        n_bins = int(np.ceil(2 * half / step))
        index = np.minimum(((rho[near] - (r - half)) / step).astype(int), n_bins - 1)
        counts = np.bincount(index, minlength=n_bins)
        if np.count_nonzero(counts) < n_bins:
            return r  # the window leaves the image or is all particles: keep the fit
        crop = img[top:bottom, left:right]
        profile = np.bincount(index, weights=crop[near], minlength=n_bins) / counts
        # One pixel of smoothing (two bins) tames the bin noise without moving extrema.
        profile = ndi.gaussian_filter1d(profile, 2.0)
        new = r - half + (float(_edge_positions(profile[None])[0]) + 0.5) * step
        if abs(new - fitted) > 0.5 * _profile_half_width(fitted / block) * block:
            return fitted  # wandered off to another edge: trust the ray fit
        if abs(new - r) < step:
            return new
        r = new
    return r


def _ray_circle(smooth: np.ndarray, edges: np.ndarray, cy: float, cx: float, r: float):
    """Edge points along 256 rays from the centre, a robust circle fit, and its coverage.

    Every ray applies the same edge rule as the radius (:func:`_edge_positions`), so the
    centre is not pulled by how strong the inner and outer flanks of a ring are; rays that
    leave the image are skipped and outlying points (3 robust sds) are dropped. Coverage is
    the fraction of in-image rays that cross a real edge (normalised strength above
    ``EDGE_LEVEL`` × noise somewhere in the window) at a point on the fitted circle.

    Returns
    -------
    (row, col, radius, coverage)
    """
    half = _profile_half_width(r)
    step = 0.5
    angles = np.linspace(0.0, 2 * np.pi, 256, endpoint=False)[:, None]
    radii = r - half + step * np.arange(int(np.ceil(2 * half / step)))[None, :]
    y = cy + radii * np.sin(angles)
    x = cx + radii * np.cos(angles)
    inside = np.all(
        (y >= 0) & (y <= smooth.shape[0] - 1) & (x >= 0) & (x <= smooth.shape[1] - 1), axis=1
    )
    if inside.sum() < 16:
        return cy, cx, r, 0.0
    profiles = ndi.map_coordinates(smooth, [y[inside], x[inside]], order=1)
    strength = ndi.map_coordinates(edges, [y[inside], x[inside]], order=1).max(axis=1)
    crossed = strength > EDGE_LEVEL
    position = r - half + step * _edge_positions(profiles)
    px = cx + position * np.cos(angles[inside, 0])
    py = cy + position * np.sin(angles[inside, 0])
    keep = np.ones(px.size, dtype=bool)
    fit = (cy, cx, r)
    for _ in range(3):
        new = _kasa(px[keep], py[keep])
        if new is None:
            return cy, cx, r, 0.0
        fit = new
        residual = np.abs(np.hypot(px - fit[1], py - fit[0]) - fit[2])
        mad = float(np.median(residual[keep]))
        keep = residual <= max(3.0 * 1.4826 * mad, 0.5)
    on_circle = residual <= max(0.05 * fit[2], 1.0)
    return (*fit, float(np.mean(crossed & on_circle)))


def _profile_half_width(r: float) -> float:
    """Half-width (blocks) of the radial window searched for the edge around radius ``r``.

    Wide enough that a ring found by its inner or outer flank still lies within the window.
    """
    return max(0.25 * r, 6.0)


def _edge_positions(profiles: np.ndarray) -> np.ndarray:
    """Edge position (fractional sample index) in each row of (K, B) radial profiles.

    A residue ring gives two opposite gradient peaks around an extremum of the profile: the
    edge is that extremum (the ring's centre line), not the gradient-weighted mean of two
    unequal flanks. A plain step gives one gradient peak: the edge is that peak. The second
    flank must lie within half the window of the first, and the outermost two samples, where
    the gradient is one-sided, are ignored.
    Positions are refined by a parabola through the three samples around the chosen one.
    """
    grad = np.gradient(profiles, axis=1)
    n = grad.shape[1]
    grad[:, :2] = 0.0
    grad[:, n - 2 :] = 0.0
    idx = np.arange(n)[None, :]
    first = np.argmax(np.abs(grad), axis=1)[:, None]
    sign = np.sign(np.take_along_axis(grad, first, axis=1))
    strength = np.abs(np.take_along_axis(grad, first, axis=1))
    opposite = (np.sign(grad) == -sign) & (np.abs(idx - first) <= n // 2)
    second_strength = np.where(opposite, np.abs(grad), -1.0)
    second = np.argmax(second_strength, axis=1)[:, None]
    ring = np.take_along_axis(second_strength, second, axis=1) >= 0.3 * strength
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    # Bright ring: the profile rises then falls (gradient + then −); dark ring: − then +.
    ring_sign = np.sign(np.take_along_axis(grad, lo, axis=1))
    between = (idx >= lo) & (idx <= hi)
    extremum = np.argmax(np.where(between, ring_sign * profiles, -np.inf), axis=1)[:, None]
    choice = np.where(ring, extremum, first)[:, 0]
    curve = np.where(ring, ring_sign * profiles, np.abs(grad))
    return _parabolic_peaks(curve, choice)


def _parabolic_peaks(curves: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Sub-sample position of the maximum at index ``k`` of each row (parabola, ±0.5)."""
    k = np.clip(k, 1, curves.shape[1] - 2)
    rows = np.arange(curves.shape[0])
    y0, y1, y2 = curves[rows, k - 1], curves[rows, k], curves[rows, k + 1]
    denom = y0 - 2 * y1 + y2
    shift = np.where(denom < 0, 0.5 * (y0 - y2) / np.where(denom < 0, denom, -1.0), 0.0)
    return k + np.clip(shift, -0.5, 0.5)


def _normalised_gradient(values: np.ndarray):
    """Gradient magnitude in units of its noise level (1 = the median of pure noise).

    Returns the normalised magnitude and the noise level (magnitude units per map value).

    The noise level comes from the 20th percentile, scaled as for a Rayleigh distribution
    (the magnitude of a 2-D Gaussian gradient): the median would be inflated when broad edges
    (a wide residue ring) cover a good part of the map.
    """
    grad = np.hypot(ndi.sobel(values, 0), ndi.sobel(values, 1))
    noise = float(np.percentile(grad, 20)) * _RAYLEIGH_MEDIAN_OVER_P20
    # A noise-free map has no noise level: then scale by a small fraction of the peak.
    noise = max(noise, 1e-3 * float(grad.max()), 1e-30)
    return grad / noise, noise


def _radius_range(shape, block_um, expected_diameter_um):
    if expected_diameter_um is not None:
        if not expected_diameter_um > 0:
            raise AnalysisError(
                f"expected footprint diameter {expected_diameter_um} µm must be positive"
            )
        half = expected_diameter_um / 2.0 / block_um
        return 0.65 * half, 1.35 * half
    short = min(shape)
    return 0.08 * short, 0.75 * short


def _coarse(values: np.ndarray, r_lo: float, r_hi: float, *, mean: bool):
    """Reduce a map to about HOUGH_SIZE blocks; return it, the factor and the radii to try."""
    factor = max(1, math.ceil(max(values.shape) / HOUGH_SIZE))
    small = _block_sum(values, factor) if factor > 1 else values.astype(float)
    if mean:
        small = small / factor**2
    lo, hi = max(r_lo / factor, 3.0), max(r_hi / factor, 4.0)
    # Radius steps of one block, or coarser for very wide ranges: the fits refine them.
    radii = np.linspace(lo, hi, max(2, min(HOUGH_RADII, int(hi - lo) + 1)))
    return small, factor, radii


def _convolve_kernels(image: np.ndarray, profiles) -> list:
    """Convolve ``image`` and the in-image indicator with stacks of radial kernels (FFT).

    ``profiles`` is a list of ``(pad, kernels)``, each ``kernels`` an (R, 2·pad + 1,
    2·pad + 1) stack (all with the same ``pad``). Returns, per entry, ``(sum, cover)``, both
    (R, rows, cols): the kernel-weighted sum of ``image`` and of ones (zero outside the
    image) for the kernel centred on each map pixel.
    """
    rows, cols = image.shape
    pad = profiles[0][0]
    fshape = (sfft.next_fast_len(rows + 2 * pad), sfft.next_fast_len(cols + 2 * pad))
    image_f = sfft.rfft2(image, s=fshape, workers=-1)
    ones_f = sfft.rfft2(np.ones_like(image), s=fshape, workers=-1)
    out = []
    for _, kernels in profiles:
        kernel_f = sfft.rfft2(kernels, s=fshape, workers=-1)
        both = sfft.irfft2(np.stack([image_f, ones_f])[:, None] * kernel_f, s=fshape, workers=-1)
        # Full convolution: the kernel centred on map pixel (i, j) lands at (i + pad, j + pad).
        both = both[:, :, pad : pad + rows, pad : pad + cols]
        out.append((both[0], both[1]))
    return out


def _hough(thin: np.ndarray, r_lo: float, r_hi: float):
    """Best circle (row, col, radius in map blocks) through a map of thin edges.

    The score of a circle is the fraction of its in-image part (at least half of it) that
    runs along an edge: the edges are thin, so a coarse block crossed by one counts fully.
    """
    small, factor, radii = _coarse(thin.astype(float), r_lo, r_hi, mean=True)
    small = np.clip(small * factor, 0.0, 1.0)
    pad = math.ceil(radii[-1] + 3)
    rho = np.hypot(*np.ogrid[-pad : pad + 1, -pad : pad + 1])
    kernels = np.exp(-0.5 * ((rho[None] - radii[:, None, None]) / 0.7) ** 2)
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    [(score, cover)] = _convolve_kernels(small, [(pad, kernels)])
    on_edge = np.where(cover > 0.5, score / np.maximum(cover, 1e-9), 0.0)
    k, i, j = np.unravel_index(int(np.argmax(on_edge)), on_edge.shape)
    return _to_fine(i, j, radii[k], factor)


def _density_disc(counts: np.ndarray, r_lo: float, r_hi: float):
    """Disc richest in particles against the ring around it: (row, col, radius, z).

    ``z`` is the Poisson significance of the density difference between the disc and the
    annulus from r to 1.3 r (both restricted to the image, each at least half present).
    """
    small, factor, radii = _coarse(counts, r_lo, r_hi, mean=False)
    pad = math.ceil(1.3 * radii[-1] + 3)
    rho = np.hypot(*np.ogrid[-pad : pad + 1, -pad : pad + 1])[None]
    r = radii[:, None, None]
    disc = (rho <= r).astype(float)
    ring = ((rho > r) & (rho <= 1.3 * r)).astype(float)
    (n_in, a_in), (n_out, a_out) = _convolve_kernels(small, [(pad, disc), (pad, ring)])
    full_in = disc.sum(axis=(1, 2))[:, None, None]
    full_out = ring.sum(axis=(1, 2))[:, None, None]
    valid = (a_in > 0.5 * full_in) & (a_out > 0.5 * full_out)
    a_in, a_out = np.maximum(a_in, 1e-9), np.maximum(a_out, 1e-9)
    n_in, n_out = np.maximum(n_in, 0.0), np.maximum(n_out, 0.0)
    variance = n_in / a_in**2 + n_out / a_out**2
    z = np.where(valid, (n_in / a_in - n_out / a_out) / np.sqrt(np.maximum(variance, 1e-12)), 0)
    k, i, j = np.unravel_index(int(np.argmax(z)), z.shape)
    return (*_to_fine(i, j, radii[k], factor), float(z[k, i, j]))


def _to_fine(i, j, radius, factor):
    """Coarse-map block (i, j) and radius back to fine-map block coordinates."""
    return i * factor + (factor - 1) / 2.0, j * factor + (factor - 1) / 2.0, radius * factor


def _particle_disc(rows, cols, cy: float, cx: float, r: float):
    """Refine a disc of particles (px): the centroid of those inside, and where they stop.

    Inside the disc the particles' ``u = ρ²`` values are spaced evenly on average (by the
    inverse of the local density); past the edge only strays remain and the spacing jumps.
    The edge is the first particle, beyond half of them, after which the mean spacing of the
    next 5 exceeds 5 times that of the previous 15: a local comparison, so a density that
    changes gradually across the disc (denser centre or edge) is not taken for its edge.
    """
    rows = np.asarray(rows, dtype=float)
    cols = np.asarray(cols, dtype=float)
    for _ in range(3):
        rho = np.hypot(rows - cy, cols - cx)
        inside = rho <= r
        n_inside = int(inside.sum())
        if n_inside < 2 * _EDGE_BEFORE:
            break
        cy, cx = float(rows[inside].mean()), float(cols[inside].mean())
        rho = np.hypot(rows - cy, cols - cx)
        u = np.sort(rho[rho <= 1.5 * r] ** 2)
        gaps = np.diff(u)
        total = np.r_[0.0, np.cumsum(gaps)]
        at = np.arange(max(n_inside // 2, _EDGE_BEFORE), gaps.size - _EDGE_AFTER + 1)
        before = (total[at] - total[at - _EDGE_BEFORE]) / _EDGE_BEFORE
        after = (total[at + _EDGE_AFTER] - total[at]) / _EDGE_AFTER
        jumps = at[after > _EDGE_JUMP * before]
        edge = int(jumps[0]) if jumps.size else u.size - 1
        spacing = float(before[at == edge][0]) if jumps.size else 0.0
        # The edge lies about half a spacing beyond the last particle inside.
        r = float(np.sqrt(u[edge] + 0.5 * spacing))
    return cy, cx, r


def _kasa(x: np.ndarray, y: np.ndarray):
    """Algebraic (Kåsa) least-squares circle through points: (row, col, radius) or None."""
    if x.size < 3:
        return None
    design = np.column_stack([x, y, np.ones_like(x)])
    (d, e, f), *_ = np.linalg.lstsq(design, -(x * x + y * y), rcond=None)
    cx, cy = -d / 2.0, -e / 2.0
    r2 = cx * cx + cy * cy - f
    return (cy, cx, math.sqrt(r2)) if r2 > 0 else None
