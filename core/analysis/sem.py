"""SEM particle statistics of one SECCM footprint: count, density, sizes, edge vs centre, Li.

Pipeline (the article's, see :mod:`core.analysis.sem_particles` for the segmentation details):
Gaussian smoothing → background flattening → threshold (Otsu) → watershed split of touching
particles → keep the particles whose centroid lies in the footprint (given, or detected by
:func:`core.analysis.sem_footprint.detect_footprint`) → measure. Particles over
``max_particle_area_um2`` (0.1 µm², ≈ 357 nm, in the article) are excluded as not being Li
nanoparticles; specks below ``min_particle_area_px`` are dropped.

Reported per footprint, and for its edge (outer ``ring_fraction`` of the radius) and centre:
count, areal density (count / area, /cm²), equivalent diameters ``d = 2·√(A/π)`` (nm) with
mean ± sd (ddof = 1). Also the diameter histogram with a one- or two-Gaussian fit chosen by
BIC (:mod:`core.analysis.size_distribution`), the Li held by the particles taken as spheres
of diameter d (fmol, ρ = 0.534 g/cm³, M = 6.94 g/mol) and, given the passed charge, the
faradaic efficiency = charge of that Li / passed charge.

Areas are pixel counts (pixel centres inside the circle) times the pixel area, so a footprint
that runs off the image is handled: only its imaged part counts, for particles and area alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from skimage.draw import circle_perimeter
from skimage.segmentation import find_boundaries

from core.analysis.sem_footprint import Circle, detect_footprint, pixels_in_disc
from core.analysis.sem_particles import segment_particles
from core.analysis.size_distribution import (
    MIN_VALUES_FOR_FIT,
    Histogram,
    MixtureFit,
    fit_gaussian_mixture,
    histogram,
)
from core.errors import AnalysisError
from core.units import FARADAY_C_PER_MOL, LI_DENSITY_G_PER_CM3, LI_MOLAR_MASS_G_PER_MOL

__all__ = [
    "SEM_ANALYSIS_VERSION",
    "Circle",
    "RegionStats",
    "SemResult",
    "analyse_sem",
    "li_in_spheres_fmol",
    "overlay_rgb",
]

#: Bumped whenever a change can alter a stored result.
SEM_ANALYSIS_VERSION = "1"
SIZE_MODELS = ("gaussian", "lognormal")
_UM2_IN_CM2 = 1e-8
_NM3_IN_CM3 = 1e-21
_FMOL_PER_MOL = 1e15


def li_in_spheres_fmol(diameter_nm) -> float:
    """Li (fmol) in solid spheres of the given diameters (nm): Σ π/6·d³ · ρ / M."""
    d = np.asarray(diameter_nm, dtype=float)
    volume_cm3 = float(np.sum(np.pi / 6.0 * d**3)) * _NM3_IN_CM3
    return volume_cm3 * LI_DENSITY_G_PER_CM3 / LI_MOLAR_MASS_G_PER_MOL * _FMOL_PER_MOL


@dataclass(frozen=True)
class RegionStats:
    """Particles in one region of the footprint (whole, edge ring or centre disc)."""

    count: int
    area_um2: float
    density_per_cm2: float
    mean_diameter_nm: float | None
    sd_diameter_nm: float | None

    @classmethod
    def of(cls, diameter_nm: np.ndarray, area_um2: float) -> RegionStats:
        d = np.asarray(diameter_nm, dtype=float)
        return cls(
            count=int(d.size),
            area_um2=float(area_um2),
            density_per_cm2=d.size / (area_um2 * _UM2_IN_CM2) if area_um2 > 0 else math.nan,
            mean_diameter_nm=float(d.mean()) if d.size else None,
            sd_diameter_nm=float(d.std(ddof=1)) if d.size > 1 else None,
        )

    def to_dict(self) -> dict:
        return {
            "count": self.count,
            "area_um2": self.area_um2,
            "density_per_cm2": self.density_per_cm2,
            "mean_diameter_nm": self.mean_diameter_nm,
            "sd_diameter_nm": self.sd_diameter_nm,
        }


@dataclass(frozen=True)
class SemResult:
    """Particle statistics of one footprint.

    Attributes
    ----------
    footprint : Circle
        The footprint used (µm); ``footprint_detected`` says whether it was detected.
    whole, edge, centre : RegionStats
        Whole footprint, outer ring (``ring_fraction`` of the radius) and inner disc.
    diameter_nm, x_um, y_um, area_um2 : (K,) ndarray
        The K counted particles: equivalent diameter, centroid, projected area.
    is_edge : (K,) bool ndarray
        Counted particles in the edge ring.
    histogram : Histogram
        Of ``diameter_nm`` (bin edges in nm).
    fit : MixtureFit or None
        One- or two-Gaussian fit of ``diameter_nm`` (None below 3 particles).
    li_deposited_fmol : float
        Li in the counted particles taken as spheres.
    faradaic_efficiency : float or None
        ``li_deposited_fmol·F / passed_charge_C`` when the passed charge was given.
    labels : (M, N) int32 ndarray
        All segmented particles (counted or not); ``counted_labels`` lists the counted ones.
    n_excluded_large, n_outside : int
        Particles in the footprint excluded as too large; particles outside the footprint.
    n_specks, n_split : int
        Specks dropped; components split by the watershed.
    threshold, otsu_threshold : float, float or None
        Threshold applied (image units) and Otsu's value before the noise floor.
    parameters : dict
        Options used, with the analysis version.
    """

    footprint: Circle
    footprint_detected: bool
    pixel_size_nm: float
    whole: RegionStats
    edge: RegionStats
    centre: RegionStats
    diameter_nm: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    area_um2: np.ndarray
    is_edge: np.ndarray
    histogram: Histogram
    fit: MixtureFit | None
    li_deposited_fmol: float
    passed_charge_C: float | None
    faradaic_efficiency: float | None
    labels: np.ndarray
    counted_labels: np.ndarray
    n_excluded_large: int
    n_outside: int
    n_specks: int
    n_split: int
    threshold: float
    otsu_threshold: float | None
    parameters: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.whole.count

    @property
    def density_per_cm2(self) -> float:
        return self.whole.density_per_cm2

    @property
    def mean_diameter_nm(self) -> float | None:
        return self.whole.mean_diameter_nm

    @property
    def sd_diameter_nm(self) -> float | None:
        return self.whole.sd_diameter_nm

    @property
    def footprint_area_um2(self) -> float:
        return self.whole.area_um2

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-particle arrays); undefined values are None."""
        out = {
            "count": self.count,
            "density_per_cm2": self.density_per_cm2,
            "mean_diameter_nm": self.mean_diameter_nm,
            "sd_diameter_nm": self.sd_diameter_nm,
            "footprint_area_um2": self.footprint_area_um2,
            "edge": self.edge.to_dict(),
            "centre": self.centre.to_dict(),
            "footprint": {**self.footprint.to_dict(), "detected": self.footprint_detected},
            "histogram": {
                "bin_edges_nm": self.histogram.bin_edges.tolist(),
                "counts": self.histogram.counts.tolist(),
            },
            "li_deposited_fmol": self.li_deposited_fmol,
            "excluded": {
                "large": self.n_excluded_large,
                "outside_footprint": self.n_outside,
                "specks": self.n_specks,
            },
            "n_split": self.n_split,
            "threshold": self.threshold,
            "otsu_threshold": self.otsu_threshold,
            "parameters": dict(self.parameters),
        }
        if self.fit is not None:
            out["fit"] = self.fit.to_dict(unit="nm")
            out["fit"]["expected_counts"] = self.fit.expected_counts(
                self.histogram.bin_edges
            ).tolist()
        if self.faradaic_efficiency is not None:
            out["passed_charge_C"] = self.passed_charge_C
            out["faradaic_efficiency"] = self.faradaic_efficiency
        return out


def analyse_sem(
    image,
    *,
    pixel_size_nm: float,
    footprint: Circle | None = None,
    polarity: str = "bright",
    sigma_px: float = 1.0,
    threshold: str | float = "otsu",
    background_um: float | None = 2.0,
    max_particle_area_um2: float = 0.1,
    min_particle_area_px: float = 4.0,
    ring_fraction: float = 0.2,
    passed_charge_C: float | None = None,
    expected_footprint_diameter_um: float | None = None,
    histogram_bin_nm: float | None = None,
    size_model: str = "gaussian",
) -> SemResult:
    """Count and size the Li particles of one SECCM footprint in an SEM image.

    Parameters
    ----------
    image : (M, N) array_like
        Grey-level SEM image (uint8, uint16 or float).
    pixel_size_nm : float
        Pixel size, nm (square pixels).
    footprint : Circle, optional
        Footprint circle in µm (x along columns, y along rows, from the centre of pixel
        (0, 0)); detected automatically when omitted.
    polarity : {"bright", "dark"}
        Particles brighter (SE images, default) or darker than the Au film.
    sigma_px : float
        Gaussian smoothing sd, pixels.
    threshold : "otsu" or float
        Otsu's threshold (with a noise floor), or a value in the image's intensity units.
    background_um : float or None
        Block size of the background flattening, µm (None: no flattening).
    max_particle_area_um2 : float
        Larger particles are excluded, µm².
    min_particle_area_px : float
        Smaller specks are dropped, pixels.
    ring_fraction : float
        The edge region is the outer ``ring_fraction`` of the footprint radius (0–1).
    passed_charge_C : float, optional
        Charge passed during plating, C; gives the faradaic efficiency.
    expected_footprint_diameter_um : float, optional
        Narrows the footprint search to ±35 % of this diameter.
    histogram_bin_nm : float, optional
        Histogram bin width, nm (default Freedman–Diaconis, at least one pixel).
    size_model : {"gaussian", "lognormal"}
        Populations fitted to the diameters (one or two, by BIC). The article fits Gaussians;
        log-normal populations avoid reporting a skewed single population as two.

    Returns
    -------
    SemResult
    """
    if not pixel_size_nm > 0 or not math.isfinite(pixel_size_nm):
        raise AnalysisError(f"pixel size {pixel_size_nm} nm must be a positive number")
    if not 0 < ring_fraction < 1:
        raise AnalysisError(f"ring fraction {ring_fraction} must lie between 0 and 1")
    if not max_particle_area_um2 > 0:
        raise AnalysisError(f"maximum particle area {max_particle_area_um2} µm² must be > 0")
    if size_model not in SIZE_MODELS:
        raise AnalysisError(f"size model {size_model!r} is not one of {SIZE_MODELS}")
    if passed_charge_C is not None and not passed_charge_C > 0:
        raise AnalysisError(f"passed charge {passed_charge_C} C must be positive")
    px_um = pixel_size_nm * 1e-3
    seg = segment_particles(
        image,
        pixel_size_nm=pixel_size_nm,
        polarity=polarity,
        sigma_px=sigma_px,
        threshold=threshold,
        background_um=background_um,
        min_particle_area_px=min_particle_area_px,
        max_hole_area_px=max_particle_area_um2 / px_um**2,
    )
    area_um2 = seg.area_px * px_um**2
    small_enough = area_um2 <= max_particle_area_um2
    detected = footprint is None
    if detected:
        footprint = detect_footprint(
            seg.signal,
            pixel_size_nm=pixel_size_nm,
            particle_rows=seg.row_px[small_enough],
            particle_cols=seg.col_px[small_enough],
            exclude=seg.labels > 0,
            expected_diameter_um=expected_footprint_diameter_um,
        )
    shape = seg.labels.shape
    footprint_px = pixels_in_disc(shape, footprint, pixel_size_nm)
    if footprint_px == 0:
        raise AnalysisError(
            f"footprint circle {footprint.to_dict()} µm lies outside the image "
            f"({shape[1] * px_um:.3g} × {shape[0] * px_um:.3g} µm)"
        )
    inner = Circle(footprint.x_um, footprint.y_um, footprint.r_um * (1.0 - ring_fraction))
    centre_px = pixels_in_disc(shape, inner, pixel_size_nm)

    x_um, y_um = seg.col_px * px_um, seg.row_px * px_um
    rho = np.hypot(x_um - footprint.x_um, y_um - footprint.y_um)
    inside = rho <= footprint.r_um
    counted = inside & small_enough
    diameter_nm = 2e3 * np.sqrt(area_um2[counted] / np.pi)
    is_edge = rho[counted] > inner.r_um
    pixel_um2 = px_um**2
    li_fmol = li_in_spheres_fmol(diameter_nm)
    fe = None
    if passed_charge_C is not None:
        fe = li_fmol / _FMOL_PER_MOL * FARADAY_C_PER_MOL / passed_charge_C
    fit = None
    if diameter_nm.size >= MIN_VALUES_FOR_FIT:
        # Equivalent diameters are discrete (pixel counts): keep components wider than half a
        # pixel (in ln units: relative to the smallest diameter).
        log = size_model == "lognormal"
        floor = 0.5 * pixel_size_nm / (float(diameter_nm.min()) if log else 1.0)
        fit = fit_gaussian_mixture(diameter_nm, log=log, min_sd=floor)
    parameters = {
        "version": SEM_ANALYSIS_VERSION,
        "pixel_size_nm": pixel_size_nm,
        "polarity": polarity,
        "sigma_px": sigma_px,
        "threshold": threshold,
        "background_um": background_um,
        "max_particle_area_um2": max_particle_area_um2,
        "min_particle_area_px": min_particle_area_px,
        "ring_fraction": ring_fraction,
        "expected_footprint_diameter_um": expected_footprint_diameter_um,
        "size_model": size_model,
    }
    return SemResult(
        footprint=footprint,
        footprint_detected=detected,
        pixel_size_nm=float(pixel_size_nm),
        whole=RegionStats.of(diameter_nm, footprint_px * pixel_um2),
        edge=RegionStats.of(diameter_nm[is_edge], (footprint_px - centre_px) * pixel_um2),
        centre=RegionStats.of(diameter_nm[~is_edge], centre_px * pixel_um2),
        diameter_nm=diameter_nm,
        x_um=x_um[counted],
        y_um=y_um[counted],
        area_um2=area_um2[counted],
        is_edge=is_edge,
        histogram=histogram(diameter_nm, bin_width=histogram_bin_nm, min_bin_width=pixel_size_nm),
        fit=fit,
        li_deposited_fmol=li_fmol,
        passed_charge_C=passed_charge_C,
        faradaic_efficiency=fe,
        labels=seg.labels,
        counted_labels=np.flatnonzero(counted) + 1,
        n_excluded_large=int(np.sum(inside & ~small_enough)),
        n_outside=int(np.sum(~inside)),
        n_specks=seg.n_specks,
        n_split=seg.n_split,
        threshold=seg.threshold,
        otsu_threshold=seg.otsu_threshold,
        parameters=parameters,
    )


#: Overlay colours (RGB): counted particles, other particles, footprint, edge/centre border.
COUNTED_RGB = (60, 230, 60)
EXCLUDED_RGB = (240, 60, 40)
FOOTPRINT_RGB = (255, 215, 0)
RING_RGB = (0, 200, 255)


def overlay_rgb(
    image,
    labels,
    *,
    footprint: Circle | None = None,
    pixel_size_nm: float | None = None,
    counted_labels=None,
    ring_fraction: float | None = None,
) -> np.ndarray:
    """QA overlay: particle outlines and the footprint drawn on the image.

    Parameters
    ----------
    image : (M, N) array_like
        The SEM image (grey levels stretched between its 0.5 and 99.5 percentiles).
    labels : (M, N) int array_like
        Particle labels (0 = background), e.g. ``SemResult.labels``.
    footprint : Circle, optional
        Drawn in yellow (needs ``pixel_size_nm``); with ``ring_fraction`` the edge/centre
        border is drawn in cyan.
    counted_labels : array_like of int, optional
        Labels outlined in green; all others in red. Default: every particle in green.

    Returns
    -------
    (M, N, 3) uint8 ndarray
    """
    img = np.asarray(image, dtype=np.float32)
    lab = np.asarray(labels)
    if img.ndim != 2 or lab.shape != img.shape:
        raise AnalysisError(
            f"overlay needs a 2-D image and labels of the same shape; got {img.shape} "
            f"and {lab.shape}"
        )
    lo, hi = np.percentile(img[::2, ::2], [0.5, 99.5])
    grey = np.clip((img - lo) * (255.0 / max(hi - lo, 1e-12)), 0, 255).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    outline = find_boundaries(lab, mode="inner")
    if counted_labels is None:
        rgb[outline] = COUNTED_RGB
    else:
        is_counted = np.zeros(int(lab.max()) + 1, dtype=bool)
        chosen = np.asarray(counted_labels, dtype=int)
        is_counted[chosen[(chosen > 0) & (chosen < is_counted.size)]] = True
        good = outline & is_counted[lab]
        rgb[outline & ~good] = EXCLUDED_RGB
        rgb[good] = COUNTED_RGB
    if footprint is not None:
        if pixel_size_nm is None:
            raise AnalysisError("drawing the footprint needs pixel_size_nm")
        px_um = pixel_size_nm * 1e-3
        radii = [footprint.r_um]
        colours = [FOOTPRINT_RGB]
        if ring_fraction is not None:
            radii.append(footprint.r_um * (1.0 - ring_fraction))
            colours.append(RING_RGB)
        for radius_um, colour in zip(radii, colours, strict=True):
            for extra in (0, 1):  # two pixels wide, visible on large images
                rr, cc = circle_perimeter(
                    round(footprint.y_um / px_um),
                    round(footprint.x_um / px_um),
                    round(radius_um / px_um) + extra,
                    shape=img.shape,
                )
                rgb[rr, cc] = colour
    return rgb
