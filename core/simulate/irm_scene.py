"""Building blocks shared by the IRM movie twins: the record, contrast laws, geometry, timing.

Conventions: arrays are indexed ``[row, col]``; points are given as ``[x, y]`` with
``x = column`` and ``y = row`` in pixels, pixel ``(row i, col j)`` having its centre at
``(x, y) = (j, i)``. Times of frames are seconds from the first frame; the electrochemical
record starts (``t = 0``) at the landing frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.errors import MeniscusError
from core.simulate.optics import blur

#: Space around the footprint in the default (square) frame, µm on each side.
DEFAULT_MARGIN_UM = 1.5


@dataclass(frozen=True)
class SimulatedMovie:
    """A simulated IRM movie of one landing and what the simulator knows to be true about it.

    Attributes
    ----------
    frames : (T, rows, cols) ndarray, uint16
        Raw camera frames, counts (``bit_depth`` bits).
    times_s : (T,) ndarray, float64
        Time stamp of each frame, s from the first frame; jittered, strictly increasing.
    pixel_size_nm : float
        Pixel size in the sample plane, nm.
    truth : dict
        JSON-serialisable ground truth; keys are listed by the simulator that made the movie.
    footprint_mask : (rows, cols) ndarray, bool
        Pixels inside the wetted disc.
    inverted_mask : (rows, cols) ndarray, bool
        Pixels whose deposit is thick enough to invert the IRM contrast (dark spots).
    t_nuc_map_s : (rows, cols) ndarray, float32, or None
        True local nucleation time, s from landing, NaN outside the footprint (galvanostatic
        movies; None for CV movies).
    ia_ic_maps : (cycles, rows, cols) ndarray, float32, or None
        True per-pixel I_a/I_c of each CV cycle, NaN outside the footprint (CV movies only).
    dead_li_map : (rows, cols) ndarray, float32, or None
        Charge density left on the electrode after the last CV cycle (inactive Li and SEI),
        µAh/cm², NaN outside the footprint (CV movies only).
    """

    frames: np.ndarray
    times_s: np.ndarray
    pixel_size_nm: float
    truth: dict = field(default_factory=dict)
    footprint_mask: np.ndarray | None = None
    inverted_mask: np.ndarray | None = None
    t_nuc_map_s: np.ndarray | None = None
    ia_ic_maps: np.ndarray | None = None
    dead_li_map: np.ndarray | None = None


@dataclass(frozen=True)
class IrmContrast:
    """How the interface's reflectance responds to contact and deposits (relative units).

    Reflectance changes ``r`` are relative to the bare Au film: the expected signal of a pixel
    is ``B·(1 + r)`` with ``B`` the illumination (see :mod:`core.simulate.optics`).
    """

    #: reflectance step when the meniscus wets the film (the landing step), relative
    landing_contrast: float = -0.08
    #: reflectance change per µAh/cm² of charge deposited as Li metal (eq. 2's α, relative)
    alpha_li_per_uAh_cm2: float = 0.10
    #: reflectance change per µAh/cm² of charge spent on SEI / Li–Au alloy, relative
    alpha_sei_per_uAh_cm2: float = 0.03
    #: SEI/alloy share of the current after local nucleation, relative to before
    sei_after_nucleation_fraction: float = 0.2
    #: relative sd of the (smooth) spatial variation of the SEI/alloy signal
    sei_texture_fraction: float = 0.03
    #: duration (1 sd) of the nucleation burst, fraction of t_nuc
    burst_width_fraction: float = 0.03
    #: per-particle scatter (1 sd) of nucleation times about the local field, fraction of t_nuc
    particle_scatter_fraction: float = 0.02
    #: log-normal sd of particle volumes (relative)
    particle_volume_sd_log: float = 0.4
    #: correlation length (Gaussian smoothing sd) of the nucleation-time field, µm
    nucleation_correlation_um: float = 0.4
    #: radius of the early-nucleating cluster, µm (the article's 14×14 px ≈ 560 nm regions)
    early_region_radius_um: float = 0.4
    #: extra lead of the early cluster, fraction of t_nuc (1.5 s of 17.7 s at 0.20 mA/cm²)
    early_region_lead_fraction: float = 0.085
    #: contrast of thick deposits in inverted regions, as a multiple of −α_Li
    inversion_gain: float = 3.0
    #: radius of one inverted (dark) spot, µm
    inversion_blob_radius_um: float = 0.35
    #: CV: I_a/I_c = cv_strip_slope·CE_local + cv_strip_offset per pixel
    cv_strip_slope: float = 0.9
    cv_strip_offset: float = 0.05
    #: CV: spread (log sd) of local CE in cycle 1, decaying over cv_heterogeneity_decay_cycles
    cv_heterogeneity_first_cycle: float = 0.35
    cv_heterogeneity_decay_cycles: float = 3.0
    #: CV: how much more Li plates where inactive Li accumulates (log gain per unit field)
    cv_plating_enhancement: float = 0.3
    #: CV: correlation length of the regions prone to inactive Li, µm
    cv_correlation_um: float = 0.8


#: Default contrast laws of the lab (Au film, 50 mM LiPF6 in PC, green LED).
IRM_CONTRAST = IrmContrast()


@dataclass(frozen=True)
class Footprint:
    """The wetted disc on the pixel grid."""

    center_xy_px: tuple[float, float]
    radius_px: float
    mask: np.ndarray
    distance_px: np.ndarray


def default_shape(footprint_diameter_um: float, pixel_size_nm: float) -> tuple[int, int]:
    """Square frame holding the footprint plus :data:`DEFAULT_MARGIN_UM` on each side."""
    side = math.ceil((footprint_diameter_um + 2 * DEFAULT_MARGIN_UM) * 1e3 / pixel_size_nm)
    return side, side


def footprint_geometry(
    shape: tuple[int, int],
    *,
    pixel_size_nm: float,
    diameter_um: float,
    offset_um: tuple[float, float],
) -> Footprint:
    """Disc of ``diameter_um`` centred on the frame centre shifted by ``offset_um`` (x, y)."""
    rows, cols = shape
    cx = (cols - 1) / 2.0 + offset_um[0] * 1e3 / pixel_size_nm
    cy = (rows - 1) / 2.0 + offset_um[1] * 1e3 / pixel_size_nm
    if not (0.0 <= cx <= cols - 1 and 0.0 <= cy <= rows - 1):
        raise MeniscusError(
            f"footprint_offset_um {tuple(offset_um)} puts the footprint centre at "
            f"({cx:.1f}, {cy:.1f}) px, outside the {cols}×{rows} px frame"
        )
    radius = diameter_um * 1e3 / pixel_size_nm / 2.0
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    distance = np.hypot(xx - np.float32(cx), yy - np.float32(cy))
    return Footprint((float(cx), float(cy)), float(radius), distance <= radius, distance)


def standard_field(
    shape: tuple[int, int], *, sigma_px: float, mask: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Smooth Gaussian random field with mean 0 and sd 1 over ``mask`` exactly.

    White noise smoothed by a Gaussian of ``sigma_px`` pixels, then standardised over the
    masked pixels, so that its values there follow a normal distribution of known moments.
    Returns float32 (rows, cols); pixels outside the mask continue the same field.
    """
    noise = blur(rng.standard_normal(shape, dtype=np.float32), sigma_px)
    inside = noise[mask].astype(np.float64)
    return ((noise - inside.mean()) / max(inside.std(), 1e-12)).astype(np.float32)


def disc_profile(distance_px: np.ndarray, radius_px: float) -> np.ndarray:
    """1 inside ``radius_px``, cosine taper to 0 at 1.5·radius (no sharp edge in time maps)."""
    taper = np.clip((distance_px - radius_px) / (0.5 * radius_px), 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * taper))).astype(np.float32)


def inversion_mask(
    footprint: Footprint, *, fraction: float, blob_radius_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Union of random discs inside the footprint covering about ``fraction`` of its area."""
    mask = np.zeros_like(footprint.mask)
    if fraction <= 0:
        return mask
    target = fraction * footprint.mask.sum()
    rows, cols = mask.shape
    yy, xx = np.ogrid[0:rows, 0:cols]
    candidates = np.flatnonzero(
        footprint.mask & (footprint.distance_px <= footprint.radius_px - blob_radius_px)
    )
    if candidates.size == 0:
        candidates = np.flatnonzero(footprint.mask)
    # A loop over blobs (a few dozen at most), never over pixels.
    while mask.sum() < target:
        centre = rng.choice(candidates)
        cy, cx = divmod(int(centre), cols)
        mask |= (xx - cx) ** 2 + (yy - cy) ** 2 <= blob_radius_px**2
    return mask & footprint.mask


def frame_times(
    *,
    pre_landing_frames: int,
    measurement_s: float,
    post_frames: int,
    frame_interval_s: float,
    frame_jitter_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int, int]:
    """Jittered frame time stamps around one measurement.

    Intervals are ``frame_interval_s + frame_jitter_s·N(0, 1)``, clipped to 25–175 % of the
    nominal interval so time always increases. The landing frame is frame
    ``pre_landing_frames``; measurement frames are those at most ``measurement_s`` after it.

    Returns
    -------
    times_s : (T,) ndarray, float64
        s from the first frame.
    landing_frame : int
    last_measurement_frame : int
        Index of the last frame within the measurement; ``post_frames`` frames follow it.
    """
    most = pre_landing_frames + int(np.ceil(measurement_s / (0.25 * frame_interval_s))) + 2
    intervals = frame_interval_s + frame_jitter_s * rng.standard_normal(most + post_frames)
    intervals = np.clip(intervals, 0.25 * frame_interval_s, 1.75 * frame_interval_s)
    times = np.concatenate([[0.0], np.cumsum(intervals)])
    since_landing = times - times[pre_landing_frames]
    last = int(np.flatnonzero(since_landing <= measurement_s * (1 + 1e-12))[-1])
    return times[: last + 1 + post_frames], pre_landing_frames, last


def check_common(
    *,
    footprint_diameter_um: float,
    pixel_size_nm: float,
    frame_interval_s: float,
    frame_jitter_s: float,
    pre_landing_frames: int,
    post_frames: int,
    inverted_fraction: float,
) -> None:
    """Reject parameters no movie can be made with, naming the value, the limit and the unit."""
    positive = {
        "footprint_diameter_um": (footprint_diameter_um, "µm"),
        "pixel_size_nm": (pixel_size_nm, "nm"),
        "frame_interval_s": (frame_interval_s, "s"),
    }
    for name, (value, unit) in positive.items():
        if not (np.isfinite(value) and value > 0):
            raise MeniscusError(f"{name} {value!r} {unit} must be above 0 {unit}")
    if not (np.isfinite(frame_jitter_s) and 0 <= frame_jitter_s <= 0.5 * frame_interval_s):
        raise MeniscusError(
            f"frame_jitter_s {frame_jitter_s!r} s must lie in 0–{0.5 * frame_interval_s:g} s "
            f"(half the frame interval)"
        )
    if pre_landing_frames < 1:
        raise MeniscusError(
            f"pre_landing_frames {pre_landing_frames} must be at least 1: the landing step "
            "is only visible against an earlier frame"
        )
    if post_frames < 0:
        raise MeniscusError(f"post_frames {post_frames} must be 0 or more")
    if not 0.0 <= inverted_fraction < 1.0:
        raise MeniscusError(
            f"inverted_fraction {inverted_fraction!r} must lie in [0, 1) of the footprint area"
        )


def seed_streams(seed: int | None, n: int) -> tuple[int, list[np.random.Generator]]:
    """The seed actually used (drawn when ``seed`` is None) and ``n`` independent generators.

    Separate streams keep the scene (footprint, particles) identical when only timing or
    noise options change.
    """
    sequence = np.random.SeedSequence(seed)
    used = int(sequence.entropy)
    return used, [np.random.default_rng(child) for child in sequence.spawn(n)]
