"""Digital twin of an ex-situ SEM image of one SECCM footprint, with its ground truth.

The particles come from :func:`core.simulate.sem_deposit.plate_deposit` (same physics as the
simulated E–t curves: density n(j), faradaic efficiency FE(j), passed charge j·t·A). The image
is a secondary-electron (SE) view of the Au film:

- Au background with grain texture (Gaussian-correlated noise, ~20 nm grains) and a gentle
  brightness tilt across the field (detector geometry);
- the wetted footprint: a disc of slightly different contrast (SEI / electrolyte film) with a
  residue ring (salt left at the contact line) centred on its edge, darker by default;
- particles as bright discs, anti-aliased, optionally brighter towards their rims (SE edge
  effect: yield grows as 1/cos of the local surface tilt of a sphere);
- a few touching pairs, a few stray particles outside the footprint, and a few large
  irregular blobs (> 0.1 µm², which the analysis must exclude);
- Gaussian blur (the beam) and Gaussian noise, then quantised to ``uint8`` or ``uint16``.

Coordinates: ``x`` along columns, ``y`` along rows, µm from the centre of pixel (0, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from core.errors import MeniscusError
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.simulate.sem_deposit import (
    ARTICLE_MORPHOLOGY,
    DepositMorphology,
    plate_deposit,
)
from core.units import FARADAY_C_PER_MOL

#: The article's upper size limit for Li particles (larger features are excluded), µm².
LARGE_PARTICLE_AREA_UM2 = 0.1
#: Field of view / footprint diameter when the pixel size is derived from the image shape.
FIELD_PER_FOOTPRINT = 1.25


@dataclass(frozen=True)
class SemAppearance:
    """How the SEM renders the scene, in units of the particle contrast (particle − Au = 1).

    ``background_fraction`` and ``contrast_fraction`` place the Au level and the particle
    contrast within the output dtype's range. ``noise_sd`` is per pixel; ``grain_sd`` the
    film's texture; ``tilt`` the brightness change across the field; ``footprint_contrast``
    the film inside the footprint; ``ring_contrast`` the residue ring (negative: darker) of
    full width at half maximum ``ring_width_um``; ``se_edge_gain`` the SE rim brightening
    (0: flat discs). ``beam_sigma_nm`` is the beam's Gaussian blur: a field-emission SEM
    resolves 1–2 nm, well below these pixels.
    """

    background_fraction: float = 0.27
    contrast_fraction: float = 0.43
    noise_sd: float = 0.12
    grain_sd: float = 0.05
    grain_size_nm: float = 20.0
    beam_sigma_nm: float = 1.5
    tilt: float = 0.10
    footprint_contrast: float = -0.08
    ring_contrast: float = -0.2
    ring_width_um: float = 0.2
    se_edge_gain: float = 0.0


DEFAULT_APPEARANCE = SemAppearance()


@dataclass(frozen=True)
class SimulatedSem:
    """A simulated SEM image and what the simulator knows to be true about it.

    Attributes
    ----------
    image : (M, N) ndarray of uint8 or uint16
        The SE image, as the microscope would save it.
    pixel_size_nm : float
        Pixel size, nm (square pixels).
    truth : dict
        JSON-serialisable ground truth; see :func:`simulate_sem`.
    """

    image: np.ndarray
    pixel_size_nm: float
    truth: dict = field(default_factory=dict)


def simulate_sem(
    *,
    current_density_mA_cm2: float,
    duration_s: float,
    footprint_diameter_um: float = 10.0,
    pixel_size_nm: float | None = None,
    shape: tuple[int, int] = (2048, 2048),
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    morphology: DepositMorphology = ARTICLE_MORPHOLOGY,
    appearance: SemAppearance = DEFAULT_APPEARANCE,
    touching_fraction: float = 0.06,
    n_outside: int = 6,
    n_blobs: int = 2,
    polarity: str = "bright",
    dtype=np.uint8,
    seed: int | None = None,
) -> SimulatedSem:
    """Simulate the SEM image of the footprint left by one galvanostatic landing.

    Parameters
    ----------
    current_density_mA_cm2, duration_s : float
        Plating current density (mA/cm², magnitude) and its duration (s).
    footprint_diameter_um : float
        Diameter of the wetted disc, µm.
    pixel_size_nm : float, optional
        Pixel size, nm. Default: the field of view is 1.25 footprint diameters across the
        shorter side of ``shape``.
    shape : (rows, cols)
        Image shape, pixels.
    physics, morphology, appearance
        Deposit physics, size-distribution shape and edge effects, rendering.
    touching_fraction : float
        Fraction of the footprint's particles that form touching pairs (in contact, or up to
        8 % of the two radii apart: blur and threshold merge them into one component).
    n_outside, n_blobs : int
        Stray particles outside the footprint; large blobs (0.15–0.3 µm²) inside it.
    polarity : {"bright", "dark"}
        "dark" inverts the image (particles darker than the background).
    dtype : numpy.uint8 or numpy.uint16
    seed : int, optional

    Returns
    -------
    SimulatedSem
        ``truth`` holds: ``particles`` (lists ``x_um``, ``y_um``, ``diameter_nm``, ``inside``,
        ``edge``, ``touching``), ``blobs`` (``x_um``, ``y_um``, ``area_um2``), ``count``
        (particles inside the footprint that the analysis should count), ``density_per_cm2``,
        ``mean_diameter_nm``, ``sd_diameter_nm`` (ddof = 1), ``footprint`` (``x_um``,
        ``y_um``, ``r_um``), ``footprint_area_um2``, ``ring_fraction`` with ``edge`` and
        ``centre`` (count, density_per_cm2, mean_diameter_nm, sd_diameter_nm),
        ``passed_charge_C``, ``li_deposited_fmol``, ``faradaic_efficiency``, and the inputs.
    """
    if current_density_mA_cm2 <= 0 or duration_s <= 0:
        raise MeniscusError(
            f"current density {current_density_mA_cm2} mA/cm² and duration {duration_s} s "
            "must both be positive"
        )
    if polarity not in ("bright", "dark"):
        raise MeniscusError(f"polarity {polarity!r} is not 'bright' or 'dark'")
    rows, cols = (int(s) for s in shape)
    if pixel_size_nm is None:
        pixel_size_nm = FIELD_PER_FOOTPRINT * footprint_diameter_um * 1e3 / min(rows, cols)
    px_um = pixel_size_nm * 1e-3
    field_um = (cols * px_um, rows * px_um)
    radius_um = footprint_diameter_um / 2.0
    if 2 * radius_um > min(field_um) - 2 * appearance.ring_width_um:
        raise MeniscusError(
            f"footprint {footprint_diameter_um} µm does not fit the field "
            f"{field_um[0]:.3g} × {field_um[1]:.3g} µm ({cols} × {rows} px of {pixel_size_nm} nm)"
        )
    rng = np.random.default_rng(seed)
    slack = (np.asarray(field_um) - 2 * radius_um) / 2 - appearance.ring_width_um
    centre_um = tuple(np.asarray(field_um) / 2 - px_um / 2 + rng.uniform(-0.5, 0.5, 2) * slack)

    blobs = _draw_blobs(rng, n_blobs, centre_um, radius_um)
    beam_px = appearance.beam_sigma_nm / pixel_size_nm
    max_d_nm = 0.8 * 2e3 * math.sqrt(LARGE_PARTICLE_AREA_UM2 / math.pi)
    deposit = plate_deposit(
        rng,
        physics=physics,
        morphology=morphology,
        current_density_mA_cm2=current_density_mA_cm2,
        duration_s=duration_s,
        centre_um=centre_um,
        radius_um=radius_um,
        field_um=field_um,
        # Below ~3 px a particle is neither resolved nor sized: the twin does not draw those.
        min_diameter_nm=3.0 * pixel_size_nm,
        max_diameter_nm=max_d_nm,
        gap_nm=max(3.0, 4.0 * beam_px) * pixel_size_nm,
        touching_fraction=touching_fraction,
        n_outside=n_outside,
        keep_out=[(b[0], b[1], b[2]) for b in blobs["extent"]],
    )

    canvas = _background(rng, (rows, cols), pixel_size_nm, centre_um, radius_um, appearance)
    particles = np.zeros((rows, cols), dtype=np.float32)
    for x, y, d in zip(deposit.x_um, deposit.y_um, deposit.diameter_nm, strict=True):
        _stamp_sphere(particles, y / px_um, x / px_um, d * 5e-4 / px_um, appearance.se_edge_gain)
    blob_area_um2 = [_stamp_blob(particles, lobes, px_um) for lobes in blobs["lobes"]]
    canvas += particles
    canvas = ndi.gaussian_filter(canvas, beam_px, truncate=3.0) if beam_px > 0 else canvas
    canvas += rng.normal(0.0, appearance.noise_sd, size=canvas.shape).astype(np.float32)
    image = _quantise(canvas, appearance, dtype, polarity)

    truth = _truth(
        deposit,
        blobs,
        blob_area_um2,
        centre_um=centre_um,
        radius_um=radius_um,
        ring_fraction=morphology.edge_fraction,
    )
    truth.update(
        current_density_mA_cm2=float(current_density_mA_cm2),
        duration_s=float(duration_s),
        pixel_size_nm=float(pixel_size_nm),
        shape=[rows, cols],
        polarity=polarity,
        seed=seed,
        expected_density_per_cm2=float(physics.particle_density_per_cm2(current_density_mA_cm2)),
    )
    return SimulatedSem(image=image, pixel_size_nm=float(pixel_size_nm), truth=truth)


def _draw_blobs(rng, n_blobs, centre_um, radius_um) -> dict:
    """Large irregular features: a core disc and 2–3 strongly overlapping lobes (µm).

    The lobes overlap so much that their union stays one compact feature, not a cluster of
    touching particles that a watershed should split.
    """
    lobes, extent = [], []
    for _ in range(n_blobs):
        area = rng.uniform(0.15, 0.3)
        core_r = math.sqrt(area / math.pi) / 1.05  # the lobes add about 10 % to the core
        rho = radius_um * 0.6 * math.sqrt(rng.uniform())
        phi = rng.uniform(0, 2 * math.pi)
        bx, by = centre_um[0] + rho * math.cos(phi), centre_um[1] + rho * math.sin(phi)
        parts = [(bx, by, core_r)]
        for angle in rng.uniform(0, 2 * math.pi, size=int(rng.integers(2, 4))):
            off = 0.45 * core_r
            parts.append((bx + off * math.cos(angle), by + off * math.sin(angle), 0.6 * core_r))
        lobes.append(parts)
        extent.append((bx, by, 1.1 * core_r))
    return {"lobes": lobes, "extent": extent}


def _stamp_blob(canvas, lobes, px_um) -> float:
    """Draw one blob (union of lobes) into ``canvas``; return its drawn area, µm²."""
    rows = [(y - r) / px_um for _, y, r in lobes] + [(y + r) / px_um for _, y, r in lobes]
    cols = [(x - r) / px_um for x, _, r in lobes] + [(x + r) / px_um for x, _, r in lobes]
    r0, r1 = max(int(min(rows)) - 2, 0), min(int(max(rows)) + 3, canvas.shape[0])
    c0, c1 = max(int(min(cols)) - 2, 0), min(int(max(cols)) + 3, canvas.shape[1])
    patch = np.zeros((r1 - r0, c1 - c0), dtype=canvas.dtype)
    for x, y, r in lobes:
        _stamp_sphere(patch, y / px_um - r0, x / px_um - c0, r / px_um, 0.0)
    np.maximum(canvas[r0:r1, c0:c1], patch, out=canvas[r0:r1, c0:c1])
    return float(np.sum(patch >= 0.5)) * px_um**2


def _background(rng, shape, pixel_size_nm, centre_um, radius_um, look) -> np.ndarray:
    """Au grains, tilt, footprint disc and residue ring, in particle-contrast units."""
    rows, cols = shape
    grain = rng.standard_normal(shape).astype(np.float32)
    grain_px = look.grain_size_nm / 2.0 / pixel_size_nm
    grain = ndi.gaussian_filter(grain, grain_px, truncate=3.0)
    grain *= look.grain_sd / max(float(grain.std()), 1e-12)
    px_um = pixel_size_nm * 1e-3
    y = (np.arange(rows, dtype=np.float32) * px_um)[:, None]
    x = (np.arange(cols, dtype=np.float32) * px_um)[None, :]
    phi = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(phi) * x + np.sin(phi) * y
    grain += look.tilt * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-12)
    rho = np.sqrt((x - centre_um[0]) ** 2 + (y - centre_um[1]) ** 2)
    # Disc edge softened over ~2 px; the ring is a Gaussian band with the given FWHM.
    inside = np.clip((radius_um - rho) / (2 * px_um) + 0.5, 0.0, 1.0)
    grain += look.footprint_contrast * inside
    ring_sigma = look.ring_width_um / 2.355
    grain += look.ring_contrast * np.exp(-0.5 * ((rho - radius_um) / ring_sigma) ** 2)
    return grain


def _stamp_sphere(canvas, row, col, radius_px, edge_gain) -> None:
    """Draw one sphere's SE signal into ``canvas`` (max-composited), on a small patch only.

    Coverage is the anti-aliased disc ``clip(r − ρ + ½, 0, 1)``; the SE rim brightening is
    ``1 + gain·(1/cosθ − 1)`` with ``sinθ = ρ/r`` (capped at θ ≈ 72°).
    """
    reach = radius_px + 1.5
    r0, r1 = max(int(row - reach), 0), min(int(row + reach) + 2, canvas.shape[0])
    c0, c1 = max(int(col - reach), 0), min(int(col + reach) + 2, canvas.shape[1])
    if r0 >= r1 or c0 >= c1:
        return
    dy = (np.arange(r0, r1) - row)[:, None]
    dx = (np.arange(c0, c1) - col)[None, :]
    rho = np.sqrt(dy * dy + dx * dx)
    coverage = np.clip(radius_px - rho + 0.5, 0.0, 1.0)
    sin2 = np.minimum((rho / radius_px) ** 2, 0.9)
    value = coverage * (1.0 + edge_gain * (1.0 / np.sqrt(1.0 - sin2) - 1.0))
    patch = canvas[r0:r1, c0:c1]
    np.maximum(patch, value.astype(canvas.dtype), out=patch)


def _quantise(canvas, look, dtype, polarity) -> np.ndarray:
    top = np.iinfo(dtype).max
    scaled = (look.background_fraction + look.contrast_fraction * canvas) * float(top)
    image = np.clip(np.rint(scaled), 0, top).astype(dtype)
    return top - image if polarity == "dark" else image


def _region_stats(diameter_nm, area_um2) -> dict:
    d = np.asarray(diameter_nm, dtype=float)
    return {
        "count": int(d.size),
        "density_per_cm2": d.size / (area_um2 * 1e-8),
        "mean_diameter_nm": float(d.mean()) if d.size else None,
        "sd_diameter_nm": float(d.std(ddof=1)) if d.size > 1 else None,
    }


def _truth(deposit, blobs, blob_area_um2, *, centre_um, radius_um, ring_fraction) -> dict:
    inside = deposit.inside
    area_um2 = math.pi * radius_um**2
    centre_area_um2 = area_um2 * (1.0 - ring_fraction) ** 2
    d_in = deposit.diameter_nm[inside]
    truth = _region_stats(d_in, area_um2)
    truth.update(
        footprint={"x_um": centre_um[0], "y_um": centre_um[1], "r_um": radius_um},
        footprint_area_um2=area_um2,
        ring_fraction=ring_fraction,
        edge=_region_stats(deposit.diameter_nm[inside & deposit.edge], area_um2 - centre_area_um2),
        centre=_region_stats(deposit.diameter_nm[inside & ~deposit.edge], centre_area_um2),
        passed_charge_C=deposit.passed_charge_C,
        li_deposited_fmol=deposit.deposited_fmol,
        faradaic_efficiency=deposit.deposited_fmol
        * 1e-15
        * FARADAY_C_PER_MOL
        / deposit.passed_charge_C,
        particles={
            "x_um": deposit.x_um.tolist(),
            "y_um": deposit.y_um.tolist(),
            "diameter_nm": deposit.diameter_nm.tolist(),
            "inside": deposit.inside.tolist(),
            "edge": deposit.edge.tolist(),
            "touching": deposit.touching.tolist(),
        },
        blobs={
            "x_um": [e[0] for e in blobs["extent"]],
            "y_um": [e[1] for e in blobs["extent"]],
            "area_um2": blob_area_um2,
        },
        n_touching=int(deposit.touching[inside].sum()),
        n_outside=int((~inside).sum()),
    )
    return truth
