import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.results.record import UnknownSpot
from core.results.spot_detail import decimate_minmax, spot_detail, spot_file
from core.traces import Trace


def test_a_measured_spot_with_its_movie_and_latest_analyses(small_run, spot_data):
    spot_id = small_run.spot_ids[(0, 0)]
    detail = spot_detail(small_run.url, small_run.data_dir, spot_id)
    assert (detail.run_name, detail.row, detail.col, detail.state) == ("Small screen", 0, 0,
                                                                        "done")
    assert detail.condition == "0.78 mA/cm² × 5 s" and detail.current_density_mA_cm2 == 0.78
    assert detail.previous_id is None and detail.next_id == small_run.spot_ids[(0, 1)]
    assert detail.analyses["galvanostatic"].version == 2
    assert detail.result("galvanostatic", "e_nuc_V") == pytest.approx(-0.130)
    assert detail.result("sem", "nothing") is None and detail.result("cv", "cycles") is None
    assert detail.excluded is None
    movie = spot_data[(0, 0)].movie
    assert detail.movie.n_frames == len(movie.frames)
    assert detail.movie.shape == (100, 100)
    assert_allclose(detail.movie.times_s, movie.times_s)
    assert detail.n_samples == len(spot_data[(0, 0)].trace)
    assert len(detail.trace.time_s) <= 4000


def test_excluded_and_unmeasured_spots(small_run):
    excluded = spot_detail(small_run.url, small_run.data_dir, small_run.spot_ids[(1, 2)])
    assert excluded.excluded == "bubble in the meniscus"
    assert "review" not in excluded.analyses
    missed = spot_detail(small_run.url, small_run.data_dir, small_run.spot_ids[(1, 1)])
    assert (missed.state, missed.trace, missed.movie) == ("no_contact", None, None)
    assert missed.error == "no contact within 12 µm"
    assert spot_file(small_run.url, small_run.data_dir, small_run.spot_ids[(1, 1)]) is None
    cv = spot_detail(small_run.url, small_run.data_dir, small_run.spot_ids[(2, 0)])
    assert cv.movie is None and [c["ce"] for c in cv.result("cv", "cycles")] == [0.25, 0.47,
                                                                                  0.61]
    with pytest.raises(UnknownSpot, match="spot 424242 does not exist"):
        spot_detail(small_run.url, small_run.data_dir, 424242)


def test_decimation_keeps_every_bin_extreme_and_short_traces_whole():
    time_s = np.linspace(0.0, 10.0, 100_001)
    potential = np.sin(time_s)
    potential[61_234] = -5.0  # a one-sample dip must survive
    trace = Trace(time_s, potential, np.zeros_like(time_s))
    small = decimate_minmax(trace, 1000)
    assert len(small.time_s) <= 1000
    assert small.potential_V.min() == -5.0 and small.time_s[np.argmin(small.potential_V)] == (
        time_s[61_234])
    assert np.all(np.diff(small.time_s) > 0)
    assert_allclose(small.potential_V.max(), 1.0, atol=1e-6)
    short = Trace(time_s[:10], potential[:10], np.zeros(10))
    assert decimate_minmax(short, 1000) is short


def test_versions_of_a_kind_newest_first(small_run):
    from core.results.spot_detail import analysis_versions

    versions = analysis_versions(small_run.url, small_run.spot_ids[(0, 0)], "galvanostatic")
    assert [v.version for v in versions] == [2, 1]
    assert versions[1].parameters == {"smoothing_s": 0.2} and not versions[0].failed
    assert analysis_versions(small_run.url, small_run.spot_ids[(0, 0)], "cv") == []
