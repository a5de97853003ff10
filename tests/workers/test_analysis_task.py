"""Spot analysis: results as the core functions give them, idempotent, versioned, pluggable."""

from __future__ import annotations

import math
import threading
from dataclasses import asdict

import numpy as np
import pytest
from sqlalchemy import select

from core.analysis.cv import analyse_cv
from core.analysis.galvanostatic import analyse_galvanostatic
from core.grid import grid_from_mapping
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Analysis
from core.storage.spot_files import read_spot_file
from tests.workers.harness import grid_mapping, sites, spot_table, submit_direct
from workers.analysis_task import (
    ANALYSES,
    Outcome,
    SpotAnalysis,
    SpotAnalysisError,
    analyse_spot,
    json_safe,
    register_analysis,
    spots_awaiting_analysis,
)
from workers.engine import AcquisitionEngine
from workers.instruments.sim import SimFaults, SimInstrument, site_key

CV = {"technique": "cv", "upper_V": 1.0, "lower_V": -0.2, "scan_rate_V_s": 1.0, "cycles": 2}
PLATING = {"technique": "galvanostatic", "current_density_mA_cm2": 2.92, "duration_s": 2.0}


#: JSON storage, versions and the race between workers run on PostgreSQL too
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def measured(database_url, tmp_path):
    """A run of 1×3 spots measured on the twin: plating, CV, and a spot without contact."""
    ledger = Ledger(database_url)
    grid = grid_from_mapping({**grid_mapping(rows=1, cols=3), "conditions": [PLATING, CV, PLATING]})
    no_contact = SimFaults(no_contact_sites=frozenset({site_key(*sites(grid)[2])}))
    run_id = submit_direct(ledger, grid)
    AcquisitionEngine(ledger, SimInstrument(speed=math.inf, faults=no_contact),
                      data_dir=tmp_path, holder="test").run(run_id)
    table = spot_table(database_url, run_id)
    assert [row["state"] for row in table] == ["done", "done", "no_contact"]
    return database_url, tmp_path, run_id, table


def _rows(url, spot_id, kind):
    with session_scope(url) as session:
        return session.scalars(
            select(Analysis).where(Analysis.spot_id == spot_id, Analysis.kind == kind)
            .order_by(Analysis.version)
        ).all()


def test_galvanostatic_results_are_those_of_the_core_analysis(measured):
    url, data_dir, _run_id, table = measured
    spot = table[0]
    assert analyse_spot(url, data_dir, spot["id"]) == [Outcome("galvanostatic", 1, True)]

    trace = read_spot_file(data_dir / spot["path"]).trace
    expected = asdict(analyse_galvanostatic(trace.time_s, trace.potential_V,
                                            current_density_mA_cm2=2.92))
    [row] = _rows(url, spot["id"], "galvanostatic")
    assert row.results == json_safe(expected)
    assert row.results["nucleated"] is True
    assert row.parameters["smoothing_s"] == 0.05  # every option stored, defaults included
    assert "current_density_mA_cm2" not in row.parameters  # that one comes from the spot


@sqlite_only
def test_cv_results_are_those_of_the_core_analysis(measured):
    url, data_dir, _run_id, table = measured
    spot = table[1]
    assert analyse_spot(url, data_dir, spot["id"]) == [Outcome("cv", 1, True)]
    trace = read_spot_file(data_dir / spot["path"]).trace
    expected = analyse_cv(trace.time_s, trace.potential_V, trace.current_A)
    [row] = _rows(url, spot["id"], "cv")
    assert len(row.results["cycles"]) == 2
    np.testing.assert_allclose([c["ce"] for c in row.results["cycles"]],
                               [c.ce for c in expected.cycles])


def test_the_same_parameters_add_no_version_and_new_ones_add_one_keeping_the_old(measured):
    url, data_dir, _run_id, table = measured
    spot_id = table[0]["id"]
    assert analyse_spot(url, data_dir, spot_id) == [Outcome("galvanostatic", 1, True)]
    assert analyse_spot(url, data_dir, spot_id) == [Outcome("galvanostatic", 1, False)]
    assert analyse_spot(url, data_dir, spot_id, {"smoothing_s": 0.05}) == [
        Outcome("galvanostatic", 1, False)]  # spelling out a default changes nothing

    assert analyse_spot(url, data_dir, spot_id, {"smoothing_s": 0.1}) == [
        Outcome("galvanostatic", 2, True)]
    assert analyse_spot(url, data_dir, spot_id, {"smoothing_s": 0.1}) == [
        Outcome("galvanostatic", 2, False)]
    # back to the defaults: the latest version differs from them, so a third version
    assert analyse_spot(url, data_dir, spot_id) == [Outcome("galvanostatic", 3, True)]

    rows = _rows(url, spot_id, "galvanostatic")
    assert [(row.version, row.parameters["smoothing_s"]) for row in rows] == [
        (1, 0.05), (2, 0.1), (3, 0.05)]
    assert rows[0].results == rows[2].results
    assert all(row.software_version == "0.1.0" for row in rows)


def test_two_workers_analysing_one_spot_at_once_add_one_version(measured):
    url, data_dir, _run_id, table = measured
    spot_id = table[0]["id"]
    start = threading.Barrier(2)
    outcomes = []

    def worker():
        start.wait()
        outcomes.extend(analyse_spot(url, data_dir, spot_id, {"settle_s": 0.1}))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=lambda o: o.created) == [
        Outcome("galvanostatic", 1, False), Outcome("galvanostatic", 1, True)], outcomes
    assert len(_rows(url, spot_id, "galvanostatic")) == 1


@sqlite_only
def test_unknown_options_and_inapplicable_kinds_are_refused(measured):
    url, data_dir, _run_id, table = measured
    with pytest.raises(SpotAnalysisError, match=r"galvanostatic analysis has no options "
                                                r"\['smoothing'\]; it accepts \["):
        analyse_spot(url, data_dir, table[0]["id"], {"smoothing": 0.1})
    with pytest.raises(SpotAnalysisError, match=f"spot {table[0]['id']}: cv analysis does not "
                                                f"apply to a galvanostatic measurement"):
        analyse_spot(url, data_dir, table[0]["id"], kind="cv")
    with pytest.raises(SpotAnalysisError, match=r"analysis kind 'movie' is not one of"):
        analyse_spot(url, data_dir, table[0]["id"], kind="movie")
    assert _rows(url, table[0]["id"], "galvanostatic") == []


@sqlite_only
def test_a_spot_without_data_or_with_a_changed_file_is_not_analysed(measured):
    url, data_dir, run_id, table = measured
    no_contact = table[2]
    with pytest.raises(SpotAnalysisError, match=(
            f"spot {no_contact['id']} \\(run {run_id}, order 2\\) has no committed measurement "
            f"\\(state no_contact\\)")):
        analyse_spot(url, data_dir, no_contact["id"])

    path = data_dir / table[0]["path"]
    with open(path, "r+b") as stream:  # one byte changed after the commit
        stream.seek(-1, 2)
        last = stream.read(1)
        stream.seek(-1, 2)
        stream.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(SpotAnalysisError, match="does not match the ledger's"):
        analyse_spot(url, data_dir, table[0]["id"])
    path.unlink()
    with pytest.raises(SpotAnalysisError, match=f"the data file of spot {table[0]['id']} is"):
        analyse_spot(url, data_dir, table[0]["id"])


@sqlite_only
def test_a_registered_kind_runs_beside_the_builtin_one(measured, monkeypatch):
    url, data_dir, run_id, table = measured

    def count(record, spot, options):
        return {"samples": len(record.trace), "scale": options["scale"], "order": spot.order,
                "nan": float("nan")}

    monkeypatch.setitem(ANALYSES, "sample_count", SpotAnalysis(
        kind="sample_count", applies=lambda spot: spot.technique_name == "galvanostatic",
        run=count, defaults={"scale": 1.0}))
    outcomes = analyse_spot(url, data_dir, table[0]["id"])
    assert outcomes == [Outcome("galvanostatic", 1, True), Outcome("sample_count", 1, True)]
    [row] = _rows(url, table[0]["id"], "sample_count")
    n_samples = len(read_spot_file(data_dir / table[0]["path"]).trace)
    assert row.results == {"samples": n_samples, "scale": 1.0, "order": 0, "nan": None}
    # parameters without a kind go to the spot technique's own analysis only
    outcomes = analyse_spot(url, data_dir, table[0]["id"], {"smoothing_s": 0.2})
    assert outcomes == [Outcome("galvanostatic", 2, True), Outcome("sample_count", 1, False)]
    assert spots_awaiting_analysis(url, run_id) == [table[1]["id"]]


@sqlite_only
def test_a_registered_computation_stored_as_two_kinds_runs_once_for_both(measured,
                                                                         monkeypatch):
    from core.analysis import parameters

    url, data_dir, _run_id, table = measured
    calls = []

    def count(record, spot, options):
        calls.append(options)
        return {"sample_count": {"samples": len(record.trace)},
                "sample_values": {"time_s": record.trace.time_s[:3]}}

    monkeypatch.setitem(parameters.COMPANION_KINDS, "sample_count", ("sample_values",))
    monkeypatch.setitem(ANALYSES, "sample_count", SpotAnalysis(
        kind="sample_count", applies=lambda spot: True, run=count, defaults={"scale": 1.0}))
    spot_id = table[0]["id"]
    assert analyse_spot(url, data_dir, spot_id, {"scale": 2.0}, kind="sample_values") == [
        Outcome("sample_count", 1, True), Outcome("sample_values", 1, True)]
    assert calls == [{"scale": 2.0}]  # one computation for the two kinds
    [values] = _rows(url, spot_id, "sample_values")
    assert values.parameters == {"scale": 2.0} and len(values.results["time_s"]) == 3

    monkeypatch.setitem(ANALYSES, "sample_count", SpotAnalysis(
        kind="sample_count", applies=lambda spot: True, defaults={"scale": 1.0},
        run=lambda record, spot, options: {"sample_count": {"samples": 0}}))
    with pytest.raises(SpotAnalysisError, match=r"the sample_count analysis gave no results "
                                                r"for \['sample_values'\]"):
        analyse_spot(url, data_dir, spot_id, {"scale": 3.0}, kind="sample_count")
    assert len(_rows(url, spot_id, "sample_count")) == 1  # nothing half-stored


def test_json_safe_makes_numpy_values_plain_and_non_finite_values_null():
    value = {"a": np.float64(1.5), "b": [np.int64(2), float("inf")], "c": np.array([1.0, np.nan]),
             3: (np.bool_(True), -float("inf"))}
    assert json_safe(value) == {"a": 1.5, "b": [2, None], "c": [1.0, None], "3": [True, None]}


@sqlite_only
def test_filmed_spots_get_the_irm_analyses_once(database_url, tmp_path):
    ledger = Ledger(database_url)
    grid = grid_from_mapping(grid_mapping(rows=1, cols=1, duration_s=6.0, camera=True,
                                          current_density_mA_cm2=0.78))
    run_id = submit_direct(ledger, grid)
    AcquisitionEngine(ledger, SimInstrument(speed=math.inf, pixel_size_nm=80.0),
                      data_dir=tmp_path, holder="test").run(run_id)
    spot = spot_table(database_url, run_id)[0]
    outcomes = analyse_spot(database_url, tmp_path, spot["id"])
    assert [o.kind for o in outcomes] == ["galvanostatic", "irm", "irm_maps"]
    irm = _rows(database_url, spot["id"], "irm")[0].results
    galvanostatic = _rows(database_url, spot["id"], "galvanostatic")[0].results
    # the optical nucleation comes before the electrochemical one (a lagging indicator)
    assert 0 < irm["t_nuc_irm_s"] < galvanostatic["t_nuc_s"]
    assert irm["footprint"]["diameter_um"] == pytest.approx(6.0, rel=0.1)
    assert irm["alpha"]["alpha_per_um3"] > 0  # the record's trace is passed: α is fitted
    assert _rows(database_url, spot["id"], "irm_maps")[0].results["t_nuc_map"]["block_px"] == 7
    again = analyse_spot(database_url, tmp_path, spot["id"])
    assert [o.created for o in again] == [False, False, False]


@sqlite_only
def test_options_beyond_their_limits_are_refused_naming_them(measured):
    url, data_dir, _run_id, table = measured
    with pytest.raises(SpotAnalysisError, match=r"galvanostatic analysis options refused: "
                                                r"fit_depth_fraction = 1.5 must be below 1"):
        analyse_spot(url, data_dir, table[0]["id"], {"fit_depth_fraction": 1.5})
    with pytest.raises(SpotAnalysisError, match=r"cv analysis options refused: "
                                                r"min_amplitude_V = -0.1 V must be above 0 V"):
        analyse_spot(url, data_dir, table[1]["id"], {"min_amplitude_V": -0.1})
    assert _rows(url, table[0]["id"], "galvanostatic") == []
    # a CV filmed by no camera gets no CE(IRM) kinds
    assert [o.kind for o in analyse_spot(url, data_dir, table[1]["id"])] == ["cv"]


@sqlite_only
def test_a_filmed_cv_gets_ce_irm_maps_and_a_rerun_with_new_options_adds_versions(
        database_url, tmp_path):
    from core.simulate.cv import simulate_cv
    from core.simulate.movie_cv import simulate_irm_cv_movie
    from core.storage.spot_files import SpotMovie, write_spot_file

    cv = simulate_cv(cycles=3, footprint_diameter_um=3.0, seed=2)
    film = simulate_irm_cv_movie(cv=cv, footprint_diameter_um=3.0, shape=(90, 90), seed=2)
    landing = film.truth["landing_frame"]
    ledger = Ledger(database_url)
    ledger.ensure_instrument("sim")
    run_id = ledger.submit_run(instrument="sim", name="filmed cv", grid={}, grid_hash="0" * 64,
                               spots=[dict(order=0, x_um=0.0, y_um=0.0, condition="CV × 3",
                                           technique={"technique": "cv", "cycles": 3})])
    spot_id = spot_table(database_url, run_id)[0]["id"]
    token = ledger.start_run(run_id, "test")
    ledger.move_spot(run_id, spot_id, "approaching", token)
    ledger.move_spot(run_id, spot_id, "measuring", token)
    digest = write_spot_file(tmp_path / "cv.h5", cv.trace, movie=SpotMovie(
        film.frames, film.times_s - film.times_s[landing], 40.0))
    ledger.commit_measurement(run_id, spot_id, token, path="cv.h5", sha256=digest,
                              n_samples=len(cv.trace), n_frames=len(film.frames))

    outcomes = analyse_spot(database_url, tmp_path, spot_id)
    assert [o.kind for o in outcomes] == ["cv", "ce_irm", "ce_irm_maps"]
    ce_irm = _rows(database_url, spot_id, "ce_irm")[0]
    assert ce_irm.parameters == {"average_s": 0.0, "min_snr": 3.0}
    assert [c["cycle"] for c in ce_irm.results["cycles"]] == [1, 2, 3]
    maps = _rows(database_url, spot_id, "ce_irm_maps")[0].results["maps"]
    assert maps["cycles"] == [1, 2, 3] and len(maps["values"]) == 3
    # asking for either kind runs the one computation and stores both, with the same options
    assert analyse_spot(database_url, tmp_path, spot_id, {"min_snr": 5.0}, kind="ce_irm") == [
        Outcome("ce_irm", 2, True), Outcome("ce_irm_maps", 2, True)]
    assert analyse_spot(database_url, tmp_path, spot_id, {"min_snr": 5.0},
                        kind="ce_irm_maps") == [Outcome("ce_irm", 2, False),
                                                Outcome("ce_irm_maps", 2, False)]
    assert _rows(database_url, spot_id, "ce_irm_maps")[1].parameters == {
        "average_s": 0.0, "min_snr": 5.0}
    stricter = _rows(database_url, spot_id, "ce_irm")[1].results["cycles"]
    assert all(new["masked_fraction"] >= old["masked_fraction"] for new, old in
               zip(stricter, ce_irm.results["cycles"], strict=True))
    with pytest.raises(SpotAnalysisError, match=r"ce_irm analysis options refused: "
                                                r"min_snr = 0 must be above 0"):
        analyse_spot(database_url, tmp_path, spot_id, {"min_snr": 0}, kind="ce_irm_maps")


@sqlite_only
def test_a_stale_companion_kind_alone_is_stored_again(database_url, tmp_path):
    ledger = Ledger(database_url)
    grid = grid_from_mapping(grid_mapping(rows=1, cols=1, duration_s=6.0, camera=True,
                                          current_density_mA_cm2=0.78))
    run_id = submit_direct(ledger, grid)
    AcquisitionEngine(ledger, SimInstrument(speed=math.inf, pixel_size_nm=80.0),
                      data_dir=tmp_path, holder="test").run(run_id)
    spot_id = spot_table(database_url, run_id)[0]["id"]
    analyse_spot(database_url, tmp_path, spot_id, kind="irm")
    with session_scope(database_url) as session:  # as if irm_maps were never stored
        session.delete(session.scalars(select(Analysis).where(
            Analysis.spot_id == spot_id, Analysis.kind == "irm_maps")).one())
    assert analyse_spot(database_url, tmp_path, spot_id, kind="irm") == [
        Outcome("irm", 1, False), Outcome("irm_maps", 1, True)]


def test_companion_kinds_cannot_be_registered_on_their_own():
    with pytest.raises(ValueError, match="'irm_maps' is a companion kind: register 'irm'"):
        register_analysis(SpotAnalysis(kind="irm_maps", applies=lambda spot: True,
                                       run=lambda record, spot, options: {}))
    with pytest.raises(ValueError, match="must have 1 to 32 characters"):
        register_analysis(SpotAnalysis(kind="k" * 33, applies=lambda spot: True,
                                       run=lambda record, spot, options: {}))
    assert "irm_maps" not in ANALYSES and "k" * 33 not in ANALYSES
