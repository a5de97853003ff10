import math

import numpy as np
import pytest
from sqlalchemy import select

from core.results.record import UnknownSpot, json_safe, record_analysis, set_excluded
from core.storage.db import session_scope
from core.storage.models import Analysis


def test_json_safe_makes_numpy_plain_and_non_finite_null():
    value = {"a": np.float32(1.5), "b": np.array([1.0, np.nan, np.inf]), "c": (np.int64(3),),
             "d": {"e": math.nan, 4: "x"}}
    assert json_safe(value) == {"a": 1.5, "b": [1.0, None, None], "c": [3],
                                "d": {"e": None, "4": "x"}}


def test_each_record_adds_the_next_version_and_keeps_the_old_ones(small_run):
    spot_id = small_run.spot_ids[(0, 1)]
    first = record_analysis(small_run.url, spot_id, "sem", parameters={"sigma_px": 1.0},
                            results={"density_per_cm2": np.float64(2e9), "fit": np.nan})
    assert first == 2  # the fixture stored version 1
    with session_scope(small_run.url) as session:
        rows = session.execute(select(Analysis.version, Analysis.results).where(
            Analysis.spot_id == spot_id, Analysis.kind == "sem").order_by(Analysis.version)
        ).all()
    assert [version for version, _ in rows] == [1, 2]
    assert rows[1][1] == {"density_per_cm2": 2e9, "fit": None}


def test_review_decisions_are_versions_of_the_review_kind(small_run):
    spot_id = small_run.spot_ids[(0, 0)]
    assert set_excluded(small_run.url, spot_id, reason="thick deposit", reviewer="bo") == 1
    assert set_excluded(small_run.url, spot_id, excluded=False) == 2


def test_unknown_spot_is_refused(small_run):
    with pytest.raises(UnknownSpot, match="spot 99999 does not exist"):
        record_analysis(small_run.url, 99999, "sem", parameters={}, results={})
