from datetime import date

from core.results.runs import RunFilter
from tests.components.tree import find_one, text


def test_layout_restores_the_filters_from_the_url(page, small_run):
    layout = page("experiments").layout(search="screen", operator="ana", state="active,paused",
                                        tag="demo", **{"from": "2026-01-01"})
    assert find_one(layout, id="experiments-search").value == "screen"
    assert find_one(layout, id="experiments-operator").value == "ana"
    assert find_one(layout, id="experiments-state").value == ["active", "paused"]
    assert find_one(layout, id="experiments-tag").value == ["demo"]
    assert find_one(layout, id="experiments-dates").start_date == "2026-01-01"
    assert find_one(layout, id="experiments-operator").options == ["ana", "bo"]


def test_runs_are_listed_and_a_live_run_keeps_the_timer_going(page, small_run):
    table, disabled, search = page("experiments").update_runs(
        "", None, None, [], [], None, None, 0)
    assert "Small screen" in text(table) and "CE screen" in text(table)
    assert disabled is False and search == ""
    table, disabled, search = page("experiments").update_runs(
        "CE", "bo", None, ["aborted"], None, "2026-01-01", "2026-01-31", 3)
    assert "CE screen" in text(table) and "Small screen" not in text(table)
    assert disabled is True  # nothing live in the list: no refresh
    assert search == "?search=CE&operator=bo&state=aborted&from=2026-01-01&to=2026-01-31"


def test_empty_states_say_what_to_do(page, small_run):
    view, live = page("experiments").runs_view(RunFilter(search="nothing like this"))
    assert "No runs match these filters" in text(view) and live is False


def test_first_start_explains_how_to_get_a_run(page, empty_database):
    view, _ = page("experiments").runs_view(RunFilter())
    words = text(view)
    assert "No runs yet" in words and "python -m workers submit GRID.yaml" in words
    assert "python scripts/seed_demo.py" in words


def test_filter_query_round_trips(page):
    query = page("experiments").filter_query(RunFilter(
        search=" a b ", tags=("x", "y"), created_to=date(2026, 2, 3)))
    assert query == "?search=a+b&tag=x%2Cy&to=2026-02-03"
    assert page("experiments").filter_query(RunFilter()) == ""
