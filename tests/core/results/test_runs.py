from datetime import date

import pytest

from core.results.runs import RunFilter, list_runs, live_progress, run_filter_options, run_header
from core.storage.ledger import UnknownRun


def _names(url, **filters):
    return [run.name for run in list_runs(url, RunFilter(**filters))]


def test_runs_come_newest_first_with_their_spot_counts(small_run):
    runs = list_runs(small_run.url)
    assert [run.name for run in runs] == ["Small screen", "CE screen"]
    small = runs[0]
    assert (small.state, small.instrument, small.operator) == ("active", "sim", "ana")
    assert small.by_state == {"done": 7, "no_contact": 1, "pending": 1}
    assert (small.total, small.finished) == (9, 8)
    assert small.is_live and small.tags == ("demo", "j series")
    assert not runs[1].is_live and runs[1].by_state == {"skipped": 1}


FILTER_CASES = [
    ({"search": "SMALL"}, ["Small screen"]),
    ({"search": "cycling"}, ["CE screen"]),  # notes are searched too
    ({"operator": "bo"}, ["CE screen"]),
    ({"instrument": "sim"}, ["Small screen"]),
    ({"states": ("aborted", "completed")}, ["CE screen"]),
    ({"tags": ("demo", "j series")}, ["Small screen"]),
    ({"tags": ("demo", "cv")}, []),
    ({"created_from": date(2026, 1, 15), "created_to": date(2026, 1, 15)}, ["CE screen"]),
    ({"created_to": date(2026, 1, 14)}, []),
    ({"limit": 1}, ["Small screen"]),
]


def test_filters_narrow_the_list(small_run):
    for filters, expected in FILTER_CASES:
        assert _names(small_run.url, **filters) == expected, filters


def test_filter_options_list_what_the_runs_use(small_run):
    options = run_filter_options(small_run.url)
    assert options["operators"] == ["ana", "bo"]
    assert options["instruments"] == ["rig-2", "sim"]
    assert options["tags"] == ["cv", "demo", "j series"]
    assert "active" in options["states"] and "completed" in options["states"]


def test_header_and_live_progress_of_one_run(small_run):
    header = run_header(small_run.url, small_run.run_id)
    assert header.name == "Small screen" and header.finished_fraction == pytest.approx(8 / 9)
    progress = live_progress(small_run.url, [small_run.run_id, 12345])
    assert set(progress) == {small_run.run_id}  # unknown ids are skipped
    live = progress[small_run.run_id]
    assert (live["state"], live["total"], live["finished"]) == ("active", 9, 8)
    assert live["eta_s"] is not None and live["eta_s"] >= 0
    with pytest.raises(UnknownRun, match="run 4242 does not exist"):
        run_header(small_run.url, 4242)
