"""The demo seed: a grid the twin films throughout, and SEM images imported and analysed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from core.grid import grid_from_mapping, plan_spots
from core.results.sem_import import spot_sem_images
from core.storage.db import session_scope
from core.storage.models import Analysis
from tests.core.results.small_run import build_small_run, simulate_spot_data
from workers.instruments.sim import FILMED_TECHNIQUES

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("seed_demo", ROOT / "scripts" / "seed_demo.py")
seed_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed_demo)

#: versions and JSON storage are covered on PostgreSQL by the sem analysis kind's tests
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_the_demo_grid_is_filmed_throughout_and_has_cv_spots():
    grid = grid_from_mapping(seed_demo.demo_grid(repeats=2))
    techniques = {spot.technique["technique"] for spot in plan_spots(grid)}
    assert techniques == {"galvanostatic", "cv"}
    assert grid.camera.enabled and techniques <= set(FILMED_TECHNIQUES)  # CE(IRM) maps too
    places = {(spot.row, spot.col) for spot in plan_spots(grid)}
    assert {seed_demo.NO_CONTACT_AT, seed_demo.EXCLUDED_AT} <= places


@sqlite_only
def test_every_measured_plating_spot_gets_an_imported_and_analysed_sem_image(
        database_url, tmp_path, monkeypatch):
    run = build_small_run(database_url, tmp_path / "data", simulate_spot_data())
    monkeypatch.setattr(seed_demo, "SEM_SHAPE", (384, 384))  # the demo's 1024²: ~1 s each
    seed_demo._import_sem(run.url, run.data_dir, run.run_id, footprint_um=3.0)

    measured = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)]  # galvanostatic, committed
    for place in measured:
        spot_id = run.spot_ids[place]
        [image] = spot_sem_images(run.url, spot_id)
        with session_scope(run.url) as session:
            latest = {row.kind: row for row in session.scalars(
                select(Analysis).where(Analysis.spot_id == spot_id,
                                       Analysis.kind.in_(("sem", "sem_outlines")))
                .order_by(Analysis.version))}
        assert latest["sem"].results["original_name"] == f"r{place[0]}c{place[1]}.tif"
        assert latest["sem"].results["sem_image_id"] == image.image_id
        assert latest["sem"].results["count"] > 0
        assert latest["sem_outlines"].parameters == latest["sem"].parameters
    for place in ((1, 1), (2, 0), (2, 2)):  # no contact, CV, pending
        assert spot_sem_images(run.url, run.spot_ids[place]) == []
