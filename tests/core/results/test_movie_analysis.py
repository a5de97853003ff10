import numpy as np
import pytest

from core.results.movie_analysis import analyse_movie
from core.simulate.galvanostatic import simulate_galvanostatic
from core.simulate.movie import simulate_irm_movie
from core.storage.spot_files import SpotMovie


@pytest.fixture(scope="module")
def film():
    truth_trace = simulate_galvanostatic(2.92, 5.0, seed=4)
    t_nuc = truth_trace.truth["t_nuc_s"]
    movie = simulate_irm_movie(current_density_mA_cm2=2.92, duration_s=5.0,
                               footprint_diameter_um=4.0, shape=(160, 160), seed=4,
                               t_nuc_s=t_nuc)
    landing = movie.truth["landing_frame"]
    return movie, SpotMovie(movie.frames, movie.times_s - movie.times_s[landing], 40.0), t_nuc


def test_movie_pipeline_finds_the_optical_onset_before_the_potential_minimum(film):
    simulated, movie, t_nuc = film
    trace = simulate_galvanostatic(2.92, 5.0, seed=4, footprint_diameter_um=4.0).trace
    analyses = analyse_movie(movie, t_nuc_echem_s=t_nuc, footprint_diameter_um=4.0,
                             trace=trace)
    parameters, scalars = analyses["irm"]
    _, arrays = analyses["irm_maps"]
    assert scalars["landing_frame"] == simulated.truth["landing_frame"]
    assert 0 < scalars["t_nuc_irm_s"] < t_nuc + 0.25  # one frame of slack
    assert scalars["footprint"]["diameter_um"] == pytest.approx(4.0, rel=0.15)
    t_map = np.array(arrays["t_nuc_map"]["values_s"], dtype=float)
    assert arrays["t_nuc_map"]["block_px"] == 14 == parameters["block_px"]
    assert t_map.ndim == 2 and 0 < scalars["t_nuc_map_valid_fraction"] <= 1
    row0, row1, col0, col1 = scalars["crop"]
    assert t_map.shape == (-(-(row1 - row0) // 14), -(-(col1 - col0) // 14))
    assert len(arrays["intensity"]["times_s"]) == len(arrays["intensity"]["mean_counts"])
    assert arrays["raw_intensity"]["times_s"][0] == 0.0
    assert scalars["alpha"]["alpha_per_um3"] > 0 and parameters["alpha_fitted"] is True
    assert parameters["window_s"] is None and parameters["chunk_frames"] == 64  # defaults
    assert parameters["t_nuc_echem_s"] == t_nuc == scalars["t_nuc_echem_s"]


def test_a_movie_without_pixel_size_stores_the_reason(film):
    _, movie, t_nuc = film
    analyses = analyse_movie(SpotMovie(movie.frames, movie.times_s, None), t_nuc_echem_s=t_nuc,
                             footprint_diameter_um=4.0)
    assert analyses["irm"][1] == {"error": "the movie has no pixel size (pixel_size_nm)"}
    assert analyses["irm_maps"][1] == {"error": "the movie has no pixel size (pixel_size_nm)"}


@pytest.fixture(scope="module")
def cv_film():
    from core.simulate.cv import simulate_cv
    from core.simulate.movie_cv import simulate_irm_cv_movie

    cv = simulate_cv(cycles=4, footprint_diameter_um=3.0, seed=1)
    film = simulate_irm_cv_movie(cv=cv, footprint_diameter_um=3.0, shape=(100, 100), seed=1,
                                 inverted_fraction=0.05)
    landing = film.truth["landing_frame"]
    return cv, film, SpotMovie(film.frames, film.times_s - film.times_s[landing], 40.0)


def test_cv_movie_gives_calibrated_ce_maps_per_cycle_with_inverted_blocks_masked(cv_film):
    from core.results.movie_analysis import CE_MAP_STEP, analyse_cv_movie

    cv, film, movie = cv_film
    analyses = analyse_cv_movie(movie, cv.trace, footprint_diameter_um=3.0)
    parameters, scalars = analyses["ce_irm"]
    _, arrays = analyses["ce_irm_maps"]
    assert parameters == {"average_s": 0.0, "min_snr": 3.0, "footprint_diameter_um": 3.0}
    # the record's last cycle ends after the movie: three cycles are inside it
    assert [cycle["cycle"] for cycle in scalars["cycles"]] == [1, 2, 3]
    assert scalars["calibration"]["r2"] > 0.98 and scalars["calibration"]["n_cycles"] == 3
    truth = film.truth["ce_electrochemical"]
    for cycle, ce in zip(scalars["cycles"], truth, strict=False):
        assert cycle["ce"] == pytest.approx(ce, abs=0.01)
        assert cycle["ce_irm_median"] == pytest.approx(ce, abs=0.06)
        assert 0.03 < cycle["masked_fraction"] < 0.3  # 5 % inverted plus noisy edge blocks
    maps = arrays["maps"]
    values = np.array(maps["values"], dtype=float)
    assert maps["cycles"] == [1, 2, 3] and maps["step"] == CE_MAP_STEP
    assert values.shape == (3, 34, 34) and maps["block_px"] == 3  # 100 px → ≤ 48 a side
    finite = values[np.isfinite(values)]
    assert np.all(finite == np.round(finite))  # stored as integer steps
    assert 0.2 < np.nanmedian(values[0]) * CE_MAP_STEP < 0.33


def test_cv_movie_with_one_cycle_in_view_stores_the_reason(cv_film):
    from core.results.movie_analysis import analyse_cv_movie

    cv, _, movie = cv_film
    early = movie.times_s < 40.0
    short = SpotMovie(movie.frames[early], movie.times_s[early], 40.0)
    analyses = analyse_cv_movie(short, cv.trace, footprint_diameter_um=3.0)
    assert analyses["ce_irm"][1] == analyses["ce_irm_maps"][1]
    assert analyses["ce_irm"][1]["error"].startswith("1 of 4 CV cycles lie within the movie")
