import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.results.grid_values import UnknownMetric, metric_grid, round_values
from core.results.metrics import STATUS_CATEGORIES
from core.storage.ledger import UnknownRun


def test_e_nuc_lands_on_the_grid_from_the_latest_analysis(small_run):
    grid = metric_grid(small_run.url, small_run.run_id, "e_nuc_V")
    assert grid.layout == "grid"
    nan = np.nan
    # (0,0) shows version 2 (−0.130), not version 1 (−0.300); the excluded spot keeps its value
    assert_allclose(grid.values, [[-0.130, -0.146, nan],
                                  [-0.210, nan, -0.214],
                                  [nan, nan, nan]])
    assert_array_equal(grid.spot_ids, [[small_run.spot_ids[(r, c)] for c in range(3)]
                                       for r in range(3)])
    assert_allclose(grid.x_um, [0.0, 11.0, 22.0])
    assert_allclose(grid.y_um, [0.0, 11.0, 22.0])
    assert (grid.n_spots, grid.n_values) == (9, 4)


def test_hover_text_names_the_condition_and_why_a_value_is_missing(small_run):
    text = metric_grid(small_run.url, small_run.run_id, "e_nuc_V").text
    assert text[0, 0] == "0.78 mA/cm² × 5 s"
    assert text[0, 2] == "0.78 mA/cm² × 5 s<br><i>no nucleation reached</i>"
    assert text[1, 1] == "2.92 mA/cm² × 5 s<br><i>spot no contact</i>"
    assert text[1, 2] == "2.92 mA/cm² × 5 s<br><b>excluded</b>: bubble in the meniscus"
    assert text[2, 0] == "CV -0.27 to 1.47 V × 3<br><i>not analysed</i>"
    assert text[2, 2] == "CV -0.27 to 1.47 V × 3<br><i>spot pending</i>"


def test_ce_is_the_last_cycle_of_the_cv_analysis(small_run):
    grid = metric_grid(small_run.url, small_run.run_id, "ce")
    assert_allclose(grid.values[2], [0.61, 0.65, np.nan])
    assert np.isnan(grid.values[:2]).all()


def test_sem_density_is_rounded_to_three_significant_digits(small_run):
    grid = metric_grid(small_run.url, small_run.run_id, "density_per_cm2")
    assert_allclose(grid.values[0, :2], [1.7e9, 1.6e9])
    assert grid.title == "particle density (cm⁻²)"


def test_status_map_codes_ledger_states_and_review_exclusion(small_run):
    grid = metric_grid(small_run.url, small_run.run_id, "status")
    code = {name: float(k) for k, name in enumerate(STATUS_CATEGORIES)}
    assert_array_equal(grid.values, [
        [code["done"]] * 3,
        [code["done"], code["no_contact"], code["excluded"]],
        [code["done"], code["done"], code["pending"]],
    ])
    assert grid.categories == STATUS_CATEGORIES
    assert grid.text[1, 1].endswith("<br>no_contact")


def test_unknown_metric_and_run_are_refused(small_run):
    with pytest.raises(UnknownMetric, match="unknown metric 'e_nucleation'"):
        metric_grid(small_run.url, small_run.run_id, "e_nucleation")
    with pytest.raises(UnknownRun, match="run 999 does not exist"):
        metric_grid(small_run.url, 999, "e_nuc_V")


def test_explicit_positions_give_one_entry_per_spot(database_url):
    from core.storage.ledger import Ledger

    ledger = Ledger(database_url)
    ledger.ensure_instrument("sim")
    spots = [dict(order=k, row=None, col=None, x_um=x, y_um=y, condition="c",
                  technique={"technique": "galvanostatic"}) for k, (x, y) in
             enumerate([(0.0, 0.0), (15.0, 4.0), (7.5, 30.0)])]
    run_id = ledger.submit_run(instrument="sim", name="free", grid={}, grid_hash="0" * 64,
                               spots=spots)
    grid = metric_grid(database_url, run_id, "e_nuc_V")
    assert grid.layout == "positions"
    assert_allclose(grid.x_um, [0.0, 15.0, 7.5])
    assert_allclose(grid.y_um, [0.0, 4.0, 30.0])
    assert np.isnan(grid.values).all() and grid.spot_ids.shape == (3,)


def test_round_values_to_decimals_and_significant_digits():
    values = np.array([-0.123456, 1234.5678, np.nan, 0.0])
    assert_allclose(round_values(values, 3), [-0.123, 1234.568, np.nan, 0.0])
    assert_allclose(round_values(np.array([1.23456e9, -4.5678e-3, 0.0, np.nan]), 3,
                                 significant=True), [1.23e9, -4.57e-3, 0.0, np.nan])


def test_active_flags_are_marked_and_a_cleared_flag_is_not(small_run):
    from datetime import UTC, datetime

    from core.storage.db import session_scope
    from core.storage.models import Flag

    spot = small_run.spot_ids[(0, 1)]
    with session_scope(small_run.url) as session:
        session.add_all([
            Flag(run_id=small_run.run_id, spot_id=spot, kind="thick_deposit", author="ana"),
            Flag(run_id=small_run.run_id, spot_id=spot, kind="off_centre", author="bo"),
            Flag(run_id=small_run.run_id, spot_id=small_run.spot_ids[(0, 0)], kind="other",
                 author="bo", cleared_at=datetime.now(UTC), cleared_by="ana"),
        ])
    grid = metric_grid(small_run.url, small_run.run_id, "e_nuc_V")
    assert grid.flags == {spot: "off centre, thick deposit"}
    assert grid.text[0, 1].endswith("<br><b>flagged</b>: off centre, thick deposit")
    assert grid.excluded == {small_run.spot_ids[(1, 2)]: "bubble in the meniscus"}


def test_a_grid_is_reused_until_the_run_changes(small_run):
    from core.results.record import record_analysis

    first = metric_grid(small_run.url, small_run.run_id, "e_nuc_V")
    assert metric_grid(small_run.url, small_run.run_id, "e_nuc_V") is first
    assert metric_grid(small_run.url, small_run.run_id, "status") is not first
    record_analysis(small_run.url, small_run.spot_ids[(0, 1)], "galvanostatic",
                    parameters={"smoothing_s": 0.1},
                    results={"nucleated": True, "e_nuc_V": -0.150})
    changed = metric_grid(small_run.url, small_run.run_id, "e_nuc_V")
    assert changed is not first and changed.values[0, 1] == pytest.approx(-0.150)
    # a spot analysed for the first time, and a newer version, read incrementally
    record_analysis(small_run.url, small_run.spot_ids[(1, 1)], "galvanostatic",
                    parameters={}, results={"nucleated": True, "e_nuc_V": -0.222})
    record_analysis(small_run.url, small_run.spot_ids[(0, 1)], "galvanostatic",
                    parameters={"smoothing_s": 0.2},
                    results={"nucleated": True, "e_nuc_V": -0.155})
    latest = metric_grid(small_run.url, small_run.run_id, "e_nuc_V")
    assert latest.values[1, 1] == pytest.approx(-0.222)
    assert latest.values[0, 1] == pytest.approx(-0.155)
    assert latest.values[0, 0] == pytest.approx(-0.130)  # untouched spots keep theirs
    assert "not analysed" not in latest.text[1, 1]


def test_a_removed_version_makes_the_values_read_again(small_run):
    from sqlalchemy import delete

    from core.storage.db import session_scope
    from core.storage.models import Analysis

    spot = small_run.spot_ids[(0, 0)]
    assert metric_grid(small_run.url, small_run.run_id, "e_nuc_V").values[0, 0] == -0.130
    with session_scope(small_run.url) as session:
        session.execute(delete(Analysis).where(Analysis.spot_id == spot,
                                               Analysis.kind == "galvanostatic",
                                               Analysis.version == 2))
    # version 1 is the latest again
    assert metric_grid(small_run.url, small_run.run_id, "e_nuc_V").values[0, 0] == -0.300
