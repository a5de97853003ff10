"""Digital twin of the in-situ IRM movie of one galvanostatic landing, with its ground truth.

The picture (reflectance changes ``r`` are relative; see :mod:`core.simulate.optics` for how
they become camera counts):

- **Before landing** (frames ``0 … landing_frame − 1``): the bare Au film, ``r = 0``: the
  illumination with its gradient, film texture and fixed pattern.
- **Landing** (frame ``landing_frame``, ``t = 0`` of the electrochemical record): the meniscus
  wets a disc and changes the reflection, ``r += landing_contrast`` over the (blurred) disc.
  The landing frame is the first frame that shows this step.
- **SEI / Li–Au alloy**: charge passed before local nucleation forms SEI and alloy, a smooth
  and nearly uniform rise ``α_sei·q_sei(x, t)``; after local nucleation only
  ``sei_after_nucleation_fraction`` of the current still goes there. It varies slowly in
  space, so its blurred image is taken as the blurred disc times the local value.
- **Li nanoparticles**, ``N ~ Poisson(n(j)·area)`` with ``n(j)`` =
  ``physics.particle_density_per_cm2(j)`` (the SEM twin's law), uniform over the footprint,
  log-normal volumes. Of the charge ``q(t) = j·t``, the share ``FE(j)`` =
  ``physics.faradaic_efficiency(j)`` ends as Li metal, as in the SEM twin. Until a particle
  nucleates (at ``t_p = t_loc(x_p) + σ_p·ε_p``) its share is held in the alloy/adatom
  reservoir; at nucleation the reservoir empties into the new nucleus in a **burst** of
  duration ``σ_b = burst_width_fraction·t_nuc``, after which the particle grows with the current.
  Per unit area: ``Q_Li(t) = FE·q(t)·Φ((t − t_p)/σ_b)`` (Φ the normal CDF), so its rate is
  ``FE·j·Φ + FE·q(t)·φ_σb(t − t_p)``: the burst term peaks at ``t_p`` and is ``t_p/σ_b`` ≈ 30×
  the growth rate. Intensity is eq. 2's ``I = α·V_M·Q/(nF)``: linear in the Li charge,
  ``α_Li`` per µAh/cm² (1 µAh/cm² of Li is 4.85 nm of equivalent thickness). The final Li is
  ``FE·q(T)`` as in the SEM twin; the volume per particle gives equivalent-sphere diameters
  of ≈ 80, 65, 49 nm at 0.20×60 s, 0.78×15 s, 3.82×3 s (article: 92/59, 80, 48 nm).
- **Contrast inversion**: in ``inverted_mask`` (random discs covering ``inverted_fraction`` of
  the footprint) deposits are thick and their contrast is ``−inversion_gain·α_Li``: the pixels
  darken as Li grows.
- **After the run** (``post_frames``): the current stops, the deposit stays; with
  ``retract_after_run`` the pipette lifts off and the landing step disappears.

The local nucleation time field is ``t_loc = t_nuc·(1 − lead) + σ·F(x)`` with ``F`` a smooth
Gaussian random field (correlation ``nucleation_correlation_um``) standardised to mean 0 and
sd 1 over the footprint, so ``t_loc`` is normally distributed there with sd ``σ =
irm_nucleation_spread_fraction·t_nuc``. With ``early_region`` a disc of radius
``early_region_radius_um``, placed where ``F`` is lowest, nucleates ``early_region_lead_fraction·
t_nuc`` earlier still (tapered edge): it is the earliest cluster of the footprint.

Ground truth, and how an analysis should be judged against it:

- ``t_nuc_map_s`` is ``t_loc`` (NaN outside the footprint): the time about which the particles
  at a place nucleate. Because the burst dominates the local rate, the noise-free local
  ``dI/dt`` of one particle peaks within ``2·σ_b²/t_p`` (< 0.5 % of t_nuc) of ``t_p``; in
  inverted pixels the same event is a dip. The PSF and the particle scatter mix neighbours,
  so compare maps after block averaging (the article's 14×14 px).
- ``t_nuc_irm_s`` is the time where ``dI/dt`` of the **noise-free, unblurred, footprint-mean**
  intensity peaks (the largest maximum over ``t > 0`` of the model run without end), found on a
  grid of ≥ 100 points per ``σ_b`` covering every nucleation event, refined by a parabola.
  Blur only moves intensity across the disc edge, so the blurred mean peaks at the same time.
  ``None`` when that peak lies after the end of the run.
- ``t_nuc_s`` is the electrochemical nucleation time ``physics.t_nuc_s(j)`` (or the value passed,
  e.g. from the E–t twin's truth of the same spot), and ``nucleated`` is ``t_nuc_s ≤ duration``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr

from core.errors import MeniscusError
from core.simulate.irm_scene import (
    IRM_CONTRAST,
    Footprint,
    IrmContrast,
    SimulatedMovie,
    check_common,
    default_shape,
    disc_profile,
    footprint_geometry,
    frame_times,
    inversion_mask,
    seed_streams,
    standard_field,
)
from core.simulate.movie_cv import simulate_irm_cv_movie
from core.simulate.optics import (
    LAB_OPTICS,
    IrmOptics,
    blur,
    expose,
    flicker_factors,
    illumination_counts,
)
from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.units import (
    FARADAY_C_PER_MOL,
    LI_MOLAR_VOLUME_M3_PER_MOL,
    UAH_PER_CM2_IN_MC_PER_CM2,
)

__all__ = [
    "IRM_CONTRAST",
    "IrmContrast",
    "SimulatedMovie",
    "simulate_irm_cv_movie",
    "simulate_irm_movie",
]

#: Equivalent Li thickness of 1 µAh/cm² deposited as Li metal, nm (V_M·Q/F per area).
NM_LI_PER_UAH_CM2 = (
    LI_MOLAR_VOLUME_M3_PER_MOL * UAH_PER_CM2_IN_MC_PER_CM2 * 10.0 / FARADAY_C_PER_MOL * 1e9
)
_TRUTH_GRID_POINTS = 8192
#: Largest change of any particle's nucleated fraction Φ for which a frame reuses the last blur.
_PHI_TOLERANCE = 1e-6


def _phi(z):
    return np.exp(-0.5 * z * z) * np.float32(1.0 / np.sqrt(2.0 * np.pi))


def _psi(z):
    """Integral of the normal CDF: Ψ(z) = zΦ(z) + φ(z) (a smoothed ramp max(z, 0))."""
    return z * ndtr(z) + _phi(z)


class _Scene:
    """The static part of one galvanostatic landing: where and when things happen."""

    def __init__(
        self,
        *,
        j,
        t_nuc,
        duration_s,
        footprint: Footprint,
        pixel_size_nm,
        physics: PlatingPhysics,
        contrast: IrmContrast,
        inverted_fraction,
        early_region,
        rng: np.random.Generator,
    ):
        self.footprint = footprint
        mask = footprint.mask
        shape = mask.shape
        px_per_um = 1e3 / pixel_size_nm
        self.rate_uAh_cm2_s = j / UAH_PER_CM2_IN_MC_PER_CM2
        self.faradaic_efficiency = float(physics.faradaic_efficiency(j))
        self.sigma_b = contrast.burst_width_fraction * t_nuc
        self.t_center = t_nuc * (1.0 - physics.irm_nucleation_lead_fraction)
        self.spread = physics.irm_nucleation_spread_fraction * t_nuc
        self.duration_s = duration_s

        field = standard_field(
            shape, sigma_px=contrast.nucleation_correlation_um * px_per_um, mask=mask, rng=rng
        )
        t_loc = self.t_center + self.spread * field
        self.early = None
        if early_region:
            radius = contrast.early_region_radius_um * px_per_um
            room = mask & (footprint.distance_px <= max(footprint.radius_px - 1.5 * radius, 0))
            room = room if room.any() else mask
            where = int(np.argmin(np.where(room, field, np.inf)))
            row, col = divmod(where, shape[1])
            yy, xx = np.ogrid[0 : shape[0], 0 : shape[1]]
            distance = np.hypot(yy - row, xx - col).astype(np.float32)
            lead = contrast.early_region_lead_fraction * t_nuc
            t_loc = t_loc - lead * disc_profile(distance, radius)
            self.early = {
                "row": row,
                "col": col,
                "radius_px": radius,
                "lead_s": lead,
                "mask": (distance <= radius) & mask,
            }
        self.t_loc = t_loc.astype(np.float32)

        self.inverted = inversion_mask(
            footprint,
            fraction=inverted_fraction,
            blob_radius_px=contrast.inversion_blob_radius_um * px_per_um,
            rng=rng,
        )
        self.sei_texture = 1.0 + contrast.sei_texture_fraction * standard_field(
            shape, sigma_px=2.0 * px_per_um, mask=mask, rng=rng
        )

        # Particles: uniform over the footprint's pixels; each stands for 1/n cm² of electrode.
        self.density_per_cm2 = float(physics.particle_density_per_cm2(j))
        pixel_area_cm2 = (pixel_size_nm * 1e-7) ** 2
        inside = np.flatnonzero(mask)
        count = rng.poisson(self.density_per_cm2 * inside.size * pixel_area_cm2)
        self.particle_pixel = rng.choice(inside, size=count)
        volume = rng.lognormal(0.0, contrast.particle_volume_sd_log, size=count)
        volume /= volume.mean() if count else 1.0
        gain = np.where(self.inverted.ravel()[self.particle_pixel], -contrast.inversion_gain, 1.0)
        # Image value (µAh/cm² of Li in that pixel) per µAh/cm² of areal Li charge.
        self.particle_amp = (volume * gain / (self.density_per_cm2 * pixel_area_cm2)).astype(
            np.float32
        )
        scatter = contrast.particle_scatter_fraction * t_nuc
        self.particle_t = (
            self.t_loc.ravel()[self.particle_pixel] + scatter * rng.standard_normal(count)
        ).astype(np.float32)

    def li_charge(self, t_s: np.ndarray) -> np.ndarray:
        """Per-particle Li charge shape at times ``t_s`` (k,), µAh/cm², shape (k, particles)."""
        t = np.minimum(t_s, self.duration_s)
        z = (t[:, None] - self.particle_t[None, :]) / self.sigma_b
        li_share = self.faradaic_efficiency * self.rate_uAh_cm2_s * np.maximum(t, 0.0)
        return li_share[:, None] * ndtr(z)

    def sei_charge(self, t_s: float, t_loc: np.ndarray, psi0: np.ndarray, after: float):
        """SEI/alloy charge density (µAh/cm²) at ``t_s`` where local nucleation is ``t_loc``.

        ``psi0`` is ``Ψ(−t_loc/σ_b)``, the integral's value at landing (precomputed).
        """
        t = np.float32(min(max(t_s, 0.0), self.duration_s))
        z = (t - t_loc) / np.float32(self.sigma_b)
        scale = np.float32((1.0 - after) * self.sigma_b)
        return np.float32(self.rate_uAh_cm2_s) * (t - scale * (_psi(z) - psi0))


def _binned(times: np.ndarray, weights: np.ndarray, t0: float, dt: float, n: int):
    """Weights spread linearly onto the two nearest points of the grid ``t0 + dt·i``."""
    position = (times - t0) / dt
    left = np.clip(np.floor(position).astype(int), 0, n - 2)
    frac = np.clip(position - left, 0.0, 1.0)
    return np.bincount(left, weights * (1.0 - frac), minlength=n) + np.bincount(
        left + 1, weights * frac, minlength=n
    )


def _mean_rate_truth(scene: _Scene, illumination: np.ndarray, contrast: IrmContrast):
    """Time grid and d/dt of the noise-free, unblurred footprint-mean intensity (counts/s).

    Sums of ``φ_σ(t − t_i)`` and ``Φ((t − t_i)/σ)`` over particles and pixels are computed as
    a histogram of the ``t_i`` (linear binning on a grid ≥ 100 points per ``σ_b``) convolved
    with the Gaussian, and its running integral.
    """
    mask = scene.footprint.mask
    sigma = scene.sigma_b
    t_loc = scene.t_loc[mask].astype(np.float64)
    events = np.concatenate([scene.particle_t.astype(np.float64), t_loc])
    t0 = min(0.0, float(events.min())) - 8.0 * sigma
    t_end = float(events.max()) + 8.0 * sigma
    n = max(_TRUTH_GRID_POINTS, int(np.ceil((t_end - t0) / sigma * 100)))
    t, dt = np.linspace(t0, t_end, n, retstep=True)

    def smoothed(times, weights):
        """Σ w·φ_σ(t − t_i) (per s) and Σ w·Φ((t − t_i)/σ) on the grid."""
        density = (
            gaussian_filter1d(_binned(times, weights, t0, dt, n), sigma / dt, mode="constant") / dt
        )
        return density, np.cumsum(density) * dt

    b_p = illumination.ravel()[scene.particle_pixel].astype(np.float64) * scene.particle_amp
    burst, started = smoothed(scene.particle_t.astype(np.float64), b_p)
    li_rate = scene.faradaic_efficiency * scene.rate_uAh_cm2_s
    rate = contrast.alpha_li_per_uAh_cm2 * li_rate * (np.maximum(t, 0.0) * burst + started)
    weights = (illumination * scene.sei_texture)[mask].astype(np.float64)
    _, switched = smoothed(t_loc, weights)
    after = contrast.sei_after_nucleation_fraction
    rate += (
        contrast.alpha_sei_per_uAh_cm2
        * scene.rate_uAh_cm2_s
        * (weights.sum() - (1.0 - after) * switched)
    )
    keep = t > 0
    return t[keep], rate[keep] / mask.sum()


def _peak_time(t: np.ndarray, y: np.ndarray) -> float:
    """Time of the maximum of ``y`` with a parabola through the three highest grid points."""
    k = int(np.argmax(y))
    if 0 < k < y.size - 1:
        denom = y[k - 1] - 2 * y[k] + y[k + 1]
        if denom < 0:
            return float(t[k] + 0.5 * (y[k - 1] - y[k + 1]) / denom * (t[1] - t[0]))
    return float(t[k])


class _NucleatedImage:
    """Blurred ``S(t) = Σ_p amp_p·Φ((t − t_p)/σ_b)·δ(x − x_p)`` over the footprint's box.

    The Li image is ``FE·q(t)·S(t)``, and ``S`` changes only while particles nucleate: a
    frame whose Φ differ from the previous frame's by at most ``_PHI_TOLERANCE`` reuses the
    previous blurred image (exact to that tolerance); the others are binned and blurred
    together. Particles lie inside the footprint, so blurring the box with zeros around it is
    exact.
    """

    def __init__(self, scene: _Scene, box: tuple[slice, slice], cols: int, sigma_px: float):
        self.scene = scene
        self.sigma_px = sigma_px
        self.shape = (box[0].stop - box[0].start, box[1].stop - box[1].start)
        row, col = np.divmod(scene.particle_pixel, cols)
        self.local = (row - box[0].start) * self.shape[1] + (col - box[1].start)
        self.last_phi = np.zeros(scene.particle_t.size, dtype=np.float32)
        self.last_image = np.zeros(self.shape, dtype=np.float32)

    def images(self, tau_s: np.ndarray) -> np.ndarray:
        """Blurred S at times ``tau_s`` (k,) s from landing (in order), shape (k, *box)."""
        scene = self.scene
        t = np.minimum(tau_s, scene.duration_s)
        phi = ndtr((t[:, None] - scene.particle_t[None, :]) / scene.sigma_b).astype(np.float32)
        phi[tau_s < 0] = 0.0
        steps = np.abs(np.diff(np.vstack([self.last_phi[None, :], phi]), axis=0))
        changed = steps.max(axis=1, initial=0.0) > _PHI_TOLERANCE
        size = self.shape[0] * self.shape[1]
        n_changed = int(changed.sum())
        if n_changed:
            index = np.arange(n_changed)[:, None] * size + self.local[None, :]
            weights = (phi[changed] * scene.particle_amp[None, :]).ravel()
            binned = np.bincount(index.ravel(), weights, minlength=n_changed * size)
            blurred = iter(
                blur(binned.reshape(n_changed, *self.shape), self.sigma_px, mode="constant")
            )
        out = np.empty((t.size, *self.shape), dtype=np.float32)
        for i in range(t.size):  # a loop over frames: forward-fill unchanged ones
            if changed[i]:
                self.last_image = next(blurred)
                self.last_phi = phi[i]
            out[i] = self.last_image
        return out


def _render(
    scene: _Scene,
    *,
    times_s,
    landing_frame,
    last_frame,
    retract_after_run,
    illumination,
    optics: IrmOptics,
    contrast: IrmContrast,
    pixel_size_nm,
    bit_depth,
    chunk_frames,
    noise_rng: np.random.Generator,
) -> np.ndarray:
    """All frames, uint16 (T, rows, cols), made in chunks of ``chunk_frames`` in float32."""
    mask = scene.footprint.mask
    rows, cols = mask.shape
    sigma_px = optics.psf_sigma_px(pixel_size_nm)
    wet = blur(mask.astype(np.float32), sigma_px)
    near = np.flatnonzero(wet.ravel() > 1e-4)
    reach = int(np.ceil(4.0 * sigma_px)) + 1
    rows_in, cols_in = np.nonzero(mask)
    box = (
        slice(max(0, rows_in.min() - reach), min(rows, rows_in.max() + reach + 1)),
        slice(max(0, cols_in.min() - reach), min(cols, cols_in.max() + reach + 1)),
    )
    nucleated = _NucleatedImage(scene, box, cols, sigma_px)
    li_per_uAh_cm2 = np.float32(contrast.alpha_li_per_uAh_cm2 * scene.faradaic_efficiency)
    t_loc_near = scene.t_loc.ravel()[near]
    psi0 = _psi(-t_loc_near / np.float32(scene.sigma_b))
    sei_gain = contrast.alpha_sei_per_uAh_cm2 * (scene.sei_texture * wet).ravel()[near]
    flicker = flicker_factors(times_s.size, optics=optics, rng=noise_rng)
    since_landing = times_s - times_s[landing_frame]
    after = contrast.sei_after_nucleation_fraction

    frames = np.empty((times_s.size, rows, cols), dtype=np.uint16)
    for start in range(0, times_s.size, chunk_frames):
        ks = np.arange(start, min(start + chunk_frames, times_s.size))
        tau = since_landing[ks]
        charge = scene.rate_uAh_cm2_s * np.clip(tau, 0.0, scene.duration_s)
        r = np.zeros((ks.size, rows, cols), dtype=np.float32)
        r[(slice(None), *box)] = (li_per_uAh_cm2 * charge.astype(np.float32))[
            :, None, None
        ] * nucleated.images(tau)
        flat = r.reshape(ks.size, rows * cols)
        for i, k in enumerate(ks):
            if tau[i] < 0:
                continue
            flat[i, near] += (sei_gain * scene.sei_charge(tau[i], t_loc_near, psi0, after)).astype(
                np.float32
            )
            if k <= last_frame or not retract_after_run:
                r[i] += contrast.landing_contrast * wet
        signal = illumination[None] * (1.0 + r) * flicker[ks, None, None]
        frames[ks] = expose(signal, optics=optics, bit_depth=bit_depth, rng=noise_rng)
    return frames


def simulate_irm_movie(
    *,
    current_density_mA_cm2: float,
    duration_s: float,
    footprint_diameter_um: float = 10.0,
    pixel_size_nm: float = 40.0,
    shape: tuple[int, int] | None = None,
    frame_interval_s: float = 0.23,
    frame_jitter_s: float = 0.01,
    pre_landing_frames: int = 6,
    post_frames: int = 0,
    physics: PlatingPhysics = ARTICLE_PHYSICS,
    seed: int | None = None,
    bit_depth: int = 12,
    inverted_fraction: float = 0.0,
    footprint_offset_um: tuple[float, float] = (0.0, 0.0),
    early_region: bool = True,
    t_nuc_s: float | None = None,
    retract_after_run: bool = True,
    optics: IrmOptics = LAB_OPTICS,
    contrast: IrmContrast = IRM_CONTRAST,
    chunk_frames: int = 32,
) -> SimulatedMovie:
    """Simulate the raw IRM movie of one galvanostatic landing (see the module docstring).

    Parameters
    ----------
    current_density_mA_cm2 : float
        Plating current density, mA/cm² (magnitude).
    duration_s : float
        Length of the galvanostatic step, s from landing.
    footprint_diameter_um : float
        Diameter of the wetted disc, µm.
    pixel_size_nm : float
        Pixel size in the sample plane, nm.
    shape : (rows, cols), optional
        Frame size, pixels; default a square with 1.5 µm around the footprint.
    frame_interval_s, frame_jitter_s : float
        Nominal frame interval and the sd of its frame-to-frame variation, s.
    pre_landing_frames : int
        Frames before landing (at least 1); also the index of the landing frame.
    post_frames : int
        Frames after the end of the run.
    physics : PlatingPhysics
        Shared plating laws (t_nuc, particle density, faradaic efficiency, IRM lead/spread).
    seed : int, optional
        Makes the movie reproducible; the seed used is in ``truth["seed"]``.
    bit_depth : int
        Camera ADC bits; frames are clipped to ``[0, 2**bit_depth − 1]``.
    inverted_fraction : float
        Fraction of the footprint area with contrast inversion (dark spots), 0–1.
    footprint_offset_um : (x, y)
        Offset of the footprint centre from the frame centre, µm (x along columns, y rows).
    early_region : bool
        Add the early-nucleating cluster.
    t_nuc_s : float, optional
        Electrochemical nucleation time to use instead of ``physics.t_nuc_s(j)``, s (pass the
        E–t twin's truth to make a spot's curve and movie agree).
    retract_after_run : bool
        Lift the pipette after the run: the landing step disappears in the post frames.
    optics : IrmOptics
        Microscope and camera.
    contrast : IrmContrast
        Reflectance laws of contact, SEI and Li.
    chunk_frames : int
        Frames made at once (memory ≈ 12 bytes × pixels × chunk_frames).

    Returns
    -------
    SimulatedMovie
        ``frames`` (T, rows, cols) uint16, ``times_s`` (T,) s from the first frame,
        ``t_nuc_map_s`` (rows, cols) float32 s from landing (NaN outside), ``footprint_mask``,
        ``inverted_mask``, and ``truth`` (JSON-serialisable) with the keys:

        - inputs: ``kind`` ("irm_galvanostatic"), ``current_density_mA_cm2``, ``duration_s``,
          ``footprint_diameter_um``, ``pixel_size_nm``, ``shape`` [rows, cols],
          ``frame_interval_s``, ``frame_jitter_s``, ``pre_landing_frames``, ``post_frames``,
          ``bit_depth``, ``seed`` (the one used), ``footprint_offset_um``,
          ``inverted_fraction``;
        - timing: ``n_frames``, ``landing_frame``, ``landing_time_s`` (s from the first
          frame; t = 0 of the electrochemical record), ``last_measurement_frame``,
          ``retract_frame`` (first frame without meniscus, or None);
        - geometry/optics: ``footprint_center_px`` [x = column, y = row],
          ``footprint_radius_px``, ``psf_fwhm_nm``, ``inverted_fraction_actual``;
        - nucleation (s from landing): ``t_nuc_s``, ``nucleated``, ``t_nuc_irm_s`` (or None),
          ``t_nuc_irm_frame`` (nearest frame, or None), ``irm_nucleated``,
          ``t_nuc_center_s`` and ``t_nuc_spread_s`` (the map's configured mean and sd),
          ``t_nuc_map_mean_s``, ``t_nuc_map_sd_s``, ``particle_scatter_s``,
          ``burst_width_s``, ``earliest_region`` (None or ``{center_px: [x, y], radius_px,
          rows: [start, stop], cols: [start, stop], lead_s, mean_t_nuc_s}``);
        - intensity (counts, footprint mean): ``alpha`` (per µAh/cm² deposited as Li),
          ``alpha_unit``, ``alpha_counts_per_nm_li`` (per nm of equivalent Li thickness),
          ``alpha_sei_counts_per_uAh_cm2``, ``landing_step_counts``, ``background_counts``;
        - deposit: ``q_passed_uAh_cm2``, ``li_charge_uAh_cm2`` (at the end of the run),
          ``particle_density_per_cm2``, ``particle_count``, ``mean_particle_diameter_nm``
          (equivalent sphere of the mean Li volume per particle).

    Raises
    ------
    MeniscusError
        On a non-positive current density, duration, size or interval, or options out of range.
    """
    j = float(current_density_mA_cm2)
    for name, value, unit in (
        ("current_density_mA_cm2", j, "mA/cm²"),
        ("duration_s", duration_s, "s"),
    ):
        if not (np.isfinite(value) and value > 0):
            raise MeniscusError(f"{name} {value!r} {unit} must be above 0 {unit}")
    check_common(
        footprint_diameter_um=footprint_diameter_um,
        pixel_size_nm=pixel_size_nm,
        frame_interval_s=frame_interval_s,
        frame_jitter_s=frame_jitter_s,
        pre_landing_frames=pre_landing_frames,
        post_frames=post_frames,
        inverted_fraction=inverted_fraction,
    )
    t_nuc = float(physics.t_nuc_s(j)) if t_nuc_s is None else float(t_nuc_s)
    if not (np.isfinite(t_nuc) and t_nuc > 0):
        raise MeniscusError(f"t_nuc_s {t_nuc_s!r} s must be above 0 s")
    shape = default_shape(footprint_diameter_um, pixel_size_nm) if shape is None else shape
    shape = (int(shape[0]), int(shape[1]))
    used_seed, (scene_rng, time_rng, noise_rng) = seed_streams(seed, 3)

    footprint = footprint_geometry(
        shape,
        pixel_size_nm=pixel_size_nm,
        diameter_um=footprint_diameter_um,
        offset_um=footprint_offset_um,
    )
    illumination = illumination_counts(
        shape, pixel_size_nm=pixel_size_nm, optics=optics, rng=scene_rng
    )
    scene = _Scene(
        j=j,
        t_nuc=t_nuc,
        duration_s=float(duration_s),
        footprint=footprint,
        pixel_size_nm=pixel_size_nm,
        physics=physics,
        contrast=contrast,
        inverted_fraction=inverted_fraction,
        early_region=early_region,
        rng=scene_rng,
    )
    times_s, landing, last = frame_times(
        pre_landing_frames=pre_landing_frames,
        measurement_s=float(duration_s),
        post_frames=post_frames,
        frame_interval_s=frame_interval_s,
        frame_jitter_s=frame_jitter_s,
        rng=time_rng,
    )
    frames = _render(
        scene,
        times_s=times_s,
        landing_frame=landing,
        last_frame=last,
        retract_after_run=retract_after_run,
        illumination=illumination,
        optics=optics,
        contrast=contrast,
        pixel_size_nm=pixel_size_nm,
        bit_depth=bit_depth,
        chunk_frames=max(1, int(chunk_frames)),
        noise_rng=noise_rng,
    )

    truth = _truth(
        scene,
        illumination=illumination,
        contrast=contrast,
        optics=optics,
        times_s=times_s,
        landing=landing,
        last=last,
        j=j,
        t_nuc=t_nuc,
        duration_s=float(duration_s),
        pixel_size_nm=pixel_size_nm,
    )
    truth.update(
        {
            "footprint_diameter_um": float(footprint_diameter_um),
            "pixel_size_nm": float(pixel_size_nm),
            "shape": list(shape),
            "frame_interval_s": float(frame_interval_s),
            "frame_jitter_s": float(frame_jitter_s),
            "pre_landing_frames": int(pre_landing_frames),
            "post_frames": int(post_frames),
            "retract_frame": last + 1 if (retract_after_run and post_frames) else None,
            "bit_depth": int(bit_depth),
            "seed": used_seed,
            "footprint_offset_um": [float(v) for v in footprint_offset_um],
            "inverted_fraction": float(inverted_fraction),
        }
    )
    t_map = np.where(footprint.mask, scene.t_loc, np.nan).astype(np.float32)
    return SimulatedMovie(
        frames=frames,
        times_s=times_s,
        pixel_size_nm=float(pixel_size_nm),
        truth=truth,
        footprint_mask=footprint.mask,
        inverted_mask=scene.inverted,
        t_nuc_map_s=t_map,
    )


def _truth(
    scene: _Scene,
    *,
    illumination,
    contrast: IrmContrast,
    optics: IrmOptics,
    times_s,
    landing,
    last,
    j,
    t_nuc,
    duration_s,
    pixel_size_nm,
) -> dict:
    mask = scene.footprint.mask
    grid, rate = _mean_rate_truth(scene, illumination, contrast)
    t_irm = _peak_time(grid, rate)
    irm_nucleated = t_irm <= duration_s
    since_landing = times_s - times_s[landing]
    irm_frame = int(np.argmin(np.abs(since_landing - t_irm))) if irm_nucleated else None
    b_mean = float(illumination[mask].mean())
    q_passed = j * duration_s / UAH_PER_CM2_IN_MC_PER_CM2
    # Footprint-mean Li charge density: the particle image summed over the footprint's pixels.
    shapes = scene.li_charge(np.array([duration_s]))[0]
    li_final = float(shapes @ np.abs(scene.particle_amp)) / max(1, int(mask.sum()))
    # Volume per particle, nm³: equivalent thickness (nm) × area per particle (1e14 nm²/cm² / n).
    volume_nm3 = li_final * NM_LI_PER_UAH_CM2 * 1e14 / scene.density_per_cm2
    t_map = scene.t_loc[mask]
    early = None
    if scene.early is not None:
        e = scene.early
        r = e["radius_px"]
        early = {
            "center_px": [float(e["col"]), float(e["row"])],
            "radius_px": float(r),
            "rows": [max(0, int(np.floor(e["row"] - r))), int(np.ceil(e["row"] + r)) + 1],
            "cols": [max(0, int(np.floor(e["col"] - r))), int(np.ceil(e["col"] + r)) + 1],
            "lead_s": float(e["lead_s"]),
            "mean_t_nuc_s": float(scene.t_loc[e["mask"]].mean()),
        }
    return {
        "kind": "irm_galvanostatic",
        "current_density_mA_cm2": j,
        "duration_s": duration_s,
        "n_frames": int(times_s.size),
        "landing_frame": int(landing),
        "landing_time_s": float(times_s[landing]),
        "last_measurement_frame": int(last),
        "footprint_center_px": [scene.footprint.center_xy_px[0], scene.footprint.center_xy_px[1]],
        "footprint_radius_px": scene.footprint.radius_px,
        "psf_fwhm_nm": optics.psf_fwhm_nm(),
        "t_nuc_s": t_nuc,
        "nucleated": bool(t_nuc <= duration_s),
        "t_nuc_irm_s": t_irm if irm_nucleated else None,
        "t_nuc_irm_frame": irm_frame,
        "irm_nucleated": bool(irm_nucleated),
        "t_nuc_center_s": scene.t_center,
        "t_nuc_spread_s": scene.spread,
        "t_nuc_map_mean_s": float(t_map.mean()),
        "t_nuc_map_sd_s": float(t_map.std()),
        "particle_scatter_s": contrast.particle_scatter_fraction * t_nuc,
        "burst_width_s": scene.sigma_b,
        "earliest_region": early,
        "alpha": contrast.alpha_li_per_uAh_cm2 * b_mean,
        "alpha_unit": "counts per µAh/cm² deposited as Li metal (footprint mean)",
        "alpha_counts_per_nm_li": contrast.alpha_li_per_uAh_cm2 * b_mean / NM_LI_PER_UAH_CM2,
        "alpha_sei_counts_per_uAh_cm2": contrast.alpha_sei_per_uAh_cm2 * b_mean,
        "landing_step_counts": contrast.landing_contrast * b_mean,
        "background_counts": b_mean,
        "q_passed_uAh_cm2": q_passed,
        "li_charge_uAh_cm2": li_final,
        "particle_density_per_cm2": scene.density_per_cm2,
        "particle_count": int(scene.particle_amp.size),
        "mean_particle_diameter_nm": float((6.0 * volume_nm3 / np.pi) ** (1 / 3)),
        "inverted_fraction_actual": float(scene.inverted[mask].mean()),
    }
