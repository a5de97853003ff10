from datetime import UTC, datetime

import pytest

from core.results.metrics import METRICS
from core.results.spot_table import REVIEW_COLUMNS, SPOT_COLUMNS, spot_table, spot_table_csv
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Flag


def test_one_row_per_spot_with_the_latest_value_of_every_metric(small_run):
    table = spot_table(small_run.url, small_run.run_id)
    assert [row["order"] for row in table] == list(range(9))
    assert list(table[0]) == [*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS]
    first = table[0]
    assert first["e_nuc_V"] == pytest.approx(-0.130)  # version 2
    assert first["t_nuc_irm_s"] == pytest.approx(3.30)
    assert first["density_per_cm2"] == pytest.approx(1.7e9)
    assert first["q_nuc_uAh_cm2"] == pytest.approx(0.78 * 3.70 / 3.6)
    assert table[4]["state"] == "no_contact" and table[4]["error"] == "no contact within 12 µm"
    assert [row["excluded"] for row in table] == [False] * 5 + [True] + [False] * 3
    assert table[6]["ce"] == pytest.approx(0.61) and table[6]["e_nuc_V"] is None


def test_csv_has_a_header_with_units_and_one_line_per_spot(small_run):
    lines = spot_table_csv(small_run.url, small_run.run_id).splitlines()
    assert lines[0].startswith("spot_id,order,row,col,x_um,y_um,condition,condition_index")
    assert "e_nuc_V" in lines[0] and lines[0].endswith(",excluded,exclusion_reason,flags")
    assert len(lines) == 10
    assert ",-0.13," in lines[1]
    with pytest.raises(UnknownRun):
        spot_table_csv(small_run.url, 31337)


def test_review_columns_give_the_exclusion_reason_and_the_active_flag_kinds(small_run):
    ids = small_run.spot_ids
    with session_scope(small_run.url) as session:
        session.add_all([
            Flag(run_id=small_run.run_id, spot_id=ids[(0, 1)], kind="thick_deposit",
                 author="ana"),
            Flag(run_id=small_run.run_id, spot_id=ids[(0, 1)], kind="off_centre",
                 author="bo"),
            Flag(run_id=small_run.run_id, spot_id=ids[(0, 1)], kind="off_centre",
                 author="cy"),
            Flag(run_id=small_run.run_id, spot_id=ids[(1, 0)], kind="other", author="ana",
                 cleared_at=datetime(2026, 1, 2, tzinfo=UTC), cleared_by="bo"),
        ])
    rows = {row["spot_id"]: row for row in spot_table(small_run.url, small_run.run_id)}
    assert rows[ids[(1, 2)]]["exclusion_reason"] == "bubble in the meniscus"
    assert rows[ids[(0, 0)]]["exclusion_reason"] == "" and not rows[ids[(0, 0)]]["excluded"]
    assert rows[ids[(0, 1)]]["flags"] == "off_centre;thick_deposit"
    assert rows[ids[(1, 0)]]["flags"] == ""  # cleared
    csv_lines = spot_table_csv(small_run.url, small_run.run_id).splitlines()
    assert csv_lines[1 + 5].endswith(",True,bubble in the meniscus,")
    assert csv_lines[1 + 1].endswith(",False,,off_centre;thick_deposit")
