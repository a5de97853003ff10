"""The simulated instrument films galvanostatic and CV spots on the electrochemistry's clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import select

from core.grid import grid_from_mapping
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Analysis
from tests.workers.harness import grid_mapping, spot_table, submit_direct
from workers.analysis_task import Outcome, analyse_spot
from workers.engine import AcquisitionEngine
from workers.instruments.sim import CV_FRAMES_BEFORE_RETRACT, SimInstrument

CAMERA = {"enabled": True, "exposure_ms": 100.0, "interval_s": 0.23}
#: three fast cycles (2.4 s each) of the article's CV, a 6 µm footprint
CV = {"technique": "cv", "upper_V": 1.0, "lower_V": -0.2, "scan_rate_V_s": 1.0, "cycles": 3}
AREA_CM2 = math.pi * (3e-4) ** 2


def _measure(technique, camera=CAMERA):
    sim = SimInstrument(speed=math.inf, pixel_size_nm=80.0)
    return sim.measure(technique, area_cm2=AREA_CM2, camera=camera, should_stop=lambda: False)


def test_a_cv_is_filmed_from_before_the_landing_to_past_its_last_sample():
    measured = _measure(CV)
    movie, end_s = measured.movie, float(measured.trace.time_s[-1])
    assert movie.frames.ndim == 3 and len(movie.frames) == len(movie.times_s)
    assert movie.times_s[0] < 0 and 0.0 in movie.times_s  # landing frame at t = 0
    assert np.all(np.diff(movie.times_s) > 0)
    after = movie.times_s[movie.times_s > end_s]
    assert len(after) == CV_FRAMES_BEFORE_RETRACT
    assert movie.frames.shape[1:] == (125, 125)  # (6 µm + 2 × 2 µm margin) / 80 nm
    assert _measure(CV, camera=None).movie is None
    assert _measure({"technique": "chronoamperometry", "potential_V": -0.2,
                     "duration_s": 1.0}).movie is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_filmed_cv_from_the_twin_gets_ce_irm_close_to_the_electrochemical_ce(
        database_url, tmp_path):
    ledger = Ledger(database_url)
    grid = grid_from_mapping({**grid_mapping(rows=1, cols=1, camera=True),
                              "conditions": [{**CV, "repeats": 1}]})
    run_id = submit_direct(ledger, grid)
    AcquisitionEngine(ledger, SimInstrument(speed=math.inf, pixel_size_nm=80.0),
                      data_dir=tmp_path, holder="test").run(run_id)
    spot_id = spot_table(database_url, run_id)[0]["id"]

    assert analyse_spot(database_url, tmp_path, spot_id) == [
        Outcome("cv", 1, True), Outcome("ce_irm", 1, True), Outcome("ce_irm_maps", 1, True)]
    with session_scope(database_url) as session:
        results = {row.kind: row.results for row in session.scalars(
            select(Analysis).where(Analysis.spot_id == spot_id))}
    cycles = results["ce_irm"]["cycles"]
    assert [cycle["cycle"] for cycle in cycles] == [1, 2, 3]  # every cycle inside the movie
    assert results["ce_irm"]["calibration"]["r2"] > 0.9
    ce = [cycle["ce"] for cycle in cycles]
    assert ce == pytest.approx([c["ce"] for c in results["cv"]["cycles"]])
    # The twin's per-pixel CE spreads around the cycle's CE (heterogeneity 0.35 → 0.18 over
    # these cycles: interquartile widths ≈ 0.1), pixels without a significant rise (up to
    # ~30 %) are masked and the calibration is a 3-point fit; the median found stays within
    # 0.1 of the electrochemical CE (0.25, 0.47, 0.61) and keeps their order.
    medians = [cycle["ce_irm_median"] for cycle in cycles]
    assert medians == pytest.approx(ce, abs=0.1)
    assert medians == sorted(medians)
    assert all(cycle["masked_fraction"] < 0.5 for cycle in cycles)
    maps = results["ce_irm_maps"]["maps"]
    assert maps["cycles"] == [1, 2, 3] and len(maps["values"]) == 3
