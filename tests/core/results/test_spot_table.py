import pytest

from core.results.metrics import METRICS
from core.results.spot_table import SPOT_COLUMNS, spot_table, spot_table_csv
from core.storage.ledger import UnknownRun


def test_one_row_per_spot_with_the_latest_value_of_every_metric(small_run):
    table = spot_table(small_run.url, small_run.run_id)
    assert [row["order"] for row in table] == list(range(9))
    assert list(table[0]) == [*SPOT_COLUMNS, *METRICS, "excluded"]
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
    assert "e_nuc_V" in lines[0] and lines[0].endswith(",excluded")
    assert len(lines) == 10
    assert ",-0.13," in lines[1]
    with pytest.raises(UnknownRun):
        spot_table_csv(small_run.url, 31337)
