"""The harness's choice of benchmarks (nothing is measured here)."""

from __future__ import annotations

import pytest

from bench.run import MODULES, collect, main, select


def _fn(quick: bool) -> dict:
    return {}


TOPICS = {"irm": {"irm_movie": _fn, "irm_maps": _fn}, "load": {"load_20_viewers": _fn}}


def test_a_topic_selects_all_of_its_benchmarks_and_a_name_only_itself():
    assert list(select(TOPICS, ["load"])) == ["load_20_viewers"]
    assert list(select(TOPICS, ["irm_maps"])) == ["irm_maps"]
    assert list(select(TOPICS, [])) == ["irm_movie", "irm_maps", "load_20_viewers"]
    assert list(select(TOPICS, ["load", "irm_movie"])) == ["irm_movie", "load_20_viewers"]


def test_an_unknown_name_is_refused_with_what_exists():
    with pytest.raises(ValueError, match=r"unknown benchmark\(s\) or topic\(s\) \['lod'\]"):
        select(TOPICS, ["lod"])


def test_the_load_bench_is_registered_as_its_own_topic(capsys):
    topics = collect()
    assert list(topics) == MODULES
    assert list(topics["load"]) == ["load_20_viewers"]
    with pytest.raises(SystemExit):
        main(["no_such_bench"])
    assert "topics: ['galvanostatic_batch'" in capsys.readouterr().err
