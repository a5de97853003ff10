"""The load bench's pieces that need no server: the callback body and the latency figures."""

from __future__ import annotations

import pytest

from bench.load import Tally, heatmap_request

DEPENDENCIES = [
    {"output": "results-query.data", "inputs": [], "state": []},
    {"output": "..results-heatmap.figure...results-summary.children..",
     "inputs": [{"id": "results-metric", "property": "value"},
                {"id": "results-refresh", "property": "n_intervals"}],
     "state": [{"id": "results-run", "property": "data"}]},
]


def test_the_heatmap_request_is_built_from_the_callback_map():
    body = heatmap_request(DEPENDENCIES, run_id=7)(3)
    assert body["output"] == "..results-heatmap.figure...results-summary.children.."
    assert body["outputs"] == [{"id": "results-heatmap", "property": "figure"},
                               {"id": "results-summary", "property": "children"}]
    assert [item["value"] for item in body["inputs"]] == ["e_nuc_V", 3]
    assert body["state"] == [{"id": "results-run", "property": "data", "value": 7}]


def test_a_callback_map_the_bench_does_not_know_is_refused_by_name():
    with pytest.raises(RuntimeError, match="no callback with output results-heatmap.figure"):
        heatmap_request(DEPENDENCIES[:1], run_id=7)
    changed = [{**DEPENDENCIES[1], "inputs": [{"id": "results-zoom", "property": "value"}]}]
    with pytest.raises(RuntimeError, match="results-zoom"):
        heatmap_request(changed, run_id=7)(1)


def test_latencies_are_summarised_per_kind_and_overall():
    tally = Tally()
    for milliseconds in range(1, 101):
        tally.add("frame", milliseconds / 1000, None)
    tally.add("csv", 0.5, "HTTP 500 for /runs/1/spots.csv")
    summary = tally.summary(wall_s=10.0)
    assert summary["kinds"]["frame"] == {"n": 100, "errors": 0, "p50_ms": 50.5,
                                         "p95_ms": 95.0, "max_ms": 100.0}
    assert summary["kinds"]["all"]["n"] == 101 and summary["kinds"]["all"]["errors"] == 1
    assert summary["requests_per_s"] == pytest.approx(10.1)
    assert summary["failures"] == ["csv: HTTP 500 for /runs/1/spots.csv"]
