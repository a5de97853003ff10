"""Digital twin of the in-situ IRM movie of a CV plating/stripping series, with its ground truth.

Per pixel ``x`` and cycle ``k`` (charge densities in µAh/cm², reflectance relative):

- the cathodic charge ``Qc_k`` plates with a local weight ``p(x)`` (mean 1 over the footprint,
  larger where the "inactive-Li-prone" field ``H(x)`` is high), raising the reflectance by
  ``I_c(x) = α·p(x)·Qc_k`` over the cathodic part of the cycle, following the cumulative
  cathodic charge;
- the anodic charge lowers it by ``I_a(x) = (m·ce_k(x) + b)·I_c(x)`` following the cumulative
  anodic charge, with the local Coulombic efficiency ``ce_k(x) = CE_k·exp(−h_k·H(x))/Z_k``:
  lower where inactive Li accumulates, with a spread ``h_k = h_1·exp(−(k − 1)/τ)`` that fades
  over the cycles (the article's maps grow homogeneous by cycles 8–10). ``Z_k`` makes the
  illumination- and plating-weighted mean of ``ce_k`` equal the electrochemical ``CE_k``
  exactly, so the footprint-mean ``I_a/I_c`` is ``m·CE_k + b`` and every pixel obeys the same
  linear law ``I_a/I_c = m·ce + b`` (``m = cv_strip_slope``, ``b = cv_strip_offset``: the part
  of the plating signal that stripping removes besides the Li, e.g. dealloying);
- what is not stripped, ``I_c·(1 − m·ce − b)``, stays: the intensity never returns to its
  pre-plating value and the residue grows, most where ``H`` is high in the early cycles.

Cycles and charges come from the CV trace (``cv``), split and integrated with the project's
CV definitions (:func:`core.analysis.cv.split_cycles`, :func:`core.analysis.cv.
signed_charges_C`, cathodic current negative), so the movie's electrochemical CE is the one the
CV analysis reports. Without a trace, give per-cycle ``cycle_times_s`` (start, vertex, end),
``q_c_C`` and ``q_a_C``; plating then follows a smooth ramp centred on the vertex and stripping
one over the middle of the anodic sweep. The trace's time 0 is the landing frame. Samples
outside complete cycles add no deposit.

Landing, optics, camera and contrast inversion (the Li contrast of ``inverted_mask`` pixels is
``−inversion_gain``·α, so they darken on plating and brighten on stripping; their I_a/I_c is
unchanged) are as in :mod:`core.simulate.movie`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.analysis.cv import signed_charges_C, split_cycles
from core.errors import MeniscusError
from core.simulate.irm_scene import (
    IRM_CONTRAST,
    IrmContrast,
    SimulatedMovie,
    check_common,
    default_shape,
    footprint_geometry,
    frame_times,
    inversion_mask,
    seed_streams,
    standard_field,
)
from core.simulate.optics import (
    LAB_OPTICS,
    IrmOptics,
    blur,
    expose,
    flicker_factors,
    illumination_counts,
)
from core.simulate.records import SimulatedTrace
from core.units import disc_area_cm2

#: Coulombs in 1 µAh.
C_PER_UAH = 3.6e-3
#: Points of the synthesised cumulative-charge ramps (per-cycle arguments, no trace).
_RAMP_POINTS = 257


class _Cycle:
    """Cumulative cathodic and anodic charge of one cycle on its own time grid (s from landing)."""

    def __init__(self, time_s, cathodic_C, anodic_C, vertex_s):
        self.time_s = np.asarray(time_s, dtype=float)
        self.cathodic_C = np.asarray(cathodic_C, dtype=float) - cathodic_C[0]
        self.anodic_C = np.asarray(anodic_C, dtype=float) - anodic_C[0]
        self.vertex_s = float(vertex_s)
        self.q_c_C = float(self.cathodic_C[-1])
        self.q_a_C = float(self.anodic_C[-1])

    @property
    def start_s(self) -> float:
        return float(self.time_s[0])

    @property
    def end_s(self) -> float:
        return float(self.time_s[-1])

    def plated_fraction(self, t_s):
        return np.interp(t_s, self.time_s, self.cathodic_C) / max(self.q_c_C, 1e-300)

    def stripped_fraction(self, t_s):
        return np.interp(t_s, self.time_s, self.anodic_C) / max(self.q_a_C, 1e-300)


def _cycles_from_trace(cv: SimulatedTrace) -> tuple[list[_Cycle], float]:
    trace = cv.trace
    time = np.asarray(trace.time_s, dtype=float) - float(trace.time_s[0])
    potential = np.asarray(trace.potential_V, dtype=float)
    positive, negative = signed_charges_C(time, np.asarray(trace.current_A, dtype=float))
    cycles = []
    for start, stop in split_cycles(time, potential):
        part = slice(start, stop)
        vertex = time[start + int(np.argmin(potential[part]))]
        cycles.append(_Cycle(time[part], negative[part], positive[part], vertex))
    return cycles, float(time[-1])


def _ramp(t, start, stop):
    """Smooth 0 → 1 (raised cosine) between ``start`` and ``stop``."""
    x = np.clip((t - start) / max(stop - start, 1e-12), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _cycles_from_arguments(cycle_times_s, q_c_C, q_a_C) -> tuple[list[_Cycle], float]:
    if cycle_times_s is None or q_c_C is None or q_a_C is None:
        raise MeniscusError(
            "simulate_irm_cv_movie needs either cv (a SimulatedTrace) or all of cycle_times_s, "
            "q_c_C and q_a_C"
        )
    if not (len(cycle_times_s) == len(q_c_C) == len(q_a_C)) or len(cycle_times_s) == 0:
        raise MeniscusError(
            f"cycle_times_s, q_c_C and q_a_C must have one entry per cycle; got "
            f"{len(cycle_times_s)}, {len(q_c_C)} and {len(q_a_C)}"
        )
    cycles = []
    for k, ((start, vertex, end), qc, qa) in enumerate(
        zip(cycle_times_s, q_c_C, q_a_C, strict=True), start=1
    ):
        if not (0 <= start < vertex < end):
            raise MeniscusError(
                f"cycle {k}: times (start, vertex, end) = ({start}, {vertex}, {end}) s must "
                "increase and start at or after 0 s (the landing)"
            )
        if not (qc > 0 and qa >= 0):
            raise MeniscusError(f"cycle {k}: q_c_C {qc} C must be > 0 C and q_a_C {qa} C ≥ 0 C")
        t = np.linspace(start, end, _RAMP_POINTS)
        down, up = vertex - start, end - vertex
        plated = qc * _ramp(t, vertex - 0.15 * down, vertex + 0.15 * up)
        stripped = qa * _ramp(t, vertex + 0.25 * up, vertex + 0.7 * up)
        cycles.append(_Cycle(t, plated, stripped, vertex))
    return cycles, float(cycle_times_s[-1][2])


def _diameter_from_truth(truth: dict) -> float:
    """The CV's footprint diameter (µm) from its truth, or the lab's 10 µm if it has none."""
    parameters = truth.get("parameters") or {}
    for source in (parameters, truth):
        if "footprint_diameter_um" in source:
            return float(source["footprint_diameter_um"])
    if "footprint_area_cm2" in truth:
        return float(2e4 * np.sqrt(truth["footprint_area_cm2"] / np.pi))
    return 10.0


def simulate_irm_cv_movie(
    *,
    cv: SimulatedTrace | None = None,
    cycle_times_s: Sequence[tuple[float, float, float]] | None = None,
    q_c_C: Sequence[float] | None = None,
    q_a_C: Sequence[float] | None = None,
    footprint_diameter_um: float | None = None,
    pixel_size_nm: float = 40.0,
    shape: tuple[int, int] | None = None,
    frame_interval_s: float = 0.23,
    frame_jitter_s: float = 0.01,
    pre_landing_frames: int = 6,
    post_frames: int = 0,
    seed: int | None = None,
    bit_depth: int = 12,
    inverted_fraction: float = 0.0,
    footprint_offset_um: tuple[float, float] = (0.0, 0.0),
    retract_after_run: bool = True,
    optics: IrmOptics = LAB_OPTICS,
    contrast: IrmContrast = IRM_CONTRAST,
    chunk_frames: int = 32,
) -> SimulatedMovie:
    """Simulate the raw IRM movie of a CV plating/stripping series (see the module docstring).

    Parameters
    ----------
    cv : SimulatedTrace, optional
        The CV (time s from landing, potential V vs Li/Li+, current A, cathodic negative).
    cycle_times_s : sequence of (start, vertex, end), optional
        Per cycle, s from landing; used with ``q_c_C`` and ``q_a_C`` when ``cv`` is None.
    q_c_C, q_a_C : sequence of float, optional
        Cathodic and anodic charge per cycle, C (positive magnitudes).
    footprint_diameter_um : float, optional
        Wetted disc diameter, µm: default from the CV's truth (``parameters`` or top-level
        ``footprint_diameter_um``, else ``footprint_area_cm2``), else 10 µm. Sets the charge
        densities.
    pixel_size_nm, shape, frame_interval_s, frame_jitter_s, pre_landing_frames, post_frames,
    seed, bit_depth, inverted_fraction, footprint_offset_um, retract_after_run, optics,
    contrast, chunk_frames
        As in :func:`core.simulate.movie.simulate_irm_movie`. There is no ``physics``: the
        CV's own charges set the deposit.

    Returns
    -------
    SimulatedMovie
        ``frames``, ``times_s``, ``footprint_mask``, ``inverted_mask``, ``ia_ic_maps``
        (cycles, rows, cols) and ``dead_li_map`` (µAh/cm²), and ``truth`` with the keys
        ``kind`` ("irm_cv"), ``n_cycles``, ``record_s``; per cycle (lists): ``cycle_times_s``
        ([start, vertex, end], s from landing), ``plating_end_s``, ``cycle_frames`` ([start,
        plating_end, end] frame indices), ``q_c_C``, ``q_a_C``, ``q_c_uAh_cm2``,
        ``ce_electrochemical``, ``ia_ic_mean`` (footprint mean I_a/I_c), ``i_c_mean_counts``,
        ``i_a_mean_counts``, ``residual_mean_counts`` (running total), ``ce_heterogeneity``;
        the law ``ia_ic_slope``, ``ia_ic_intercept``; ``dead_li_mean_uAh_cm2``; ``alpha``
        (counts per µAh/cm² plated), ``alpha_unit``, ``landing_step_counts``,
        ``background_counts``; plus the geometry, timing and camera keys of the galvanostatic
        movie (``landing_frame``, ``landing_time_s``, ``last_measurement_frame``,
        ``footprint_center_px``, ``footprint_radius_px``, ``seed``, ...).

    Raises
    ------
    MeniscusError
        When neither a trace nor complete per-cycle arguments are given, the trace has no
        complete cycle, or an option is out of range.
    """
    if footprint_diameter_um is None:
        footprint_diameter_um = _diameter_from_truth(cv.truth if cv is not None else {})
    check_common(
        footprint_diameter_um=footprint_diameter_um,
        pixel_size_nm=pixel_size_nm,
        frame_interval_s=frame_interval_s,
        frame_jitter_s=frame_jitter_s,
        pre_landing_frames=pre_landing_frames,
        post_frames=post_frames,
        inverted_fraction=inverted_fraction,
    )
    if cv is not None:
        cycles, record_s = _cycles_from_trace(cv)
        if not cycles:
            raise MeniscusError("the CV trace holds no complete plating/stripping cycle")
    else:
        cycles, record_s = _cycles_from_arguments(cycle_times_s, q_c_C, q_a_C)

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
    maps = _CvMaps(
        cycles,
        footprint_diameter_um=footprint_diameter_um,
        mask=footprint.mask,
        illumination=illumination,
        pixel_size_nm=pixel_size_nm,
        optics=optics,
        contrast=contrast,
        inverted=inversion_mask(
            footprint,
            fraction=inverted_fraction,
            blob_radius_px=contrast.inversion_blob_radius_um * 1e3 / pixel_size_nm,
            rng=scene_rng,
        ),
        rng=scene_rng,
    )
    times_s, landing, last = frame_times(
        pre_landing_frames=pre_landing_frames,
        measurement_s=record_s,
        post_frames=post_frames,
        frame_interval_s=frame_interval_s,
        frame_jitter_s=frame_jitter_s,
        rng=time_rng,
    )

    since_landing = times_s - times_s[landing]
    flicker = flicker_factors(times_s.size, optics=optics, rng=noise_rng)
    frames = np.empty((times_s.size, *shape), dtype=np.uint16)
    chunk = max(1, int(chunk_frames))
    for start in range(0, times_s.size, chunk):
        ks = range(start, min(start + chunk, times_s.size))
        r = np.stack(
            [
                maps.reflectance(
                    since_landing[k],
                    wet=(0 <= since_landing[k] and (k <= last or not retract_after_run)),
                )
                for k in ks
            ]
        )
        signal = illumination[None] * (1.0 + r) * flicker[list(ks), None, None]
        frames[start : start + len(ks)] = expose(
            signal, optics=optics, bit_depth=bit_depth, rng=noise_rng
        )

    truth = maps.truth(since_landing)
    b_mean = float(illumination[footprint.mask].mean())
    truth.update(
        {
            "kind": "irm_cv",
            "record_s": record_s,
            "footprint_diameter_um": float(footprint_diameter_um),
            "pixel_size_nm": float(pixel_size_nm),
            "shape": list(shape),
            "n_frames": int(times_s.size),
            "frame_interval_s": float(frame_interval_s),
            "frame_jitter_s": float(frame_jitter_s),
            "pre_landing_frames": int(pre_landing_frames),
            "post_frames": int(post_frames),
            "landing_frame": int(landing),
            "landing_time_s": float(times_s[landing]),
            "last_measurement_frame": int(last),
            "retract_frame": last + 1 if (retract_after_run and post_frames) else None,
            "bit_depth": int(bit_depth),
            "seed": used_seed,
            "footprint_center_px": list(footprint.center_xy_px),
            "footprint_radius_px": footprint.radius_px,
            "footprint_offset_um": [float(v) for v in footprint_offset_um],
            "psf_fwhm_nm": optics.psf_fwhm_nm(),
            "alpha": contrast.alpha_li_per_uAh_cm2 * b_mean,
            "alpha_unit": "counts per µAh/cm² of cathodic charge (footprint mean)",
            "landing_step_counts": contrast.landing_contrast * b_mean,
            "background_counts": b_mean,
            "inverted_fraction": float(inverted_fraction),
            "inverted_fraction_actual": float(maps.inverted[footprint.mask].mean()),
        }
    )
    outside = ~footprint.mask
    ia_ic = maps.ia_ic.copy()
    ia_ic[:, outside] = np.nan
    dead = np.where(footprint.mask, maps.dead_li, np.nan).astype(np.float32)
    return SimulatedMovie(
        frames=frames,
        times_s=times_s,
        pixel_size_nm=float(pixel_size_nm),
        truth=truth,
        footprint_mask=footprint.mask,
        inverted_mask=maps.inverted,
        ia_ic_maps=ia_ic,
        dead_li_map=dead,
    )


class _CvMaps:
    """Per-pixel plating weight, local CE, I_a/I_c and residue of every cycle, plus blurs."""

    def __init__(
        self,
        cycles: list[_Cycle],
        *,
        footprint_diameter_um,
        mask,
        illumination,
        pixel_size_nm,
        optics: IrmOptics,
        contrast: IrmContrast,
        inverted,
        rng,
    ):
        self.cycles = cycles
        self.mask = mask
        self.inverted = inverted
        px_per_um = 1e3 / pixel_size_nm
        sigma_px = optics.psf_sigma_px(pixel_size_nm)
        area = disc_area_cm2(footprint_diameter_um)
        q_c = np.array([c.q_c_C for c in cycles]) / (C_PER_UAH * area)  # µAh/cm²
        q_a = np.array([c.q_a_C for c in cycles]) / (C_PER_UAH * area)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ce = np.where(q_c > 0, q_a / np.where(q_c > 0, q_c, 1.0), 0.0)

        prone = standard_field(
            mask.shape, sigma_px=contrast.cv_correlation_um * px_per_um, mask=mask, rng=rng
        )
        grain = standard_field(mask.shape, sigma_px=sigma_px, mask=mask, rng=rng)
        plating = np.exp(contrast.cv_plating_enhancement * prone + 0.25 * grain)
        plating /= plating[mask].mean()
        weight = (illumination * plating)[mask].astype(np.float64)
        gain = np.where(inverted, -contrast.inversion_gain, 1.0).astype(np.float32)
        alpha = contrast.alpha_li_per_uAh_cm2

        k = np.arange(len(cycles))
        self.heterogeneity = contrast.cv_heterogeneity_first_cycle * np.exp(
            -k / contrast.cv_heterogeneity_decay_cycles
        )
        n = len(cycles)
        self.ia_ic = np.empty((n, *mask.shape), dtype=np.float32)
        self.dead_li = np.zeros(mask.shape, dtype=np.float64)
        wet_mask = mask.astype(np.float32)
        self.wet = blur(wet_mask, sigma_px) * np.float32(contrast.landing_contrast)
        deposit = wet_mask * gain * plating * alpha  # reflectance per µAh/cm² plated
        self.plate_map = blur(deposit, sigma_px)
        self.strip_maps = np.empty((n, *mask.shape), dtype=np.float32)
        self.residue_maps = np.empty((n, *mask.shape), dtype=np.float32)
        residue = np.zeros(mask.shape, dtype=np.float32)
        b_gain = (illumination * gain * plating)[mask].astype(np.float64) * alpha
        self.i_c_mean = b_gain.sum() / mask.sum() * q_c
        self.i_a_mean = np.empty(n)
        for c in range(n):  # a loop over cycles, never over pixels
            local = np.exp(-self.heterogeneity[c] * prone)
            local = self.ce[c] * local / (np.dot(weight, local[mask]) / weight.sum())
            ratio = contrast.cv_strip_slope * local + contrast.cv_strip_offset
            self.ia_ic[c] = ratio
            self.strip_maps[c] = blur(deposit * ratio * q_c[c], sigma_px)
            residue = residue + deposit * (1.0 - ratio) * q_c[c]
            self.residue_maps[c] = blur(residue, sigma_px)
            self.dead_li += (1.0 - local) * plating * q_c[c]
            self.i_a_mean[c] = np.dot(b_gain, ratio[mask]) / mask.sum() * q_c[c]
        self.q_c = q_c
        self.starts = np.array([c.start_s for c in cycles])
        self.slope = contrast.cv_strip_slope
        self.offset = contrast.cv_strip_offset

    def reflectance(self, t_s: float, *, wet: bool) -> np.ndarray:
        """Blurred reflectance change (rows, cols) at ``t_s`` s from landing."""
        r = self.wet.copy() if wet else np.zeros_like(self.wet)
        if t_s < self.starts[0]:
            return r
        c = int(np.searchsorted(self.starts, t_s, side="right") - 1)
        cycle = self.cycles[c]
        if t_s >= cycle.end_s:  # after the cycle, before the next one (or after the last)
            return r + self.residue_maps[c]
        if c > 0:
            r += self.residue_maps[c - 1]
        r += np.float32(self.q_c[c] * cycle.plated_fraction(t_s)) * self.plate_map
        r -= np.float32(cycle.stripped_fraction(t_s)) * self.strip_maps[c]
        return r

    def truth(self, since_landing: np.ndarray) -> dict:
        plating_end = []
        frames = []
        for c, cycle in enumerate(self.cycles):
            t = cycle.time_s
            # footprint-mean deposit signal over the cycle, in units of I_c: it tops out when
            # the cathodic charge is complete and the anodic has not yet begun to remove it
            strip_share = self.i_a_mean[c] / max(self.i_c_mean[c], 1e-300)
            level = cycle.plated_fraction(t) - strip_share * cycle.stripped_fraction(t)
            top = float(t[int(np.argmax(level))])
            plating_end.append(top)
            frames.append(
                [
                    int(np.argmin(np.abs(since_landing - v)))
                    for v in (cycle.start_s, top, cycle.end_s)
                ]
            )
        residual = np.cumsum(self.i_c_mean - self.i_a_mean)
        ratio_mean = np.divide(
            self.i_a_mean,
            self.i_c_mean,
            out=np.full_like(self.i_a_mean, np.nan),
            where=self.i_c_mean != 0,
        )
        return {
            "n_cycles": len(self.cycles),
            "cycle_times_s": [[c.start_s, c.vertex_s, c.end_s] for c in self.cycles],
            "plating_end_s": plating_end,
            "cycle_frames": frames,
            "q_c_C": [c.q_c_C for c in self.cycles],
            "q_a_C": [c.q_a_C for c in self.cycles],
            "q_c_uAh_cm2": self.q_c.tolist(),
            "ce_electrochemical": self.ce.tolist(),
            "ia_ic_mean": ratio_mean.tolist(),
            "ia_ic_slope": self.slope,
            "ia_ic_intercept": self.offset,
            "i_c_mean_counts": self.i_c_mean.tolist(),
            "i_a_mean_counts": self.i_a_mean.tolist(),
            "residual_mean_counts": residual.tolist(),
            "ce_heterogeneity": self.heterogeneity.tolist(),
            "dead_li_mean_uAh_cm2": float(self.dead_li[self.mask].mean()),
        }
