import numpy as np
import pytest

from core.analysis.transport import lab_limiting_current_density_mA_cm2
from core.results.trends import condition_trends


def test_mean_and_sd_over_repeats_leave_out_excluded_and_unmeasured_spots(small_run):
    trends = condition_trends(small_run.url, small_run.run_id)
    low, high, cv = trends.conditions
    # 0.78: two nucleated repeats of three (the third never nucleated)
    assert (low.n_spots, low.n_measured, low.n_excluded) == (3, 3, 0)
    assert low.stats["e_nuc_V"].mean == pytest.approx(np.mean([-0.130, -0.146]))
    assert low.stats["e_nuc_V"].sd == pytest.approx(np.std([-0.130, -0.146], ddof=1))
    assert low.stats["e_nuc_V"].n == 2
    # 2.92: one no contact, one excluded in review → a single value, no sd
    assert (high.n_spots, high.n_measured, high.n_excluded) == (3, 1, 1)
    assert high.stats["e_nuc_V"].mean == pytest.approx(-0.210)
    assert high.stats["e_nuc_V"].sd is None and high.stats["e_nuc_V"].n == 1
    assert high.stats["density_per_cm2"].mean == pytest.approx(2.4e9)  # not (2.4+2.6)/2
    assert cv.stats["ce"].mean == pytest.approx(0.63)
    assert cv.stats["ce"].sd == pytest.approx(np.std([0.61, 0.65], ddof=1))
    assert cv.stats["e_nuc_V"].mean is None and cv.current_density_mA_cm2 is None


def test_transport_limit_of_the_pipette_flags_the_high_current_density(small_run):
    trends = condition_trends(small_run.url, small_run.run_id)
    assert trends.j_lim_mA_cm2 == pytest.approx(lab_limiting_current_density_mA_cm2(6.0))
    assert [c.above_transport_limit for c in trends.conditions] == [False, True, False]
    assert [c.current_density_mA_cm2 for c in trends.galvanostatic()] == [0.78, 2.92]
    assert all(trends.has_values(key) for key in ("t_nuc_irm_s", "mean_diameter_nm", "ce"))
