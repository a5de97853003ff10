"""IRM movie pipeline: landing detection, footprint, processed stack, intensity–charge fit.

The steps follow the article's Methods (Martín-Yerga et al., ACS Nano 2024): the first frame
showing the droplet's contact step is t = 0 of the electrochemical record; the movie is cropped
to the footprint, the landing frame is subtracted pixel by pixel, groups of frames are averaged
(ImageJ "Grouped Z project", average), each frame is Gaussian filtered (sigma 1 µm) and the
footprint, found by thresholding, gives the mean intensity versus time. That intensity is
proportional to the deposited volume for thin deposits, I = α·V_M·Q/(n·F).

Movies can be large (512 × 512 × 600 uint16 is 315 MB), so every pass reads the frames in
chunks along time and works in float32; nothing converts the whole movie to float64.
Array axes are (time, row, column); positions given as (x, y) are (column, row).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from core.errors import AnalysisError
from core.units import FARADAY_C_PER_MOL, LI_MOLAR_VOLUME_M3_PER_MOL

#: frames read per chunk: 64 frames of 512 × 512 float32 are 64 MB of working memory
DEFAULT_CHUNK_FRAMES = 64

_M3_TO_UM3 = 1e18


# --- chunked access ------------------------------------------------------------------------
def iter_frame_chunks(frames, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """Yield a movie as (T_chunk, R, C) arrays in its native dtype.

    Parameters
    ----------
    frames : (T, R, C) array-like or iterable of (T_chunk, R, C) / (R, C) arrays
        Anything sliceable along its first axis with a ``shape`` (ndarray, memmap, h5py
        dataset) is read ``chunk_frames`` frames at a time; any other iterable is taken as a
        stream of chunks (2-D items count as one frame each).
    chunk_frames : int
        Frames per chunk for sliceable inputs.
    """
    if hasattr(frames, "shape") and hasattr(frames, "__getitem__"):
        if len(frames.shape) != 3:
            raise AnalysisError(f"movie must be (T, R, C); got shape {tuple(frames.shape)}")
        for start in range(0, frames.shape[0], chunk_frames):
            yield np.asarray(frames[start : start + chunk_frames])
        return
    if not isinstance(frames, Iterable):
        raise AnalysisError(f"movie must be an array or an iterable of chunks, got {type(frames)}")
    for chunk in frames:
        chunk = np.asarray(chunk)
        if chunk.ndim == 2:
            chunk = chunk[np.newaxis]
        if chunk.ndim != 3:
            raise AnalysisError(f"movie chunk must be (T, R, C) or (R, C); got {chunk.shape}")
        yield chunk


def _block_means(chunk: np.ndarray, block_px: int) -> np.ndarray:
    """(T, R, C) → (T, R // b, C // b) float32 block means (ragged edge rows/columns dropped)."""
    t, r, c = chunk.shape
    nr, nc = r // block_px, c // block_px
    trimmed = chunk[:, : nr * block_px, : nc * block_px]
    shaped = trimmed.reshape(t, nr, block_px, nc, block_px)
    return shaped.mean(axis=(2, 4), dtype=np.float32)


def frame_triple_weights(times_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights for the noise residuals of non-overlapping frame triples.

    For frames (0, 1, 2), (3, 4, 5), ... the residual ``(x1 − a·x0 − b·x2) / norm`` is the
    middle sample's distance from the straight line through its neighbours at the real frame
    times, so any local slope cancels whatever the spacing, and white noise of sd σ gives
    residuals of sd σ.

    Parameters
    ----------
    times_s : (T,) array_like
        Frame times, s, strictly increasing.

    Returns
    -------
    a, b, norm : (T // 3,) ndarray
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    n_triples = times_s.size // 3
    t = times_s[: 3 * n_triples].reshape(n_triples, 3)
    span = t[:, 2] - t[:, 0]
    a = (t[:, 2] - t[:, 1]) / span
    b = (t[:, 1] - t[:, 0]) / span
    return a, b, np.sqrt(1.0 + a * a + b * b)


# --- landing -------------------------------------------------------------------------------
def detect_landing(
    frames,
    *,
    block_px: int = 8,
    threshold_sigma: float = 6.0,
    persist_frames: int = 3,
    mask: np.ndarray | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
) -> int:
    """Index of the first frame that shows the droplet's contact step.

    Each frame is reduced to block means (``block_px`` × ``block_px``) in one chunked pass. For
    every pair of consecutive frames the local relative change ``log B_t − log B_{t−1}`` is
    taken per block and its spatial median removed, so a global brightness change (LED drift or
    flicker, camera gain) does not count; the frame's change score is the RMS of what is left.
    A landing is the first frame whose score stands out from the movie's typical score
    (median + ``threshold_sigma`` robust standard deviations, from the median absolute
    deviation) *and* whose change persists: the mean of the next ``persist_frames`` frames
    still differs from the mean of the previous ones by at least half the jump. Single-frame
    glitches (a flicker, a cosmic ray) fail the persistence test; a contact that happens
    during an exposure and shows as a partial step is reported at that partial frame.

    Parameters
    ----------
    frames : (T, R, C) array-like or iterable of chunks
        Raw movie in any numeric dtype (uint16 from the camera); see :func:`iter_frame_chunks`.
    block_px : int
        Side of the square blocks averaged before comparing frames (noise reduction).
    threshold_sigma : float
        How many robust standard deviations of the change score make a candidate.
    persist_frames : int
        Frames after the candidate (and before it) averaged for the persistence test.
    mask : (R, C) bool ndarray, optional
        Region in which to look for the step (blocks at least half inside it are scored).
    chunk_frames : int
        Frames read at a time.

    Returns
    -------
    int
        Index (0-based) of the landing frame, always >= 1.

    Raises
    ------
    AnalysisError
        Fewer than 3 frames, a mask that selects no block, or no persistent step found.
    """
    if block_px < 1 or persist_frames < 1:
        raise AnalysisError(
            f"block_px ({block_px}) and persist_frames ({persist_frames}) must be >= 1"
        )
    block_stack = []
    for chunk in iter_frame_chunks(frames, chunk_frames=chunk_frames):
        side = min(block_px, chunk.shape[1], chunk.shape[2])
        block_stack.append(_block_means(chunk, side))
    if not block_stack:
        raise AnalysisError("movie has no frames; landing detection needs at least 3")
    blocks = np.concatenate(block_stack)
    n_frames = blocks.shape[0]
    if n_frames < 3:
        raise AnalysisError(f"movie has {n_frames} frames; landing detection needs at least 3")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        side = min(block_px, mask.shape[0], mask.shape[1])
        block_mask = _block_means(mask[np.newaxis].astype(np.float32), side)[0] >= 0.5
        if block_mask.shape != blocks.shape[1:] or not block_mask.any():
            raise AnalysisError(
                f"landing mask of shape {mask.shape} selects no {side}-px block of the movie"
            )
        blocks = blocks[:, block_mask]
    log_blocks = np.log(np.maximum(blocks.reshape(n_frames, -1), 1e-3))

    change = _local_rms(np.diff(log_blocks, axis=0))  # change[k] is frame k+1 vs frame k
    typical = float(np.median(change))
    spread = 1.4826 * float(np.median(np.abs(change - typical)))
    threshold = typical + threshold_sigma * max(spread, 1e-6 * max(typical, 1e-12))

    for k in np.flatnonzero(change > threshold):
        frame = int(k) + 1
        before = log_blocks[max(0, frame - persist_frames) : frame]
        after = log_blocks[frame + 1 : frame + 1 + persist_frames]
        if len(after) == 0:
            continue
        persistent = float(_local_rms((after.mean(axis=0) - before.mean(axis=0))[np.newaxis])[0])
        # noise expected in each score, from the typical frame-to-frame change (two frames)
        noise_sq_persist = typical**2 * (1.0 / len(after) + 1.0 / len(before)) / 2.0
        jump_signal = np.sqrt(max(change[k] ** 2 - typical**2, 0.0))
        persist_signal = np.sqrt(max(persistent**2 - noise_sq_persist, 0.0))
        if persist_signal >= 0.5 * jump_signal:
            return frame
    raise AnalysisError(
        f"no landing step found in {n_frames} frames: largest frame-to-frame change "
        f"{float(change.max()):.3g} (log intensity RMS) against a threshold of {threshold:.3g} "
        f"that persists over {persist_frames} frames"
    )


def _local_rms(log_changes: np.ndarray) -> np.ndarray:
    """RMS over blocks of (N, B) log changes after removing each row's median (global part)."""
    local = log_changes - np.median(log_changes, axis=1, keepdims=True)
    return np.sqrt(np.mean(local * local, axis=1, dtype=np.float64))


# --- footprint -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Footprint:
    """The wetted area of one landing, in image pixels.

    Attributes
    ----------
    center_px : tuple of float
        Centroid ``(x, y)`` = (column, row) of the footprint, pixels.
    radius_px : float
        Radius of the disc with the footprint's area, pixels.
    mask : (R, C) bool ndarray
        The thresholded footprint (largest/best connected component, holes filled).
    """

    center_px: tuple[float, float]
    radius_px: float
    mask: np.ndarray

    @property
    def area_px(self) -> int:
        """Number of pixels in :attr:`mask`."""
        return int(self.mask.sum())

    def diameter_um(self, pixel_size_nm: float) -> float:
        """Equivalent-disc diameter in µm."""
        return 2.0 * self.radius_px * pixel_size_nm * 1e-3

    def disc_mask(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """(R, C) bool disc of :attr:`radius_px` around :attr:`center_px`."""
        rows, cols = shape if shape is not None else self.mask.shape
        rr, cc = np.ogrid[:rows, :cols]
        x, y = self.center_px
        return (cc - x) ** 2 + (rr - y) ** 2 <= self.radius_px**2


def find_footprint(
    image_diff: np.ndarray,
    *,
    pixel_size_nm: float,
    expected_diameter_um: float | None = None,
    smoothing_um: float = 0.25,
    diameter_tolerance: float = 0.5,
) -> Footprint:
    """Footprint of the droplet from a difference image (landing step or deposit).

    The image is Gaussian smoothed, its magnitude thresholded with Otsu's method, moved to the
    midpoint of the two classes' means (the half-height contour of the blurred edge; the contact
    step and the deposit may be brighter or darker than the background, and thick deposits
    invert contrast inside the footprint), holes are filled and one connected component is
    kept: the largest, or the one closest in size to ``expected_diameter_um`` when given.

    Parameters
    ----------
    image_diff : (R, C) ndarray
        E.g. landing frame minus the mean of the frames before it, or the last frame minus the
        landing frame.
    pixel_size_nm : float
        Pixel size in nm (converts ``smoothing_um`` and ``expected_diameter_um``).
    expected_diameter_um : float, optional
        Pipette/footprint diameter; the component is chosen by it and must lie within
        ``diameter_tolerance`` (relative) of it.
    smoothing_um : float
        Gaussian sigma before thresholding, µm.
    diameter_tolerance : float
        Allowed relative deviation from ``expected_diameter_um``.

    Returns
    -------
    Footprint
    """
    image = np.asarray(image_diff, dtype=np.float32)
    if image.ndim != 2:
        raise AnalysisError(f"footprint image must be (R, C); got shape {image.shape}")
    if pixel_size_nm <= 0:
        raise AnalysisError(f"pixel_size_nm must be > 0 nm; got {pixel_size_nm} nm")
    sigma_px = smoothing_um * 1e3 / pixel_size_nm
    magnitude = np.abs(ndimage.gaussian_filter(image, sigma_px, mode="nearest"))
    if not np.isfinite(magnitude).all() or np.ptp(magnitude) == 0:
        raise AnalysisError("footprint image is flat or not finite: no contrast to threshold")
    # Otsu splits the histogram; the midpoint of the two classes' means then puts the edge at
    # half height of the blurred step, i.e. on the true edge whatever the class sizes
    otsu = threshold_otsu(magnitude)
    threshold = 0.5 * (magnitude[magnitude <= otsu].mean() + magnitude[magnitude > otsu].mean())
    foreground = ndimage.binary_fill_holes(magnitude > threshold)
    labels, n_labels = ndimage.label(foreground)
    areas = np.bincount(labels.ravel(), minlength=n_labels + 1)[1:]
    if expected_diameter_um is None:
        best = int(np.argmax(areas))
    else:
        expected_area_px = np.pi * (expected_diameter_um * 1e3 / pixel_size_nm / 2.0) ** 2
        best = int(np.argmin(np.abs(np.log(areas / expected_area_px))))
        found_um = 2.0 * np.sqrt(areas[best] / np.pi) * pixel_size_nm * 1e-3
        if abs(found_um / expected_diameter_um - 1.0) > diameter_tolerance:
            raise AnalysisError(
                f"footprint diameter {found_um:.2f} µm differs from the expected "
                f"{expected_diameter_um:.2f} µm by more than {diameter_tolerance:.0%}"
            )
    mask = labels == best + 1
    rows, cols = np.nonzero(mask)
    return Footprint(
        center_px=(float(cols.mean()), float(rows.mean())),
        radius_px=float(np.sqrt(mask.sum() / np.pi)),
        mask=mask,
    )


# --- processed stack -----------------------------------------------------------------------
@dataclass(frozen=True)
class ProcessedMovie:
    """A movie after the article's processing, cropped around the footprint.

    Attributes
    ----------
    frames : (G, r, c) float32 ndarray
        Landing-subtracted, group-averaged, Gaussian-filtered frames (intensity units of the
        camera, counts).
    times_s : (G,) float64 ndarray
        Mean real time of each group's frames, seconds from the landing frame.
    mean_intensity : (G,) float64 ndarray
        Mean of ``frames`` over the footprint mask.
    mask : (r, c) bool ndarray
        Footprint in crop coordinates.
    footprint : Footprint
        Footprint in full-frame coordinates.
    crop : tuple of int
        ``(row0, row1, col0, col1)``: the crop in full-frame pixels (half-open).
    landing_frame : int
        Index of the landing frame in the input movie.
    group_size : int
        Frames averaged per output frame.
    sigma_px : float
        Gaussian sigma applied, pixels.
    """

    frames: np.ndarray
    times_s: np.ndarray
    mean_intensity: np.ndarray
    mask: np.ndarray
    footprint: Footprint
    crop: tuple[int, int, int, int]
    landing_frame: int
    group_size: int
    sigma_px: float


def process_movie(
    frames,
    times_s,
    *,
    pixel_size_nm: float,
    landing_frame: int | None = None,
    group_size: int = 2,
    sigma_um: float = 1.0,
    crop_margin_px: int = 16,
    footprint: Footprint | None = None,
    expected_diameter_um: float | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
) -> ProcessedMovie:
    """Crop, background-subtract, group-average and smooth a movie; footprint-mean intensity.

    The footprint comes from the landing step (landing frame minus the mean of up to three
    frames before it) or, when the movie starts at the landing, from the deposit (mean of the
    last three frames minus the landing frame). Groups start at the landing frame, so the
    first group averages the (zero) landing frame with the next one, as ImageJ's Grouped Z
    project does on the subtracted stack; a last incomplete group is dropped so every output
    frame has the same noise.

    Parameters
    ----------
    frames : (T, R, C) array-like
        Raw movie, sliceable along time (ndarray, memmap, h5py dataset); read in chunks.
    times_s : (T,) array_like
        Real time of every frame, s (any origin; camera times vary frame by frame).
    pixel_size_nm : float
        Pixel size, nm.
    landing_frame : int, optional
        Index of the landing frame; detected with :func:`detect_landing` when omitted.
    group_size : int
        Frames averaged per output frame (the article: 2).
    sigma_um : float
        Gaussian sigma in µm, applied per frame in the image plane only (the article: 1 µm).
    crop_margin_px : int
        Pixels kept around the footprint's bounding circle.
    footprint : Footprint, optional
        Use this footprint (full-frame coordinates) instead of finding it.
    expected_diameter_um : float, optional
        Passed to :func:`find_footprint`.
    chunk_frames : int
        Frames processed at a time (rounded to whole groups).

    Returns
    -------
    ProcessedMovie
    """
    shape = tuple(getattr(frames, "shape", ()))
    if len(shape) != 3:
        raise AnalysisError(f"movie must be a (T, R, C) array; got shape {shape}")
    n_frames = shape[0]
    times_s = np.asarray(times_s, dtype=np.float64)
    if times_s.shape != (n_frames,):
        raise AnalysisError(f"times_s has {times_s.size} values for {n_frames} frames")
    if group_size < 1:
        raise AnalysisError(f"group_size must be >= 1 frame; got {group_size}")
    if pixel_size_nm <= 0:
        raise AnalysisError(f"pixel_size_nm must be > 0 nm; got {pixel_size_nm} nm")
    if landing_frame is None:
        landing_frame = detect_landing(frames, chunk_frames=chunk_frames)
    if not 0 <= landing_frame < n_frames:
        raise AnalysisError(
            f"landing frame {landing_frame} is outside the movie (0–{n_frames - 1})"
        )
    n_groups = (n_frames - landing_frame) // group_size
    if n_groups < 1:
        raise AnalysisError(
            f"{n_frames - landing_frame} frames from landing cannot fill one group of {group_size}"
        )

    landing_image = np.asarray(frames[landing_frame], dtype=np.float32)
    if footprint is None:
        footprint = find_footprint(
            _footprint_image(frames, landing_frame, landing_image),
            pixel_size_nm=pixel_size_nm,
            expected_diameter_um=expected_diameter_um,
        )
    crop = _crop_box(footprint, landing_image.shape, crop_margin_px)
    row0, row1, col0, col1 = crop
    background = landing_image[row0:row1, col0:col1]
    mask = footprint.mask[row0:row1, col0:col1]
    if not mask.any():
        raise AnalysisError("footprint mask is empty inside the crop")
    sigma_px = sigma_um * 1e3 / pixel_size_nm

    processed = np.empty((n_groups, row1 - row0, col1 - col0), dtype=np.float32)
    groups_per_chunk = max(1, chunk_frames // group_size)
    for g0 in range(0, n_groups, groups_per_chunk):
        g1 = min(n_groups, g0 + groups_per_chunk)
        first = landing_frame + g0 * group_size
        chunk = np.asarray(
            frames[first : landing_frame + g1 * group_size, row0:row1, col0:col1],
            dtype=np.float32,
        )
        chunk -= background
        grouped = chunk.reshape(g1 - g0, group_size, *chunk.shape[1:]).mean(axis=1)
        ndimage.gaussian_filter(grouped, (0.0, sigma_px, sigma_px), mode="nearest", output=grouped)
        processed[g0:g1] = grouped

    used_times = times_s[landing_frame : landing_frame + n_groups * group_size]
    group_times = used_times.reshape(n_groups, group_size).mean(axis=1) - times_s[landing_frame]
    return ProcessedMovie(
        frames=processed,
        times_s=group_times,
        mean_intensity=processed[:, mask].mean(axis=1, dtype=np.float64),
        mask=mask,
        footprint=footprint,
        crop=crop,
        landing_frame=int(landing_frame),
        group_size=int(group_size),
        sigma_px=float(sigma_px),
    )


def _footprint_image(frames, landing_frame: int, landing_image: np.ndarray) -> np.ndarray:
    """Landing step (landing − frames before) or, with none before, deposit (end − landing)."""
    if landing_frame > 0:
        before = np.asarray(frames[max(0, landing_frame - 3) : landing_frame], dtype=np.float32)
        return landing_image - before.mean(axis=0)
    n_frames = frames.shape[0]
    if n_frames < 2:
        raise AnalysisError("one frame only: no landing step or deposit to find a footprint")
    last = np.asarray(frames[max(1, n_frames - 3) : n_frames], dtype=np.float32)
    return last.mean(axis=0) - landing_image


def _crop_box(
    footprint: Footprint, shape: tuple[int, int], margin_px: int
) -> tuple[int, int, int, int]:
    """Half-open (row0, row1, col0, col1) box around the footprint's circle and mask."""
    rows, cols = np.nonzero(footprint.mask)
    x, y = footprint.center_px
    r = footprint.radius_px
    row0 = min(int(np.floor(y - r)), int(rows.min())) - margin_px
    row1 = max(int(np.ceil(y + r)), int(rows.max())) + 1 + margin_px
    col0 = min(int(np.floor(x - r)), int(cols.min())) - margin_px
    col1 = max(int(np.ceil(x + r)), int(cols.max())) + 1 + margin_px
    return max(0, row0), min(shape[0], row1), max(0, col0), min(shape[1], col1)


# --- intensity vs charge -------------------------------------------------------------------
def cumulative_charge_at(times_s, trace_time_s, current_A) -> np.ndarray:
    """Charge plated up to each movie time, C (cathodic positive).

    The current is integrated with the trapezoid rule from the first trace sample and
    interpolated linearly at ``times_s``; plating (cathodic, negative) current counts
    positive, so the result rises while Li is plated and falls while it is stripped. Times
    before the trace read 0 C, times after it the final charge.

    Parameters
    ----------
    times_s : (T,) array_like
        Movie times on the trace's time base (s from landing = start of the measurement).
    trace_time_s : (N,) array_like
        Trace sample times, s, increasing.
    current_A : (N,) array_like
        Current, A (cathodic negative, as in :class:`core.traces.Trace`).

    Returns
    -------
    (T,) float64 ndarray
    """
    trace_time_s = np.asarray(trace_time_s, dtype=np.float64)
    current_A = np.asarray(current_A, dtype=np.float64)
    if trace_time_s.ndim != 1 or trace_time_s.shape != current_A.shape or trace_time_s.size < 2:
        raise AnalysisError(
            f"trace time ({trace_time_s.shape}) and current ({current_A.shape}) must be equal "
            "1-D arrays of at least 2 samples"
        )
    if np.any(np.diff(trace_time_s) <= 0):
        raise AnalysisError("trace time_s must be strictly increasing")
    steps = 0.5 * (current_A[1:] + current_A[:-1]) * np.diff(trace_time_s)
    plated_C = -np.concatenate([[0.0], np.cumsum(steps)])
    return np.interp(np.asarray(times_s, dtype=np.float64), trace_time_s, plated_C, left=0.0)


@dataclass(frozen=True)
class AlphaFit:
    """Fit of footprint intensity against deposited volume, I = α·V + I0.

    Attributes
    ----------
    alpha_per_um3 : float
        α, intensity units (counts) per µm³ of deposit (V = V_M·Q/(n·F)).
    intercept : float
        I0, intensity units (0 when fitted through the origin).
    r2 : float
        Coefficient of determination, 1 − SS_res/SS_tot with SS_tot about the mean intensity
        (comparable between the two models).
    volume_um3 : (T,) ndarray
        Deposit volume from the charge at each intensity sample, µm³.
    through_origin : bool
        Whether the fit was forced through the origin.
    """

    alpha_per_um3: float
    intercept: float
    r2: float
    volume_um3: np.ndarray
    through_origin: bool


def fit_alpha(
    intensity,
    charge_C,
    *,
    molar_volume_m3_mol: float = LI_MOLAR_VOLUME_M3_PER_MOL,
    n: int = 1,
    through_origin: bool = False,
) -> AlphaFit:
    """Least-squares α of the article's I = α·V_M·Q/(n·F).

    An intercept is fitted by default: the subtracted landing frame carries its own noise,
    group averaging includes the landing frame, and SEI/alloy formation shifts intensity
    before Li deposits, all of which offset I without changing the slope. Set
    ``through_origin=True`` for eq 1 taken literally (I = 0 at Q = 0).

    Parameters
    ----------
    intensity : (T,) array_like
        Footprint-mean intensity (e.g. :attr:`ProcessedMovie.mean_intensity`).
    charge_C : (T,) array_like
        Plated charge at the same times, C (e.g. from :func:`cumulative_charge_at` at
        :attr:`ProcessedMovie.times_s`).
    molar_volume_m3_mol : float
        V_M, m³/mol (lithium by default).
    n : int
        Electrons per atom (1 for Li).
    through_origin : bool
        Fit I = α·V instead of I = α·V + I0.

    Returns
    -------
    AlphaFit
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    charge_C = np.asarray(charge_C, dtype=np.float64)
    if intensity.ndim != 1 or intensity.shape != charge_C.shape:
        raise AnalysisError(
            f"intensity {intensity.shape} and charge {charge_C.shape} must be equal 1-D arrays"
        )
    keep = np.isfinite(intensity) & np.isfinite(charge_C)
    if keep.sum() < 3:
        raise AnalysisError(f"{int(keep.sum())} finite intensity/charge pairs; need at least 3")
    volume_um3 = charge_C * molar_volume_m3_mol / (n * FARADAY_C_PER_MOL) * _M3_TO_UM3
    v, y = volume_um3[keep], intensity[keep]
    if np.ptp(v) == 0:
        raise AnalysisError("charge does not change: α is undefined")
    if through_origin:
        alpha = float(v @ y / (v @ v))
        intercept = 0.0
    else:
        alpha, intercept = (float(p) for p in np.polyfit(v, y, 1))
    residual = y - (alpha * v + intercept)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(residual @ residual) / ss_tot if ss_tot > 0 else float("nan")
    return AlphaFit(
        alpha_per_um3=alpha,
        intercept=intercept,
        r2=r2,
        volume_um3=volume_um3,
        through_origin=through_origin,
    )
