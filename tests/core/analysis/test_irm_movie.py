"""The whole IRM movie analysis: against the movie twin's truth, and on hand-built movies."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage

from core.analysis.irm_movie import analyse_irm_movie
from core.errors import AnalysisError
from core.io.image_writers import write_ome_tiff
from core.io.movies import open_movie
from core.units import FARADAY_C_PER_MOL, LI_MOLAR_VOLUME_M3_PER_MOL

# --- against the movie twin (small movies: 80 nm pixels, a 6 µm footprint) ------------------
TWIN_CASES = [
    (0.78, 6.0, {"seed": 5}),
    (3.82, 3.0, {"seed": 6, "footprint_offset_um": (1.0, -0.8), "pre_landing_frames": 4}),
    (0.39, 9.0, {"seed": 7, "inverted_fraction": 0.1, "frame_jitter_s": 0.03}),
]


def _twin_spot(current_density, duration_s, options):
    """The E–t record and the movie of one spot: the movie nucleates at the record's t_nuc."""
    from core.simulate.galvanostatic import simulate_galvanostatic
    from core.simulate.movie import simulate_irm_movie

    spot = simulate_galvanostatic(
        current_density, duration_s, footprint_diameter_um=6.0, seed=options["seed"]
    )
    movie = simulate_irm_movie(
        current_density_mA_cm2=current_density,
        duration_s=duration_s,
        footprint_diameter_um=6.0,
        pixel_size_nm=80.0,
        t_nuc_s=spot.truth["spot_t_nuc_s"],
        **options,
    )
    return spot, movie


@pytest.mark.parametrize(("current_density", "duration_s", "options"), TWIN_CASES)
def test_twin_landing_footprint_t_nuc_map_and_alpha(current_density, duration_s, options):
    spot, movie = _twin_spot(current_density, duration_s, options)
    truth = movie.truth
    result = analyse_irm_movie(
        movie.frames,
        movie.times_s,
        pixel_size_nm=80.0,
        t_nuc_echem_s=spot.truth["t_nuc_s"],
        block_px=7,  # 560 nm, the article's blocks
        trace_time_s=spot.trace.time_s,
        trace_current_A=spot.trace.current_A,
    )
    frame_s = float(np.median(np.diff(movie.times_s)))
    assert result.landing_frame == truth["landing_frame"]
    assert result.t_nuc_irm_s == pytest.approx(truth["t_nuc_irm_s"], abs=2 * frame_s)
    assert result.t_nuc_irm_s < spot.truth["t_nuc_s"]  # the optical onset leads
    assert_allclose(result.footprint.center_px, truth["footprint_center_px"], atol=2.0)
    assert result.footprint.radius_px == pytest.approx(truth["footprint_radius_px"], rel=0.03)
    assert result.frames == truth["n_frames"] and result.pixel_size_nm == 80.0

    t_map = result.t_nuc_map
    assert t_map.dtype == np.float32 and t_map.shape == movie.frames.shape[1:]
    assert np.isnan(t_map[~result.footprint.mask]).all()
    summary = result.map_summary()
    assert summary["valid_fraction"] > 0.3 and summary["block_px"] == 7
    valid = np.isfinite(t_map) & movie.footprint_mask
    error = t_map[valid] - movie.t_nuc_map_s[valid]
    assert abs(np.median(error)) < 0.5 * truth["t_nuc_map_sd_s"] + frame_s

    assert result.alpha.r2 > 0.95 and result.alpha.alpha_per_um3 > 0
    times_from_landing = result.raw_intensity.times_s
    landing = truth["landing_frame"]
    assert_allclose(times_from_landing, movie.times_s[landing:] - movie.times_s[landing])


def test_to_dict_is_exactly_the_headline_and_json_clean():
    _, movie = _twin_spot(*TWIN_CASES[0][:2], TWIN_CASES[0][2])
    result = analyse_irm_movie(movie.frames, movie.times_s, pixel_size_nm=80.0)
    report = result.to_dict()
    assert list(report) == ["landing_frame", "t_nuc_irm_s", "footprint", "frames", "pixel_size_nm"]
    assert list(report["footprint"]) == ["center_px", "radius_px"]
    assert type(report["landing_frame"]) is int and type(report["frames"]) is int
    assert all(type(v) is float for v in report["footprint"]["center_px"])
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert result.alpha is None and result.alpha_dict() is None
    assert result.t_nuc_echem_s is None and result.time_source is None


def test_a_lazily_opened_movie_gives_the_same_answer_as_the_array(tmp_path):
    spot, movie = _twin_spot(*TWIN_CASES[1][:2], TWIN_CASES[1][2])
    path = write_ome_tiff(
        tmp_path / "spot.ome.tif", movie.frames, movie.times_s, pixel_size_nm=80.0
    )
    options = {"pixel_size_nm": 80.0, "t_nuc_echem_s": spot.truth["t_nuc_s"], "block_px": 3}
    from_array = analyse_irm_movie(movie.frames, movie.times_s, **options)
    with open_movie(path) as opened:
        from_file = analyse_irm_movie(opened, opened.times_s, chunk_frames=5, **options)
    assert from_file.time_source == "metadata"
    assert from_file.to_dict() == from_array.to_dict()
    assert_array_equal(from_file.t_nuc_map, from_array.t_nuc_map)
    assert_array_equal(from_file.raw_intensity.mean, from_array.raw_intensity.mean)


def test_the_movie_is_never_copied_whole():
    """A movie far larger than its footprint: peak allocation stays below the movie's own size
    (a float64 copy would be four times it)."""
    from core.simulate.movie import simulate_irm_movie

    movie = simulate_irm_movie(
        current_density_mA_cm2=0.78,
        duration_s=20.0,
        footprint_diameter_um=3.0,
        pixel_size_nm=80.0,
        shape=(296, 296),
        seed=9,
    )
    frames = movie.frames
    tracemalloc.start()
    try:
        analyse_irm_movie(frames, movie.times_s, pixel_size_nm=80.0, chunk_frames=16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * frames.nbytes


# --- hand-built movies the twin does not make -------------------------------------------------
PIXEL_NM = 100.0
CENTRE_XY = (60.3, 44.7)
RADIUS_PX = 25.0
LANDING = 9


def _hand_movie(intensity_after_landing, *, n_frames=70, drift=0.01, seed=0):
    """uint8 movie: a lit gradient whose light drifts by ``drift`` over the movie, a sharp
    5 µm disc that darkens 8 % at frame LANDING, then ``intensity_after_landing(t_s, disc,
    cols) -> (T, R, C)`` added inside it; uneven frame times (0.15–0.25 s) from 100 s;
    Gaussian noise of 1 count."""
    rng = np.random.default_rng(seed)
    times = 100.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(0.15, 0.25, n_frames - 1))])
    rows, cols = np.mgrid[0:96, 0:112].astype(np.float64)
    disc = (cols - CENTRE_XY[0]) ** 2 + (rows - CENTRE_XY[1]) ** 2 <= RADIUS_PX**2
    lit = 140.0 + 0.2 * cols
    light = 1.0 + drift * np.linspace(0.0, 1.0, n_frames)[:, None, None]
    after = np.arange(n_frames)[:, None, None] >= LANDING
    since = np.maximum(times - times[LANDING], 0.0)
    values = lit * light * np.where(after & disc, 0.92, 1.0)
    values += np.where(after & disc, intensity_after_landing(since, disc, cols), 0.0)
    values += rng.normal(0.0, 1.0, values.shape)
    return np.clip(np.round(values), 0, 255).astype(np.uint8), times, disc, cols


def _two_nucleation_times(since, disc, cols):
    """15 counts per pixel, a logistic rise (dI/dt peaks at t_p): 4 s left, 8 s right."""
    t_p = np.where(cols < CENTRE_XY[0] + 5.0, 4.0, 8.0)
    return 15.0 / (1.0 + np.exp(-(since[:, None, None] - t_p) / 0.3))


@pytest.mark.parametrize("t_nuc_echem_s", [None, 9.0])
def test_hand_built_two_region_nucleation(t_nuc_echem_s):
    frames, times, _, cols = _hand_movie(_two_nucleation_times)
    result = analyse_irm_movie(
        frames, times, pixel_size_nm=PIXEL_NM, t_nuc_echem_s=t_nuc_echem_s, block_px=5
    )
    assert result.landing_frame == LANDING
    assert_allclose(result.footprint.center_px, CENTRE_XY, atol=0.5)
    assert result.footprint.radius_px == pytest.approx(RADIUS_PX, rel=0.02)
    frame_s = float(np.median(np.diff(times)))
    # the early region holds most of the footprint, so its rise dominates the mean
    assert result.t_nuc_irm_s == pytest.approx(4.0, abs=frame_s)
    t_map, mask = result.t_nuc_map, result.footprint.mask
    assert np.isnan(t_map[~mask]).all()
    assert np.isfinite(t_map[mask]).mean() > 0.9
    early = mask & (cols < CENTRE_XY[0] - 5)
    late = mask & (cols > CENTRE_XY[0] + 10)
    assert np.nanmedian(t_map[early]) == pytest.approx(4.0, abs=0.5 * frame_s)
    assert np.nanmedian(t_map[late]) == pytest.approx(8.0, abs=0.5 * frame_s)


def test_hand_built_linear_growth_gives_alpha_from_the_current():
    growth_counts_per_s, current_A = 2.0, -1e-9

    def linear(since, disc, cols):
        return growth_counts_per_s * since[:, None, None] * np.ones_like(cols)

    # no drift: the landing subtraction cannot tell a brighter lamp from a thicker deposit
    frames, times, disc, _ = _hand_movie(linear, n_frames=60, drift=0.0, seed=1)
    # the potentiostat samples every 10 ms from contact (the landing frame), to the last frame
    trace_t = np.arange(0.0, times[-1] - times[LANDING], 0.01)
    result = analyse_irm_movie(
        frames,
        times,
        pixel_size_nm=PIXEL_NM,
        trace_time_s=trace_t,
        trace_current_A=np.full(trace_t.size, current_A),
    )
    # processing blurs the growth with a 1 µm Gaussian: the footprint keeps this share of it
    kept = ndimage.gaussian_filter(disc.astype(float), 1e3 / PIXEL_NM, mode="constant")[disc].mean()
    um3_per_C = LI_MOLAR_VOLUME_M3_PER_MOL / FARADAY_C_PER_MOL * 1e18
    expected = growth_counts_per_s * kept / (abs(current_A) * um3_per_C)
    assert result.alpha.r2 > 0.99
    assert result.alpha.alpha_per_um3 == pytest.approx(expected, rel=0.02)
    assert result.alpha_dict()["alpha_per_um3"] == result.alpha.alpha_per_um3


def test_bad_inputs_are_analysis_errors():
    frames, times, _, _ = _hand_movie(_two_nucleation_times)
    with pytest.raises(AnalysisError, match="must be given together"):
        analyse_irm_movie(frames, times, pixel_size_nm=PIXEL_NM, trace_time_s=times)
    with pytest.raises(AnalysisError, match=r"movie must be a \(T, R, C\) array; got shape"):
        analyse_irm_movie(frames[0], times[:1], pixel_size_nm=PIXEL_NM)
    with pytest.raises(AnalysisError, match="block_px must be >= 1 pixel; got 0"):
        analyse_irm_movie(frames, times, pixel_size_nm=PIXEL_NM, block_px=0)
    flat = np.full((20, 40, 40), 100, dtype=np.uint16)
    with pytest.raises(AnalysisError, match="no landing step found in 20 frames"):
        analyse_irm_movie(flat, np.arange(20) * 0.2, pixel_size_nm=PIXEL_NM)
