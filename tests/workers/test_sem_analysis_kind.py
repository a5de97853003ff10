"""The ``sem`` analysis kind: an imported image analysed by the workers, versioned,
idempotent, only when asked for, stored with its outlines apart."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.analysis.sem import analyse_sem
from core.auth.roles import Actor, Role
from core.results.sem_import import SemImportError, SemUpload, image_statuses, import_sem_file
from core.storage.db import session_scope
from core.storage.models import Analysis, SemImage
from tests.core.results.sem_files import png_bytes, simulated_footprint, tiff_bytes
from tests.core.results.small_run import build_small_run, simulate_spot_data
from tests.workers.harness import wait_until
from workers.analysis_task import Outcome, analyse_spot, spots_awaiting_analysis

#: versions and JSON storage are covered on PostgreSQL by test_analysis_task.py
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def spot_data():
    return simulate_spot_data()


@pytest.fixture
def run(database_url, tmp_path, spot_data):
    """The small run of tests/core/results (spot (0, 2): measured, no sem analysis yet)."""
    return build_small_run(database_url, tmp_path / "data", spot_data)


def _import(run, tmp_path, place=(0, 2), *, seed=1, png=False, pixel_size_nm=None) -> int:
    data = png_bytes(seed) if png else tiff_bytes(tmp_path, seed)
    return import_sem_file(run.url, run.data_dir, run_id=run.run_id,
                           spot_id=run.spot_ids[place], name="r0c0.png" if png else "r0c0.tif",
                           data=data, max_bytes=10**7, pixel_size_nm=pixel_size_nm).image_id


def _latest(url, spot_id, kind):
    with session_scope(url) as session:
        return session.scalars(select(Analysis).where(
            Analysis.spot_id == spot_id, Analysis.kind == kind)
            .order_by(Analysis.version.desc())).first()


def test_one_request_stores_the_statistics_and_the_outlines(run, tmp_path):
    image_id = _import(run, tmp_path)
    spot_id = run.spot_ids[(0, 2)]
    outcomes = analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": image_id},
                            kind="sem")

    assert outcomes == [Outcome("sem", 1, True), Outcome("sem_outlines", 1, True)]
    sem = simulated_footprint()
    expected = analyse_sem(sem.image, pixel_size_nm=sem.pixel_size_nm)
    stats = _latest(run.url, spot_id, "sem")
    assert stats.results["count"] == expected.count
    assert stats.results["density_per_cm2"] == pytest.approx(expected.density_per_cm2)
    assert stats.results["mean_diameter_nm"] == pytest.approx(expected.mean_diameter_nm)
    assert stats.results["count"] == pytest.approx(sem.truth["count"], rel=0.1)
    assert stats.results["sem_image_id"] == image_id
    assert stats.results["pixel_size_source"] == "metadata: TIFF resolution"
    assert stats.parameters["sem_image_id"] == image_id
    assert "particles" not in stats.results and "counted" not in stats.results
    outlines = _latest(run.url, spot_id, "sem_outlines")
    assert outlines.parameters == stats.parameters
    assert outlines.results["counted"]["x_um"].count(None) >= expected.count
    assert outlines.results["footprint"]["r_um"] == pytest.approx(1.5, rel=0.1)


@sqlite_only
def test_it_is_idempotent_and_each_new_image_or_option_adds_a_version(run, tmp_path):
    spot_id = run.spot_ids[(0, 2)]
    first = _import(run, tmp_path)
    analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": first}, kind="sem")
    again = analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": first}, kind="sem")
    assert again == [Outcome("sem", 1, False), Outcome("sem_outlines", 1, False)]

    second = _import(run, tmp_path, seed=2)
    newer = analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": second}, kind="sem")
    assert newer == [Outcome("sem", 2, True), Outcome("sem_outlines", 2, True)]
    other = analyse_spot(run.url, run.data_dir, spot_id,
                         {"sem_image_id": second, "sigma_px": 1.5}, kind="sem")
    assert other == [Outcome("sem", 3, True), Outcome("sem_outlines", 3, True)]
    assert _latest(run.url, spot_id, "sem").results["sem_image_id"] == second


@sqlite_only
def test_it_never_runs_among_a_spots_default_analyses(run, tmp_path):
    spot_id = run.spot_ids[(2, 0)]
    _import(run, tmp_path, (2, 0))
    kinds = [outcome.kind for outcome in analyse_spot(run.url, run.data_dir, spot_id)]
    assert "sem" not in kinds and "sem_outlines" not in kinds
    assert spots_awaiting_analysis(run.url, run.run_id) == []


@sqlite_only
def test_an_image_without_pixel_size_stores_the_reason_until_one_is_given(run, tmp_path):
    spot_id = run.spot_ids[(0, 2)]
    pixel_nm = simulated_footprint().pixel_size_nm
    image_id = _import(run, tmp_path, png=True, pixel_size_nm=pixel_nm)
    analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": image_id}, kind="sem")
    assert _latest(run.url, spot_id, "sem").results == {
        "error": "r0c0.png: the file records no pixel size; give pixel_size_nm"}

    analyse_spot(run.url, run.data_dir, spot_id,
                 {"sem_image_id": image_id, "pixel_size_nm": pixel_nm}, kind="sem")
    latest = _latest(run.url, spot_id, "sem")
    assert latest.version == 2 and latest.results["pixel_size_source"] == "given"
    assert latest.results["count"] > 50


@sqlite_only
def test_a_missing_foreign_or_changed_image_is_refused(run, tmp_path):
    spot_id = run.spot_ids[(0, 2)]
    with pytest.raises(SemImportError, match="needs sem_image_id"):
        analyse_spot(run.url, run.data_dir, spot_id, {}, kind="sem")
    foreign = _import(run, tmp_path, (2, 0))
    with pytest.raises(SemImportError, match=rf"image {foreign} is not an image of spot"):
        analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": foreign}, kind="sem")
    image_id = _import(run, tmp_path)
    with session_scope(run.url) as session:
        path = run.data_dir / session.get(SemImage, image_id).path
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(SemImportError, match="does not match the recorded"):
        analyse_spot(run.url, run.data_dir, spot_id, {"sem_image_id": image_id}, kind="sem")
    assert _latest(run.url, spot_id, "sem") is None


@pytest.mark.parametrize("deployment", ["embedded"], indirect=True)
def test_an_import_is_analysed_by_the_analysis_worker(deployment, spot_data, tmp_path):
    from workers.guarded import import_sem

    run = build_small_run(deployment.database_url, deployment.data_dir, spot_data)
    deployment.start_worker("analysis")
    operator = Actor("ana", Role.OPERATOR)
    [outcome] = import_sem(operator, run.run_id, [SemUpload("r1c0.tif", tiff_bytes(tmp_path))],
                           settings=deployment.settings())
    assert (outcome.spot_id, outcome.error) == (run.spot_ids[(1, 0)], None)

    wait_until(lambda: image_statuses(run.url, [outcome.image_id])[0].state != "queued",
               timeout_s=60, what="the sem analysis")
    [status] = image_statuses(run.url, [outcome.image_id])
    assert status.state == "done" and status.count > 50
