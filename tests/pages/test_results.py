import pytest
from dash.exceptions import PreventUpdate

from tests.components.tree import find_one, text


def test_layout_shows_the_run_and_the_metric_from_the_url(page, small_run):
    layout = page("results").layout(run_id=str(small_run.run_id), metric="t_nuc_s")
    assert find_one(layout, id="results-metric").value == "t_nuc_s"
    assert find_one(layout, id="results-run").data == small_run.run_id
    assert "Small screen" in text(layout)
    assert find_one(layout, id="results-refresh").disabled is False  # the run is live
    download = find_one(layout, id="results-heatmap").config["toImageButtonOptions"]
    assert download["filename"] == f"run_{small_run.run_id}_heatmap"
    unknown = page("results").layout(run_id=str(small_run.run_id), metric="bogus")
    assert find_one(unknown, id="results-metric").value == "e_nuc_V"


@pytest.mark.parametrize(("run_id", "message"), [("abc", "'abc' is not a run id"),
                                                 ("999", "run 999 does not exist")])
def test_a_bad_run_is_an_error_in_the_page(page, small_run, run_id, message):
    assert message in text(page("results").layout(run_id=run_id))


def test_the_metric_callback_returns_the_heatmap_and_rewrites_the_url(page, small_run):
    figure, summary, error, search = page("results").update_heatmap(
        "e_nuc_V", None, small_run.run_id)
    assert figure["data"][0]["z"][0][:2] == [-0.13, -0.146]
    assert summary == "4 of 9 spots have a value" and error is None
    assert search == "?metric=e_nuc_V"
    _, _, error, _ = page("results").update_heatmap("no_such_metric", None, small_run.run_id)
    assert "unknown metric 'no_such_metric'" in text(error)


def test_clicking_a_cell_opens_its_spot(page, empty_database):
    assert page("results").open_spot({"points": [{"customdata": 17, "z": -0.1}]}) == "/spot/17"
    for empty in ({"points": [{"customdata": -1}]}, {"points": []}, None):
        with pytest.raises(PreventUpdate):
            page("results").open_spot(empty)
