import csv
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from core.auth.roles import Actor, Role
from core.export import TEXT_COLUMNS, export_csv, export_hdf5
from core.results.metrics import METRICS
from core.results.spot_table import REVIEW_COLUMNS, SPOT_COLUMNS, spot_table_csv
from core.review.exclusions import exclude_spot
from core.review.flags import flag_spot
from core.simulate.galvanostatic import simulate_galvanostatic
from core.storage.db import session_scope
from core.storage.ledger import Ledger, UnknownRun
from core.storage.models import Analysis
from core.storage.spot_files import SpotMovie, write_spot_file

ROOT = Path(__file__).resolve().parents[2]


def _measured_run(url, data_dir):
    """Two galvanostatic spots (one measured and analysed, one without contact)."""
    ledger = Ledger(url)
    ledger.ensure_instrument("sim")
    spots = [dict(order=i, index=i, row=0, col=i, x_um=11.0 * i, y_um=0.0, condition="0.78",
                  technique={"technique": "galvanostatic"}, current_density_mA_cm2=0.78,
                  duration_s=6.0) for i in range(2)]
    run = ledger.submit_run(instrument="sim", name="export test", grid={"rows": 1},
                            grid_hash="a" * 64, spots=spots)
    token = ledger.start_run(run, holder="test")
    first = ledger.next_pending_spot(run)
    ledger.move_spot(run, first.id, "approaching", token)
    ledger.move_spot(run, first.id, "measuring", token)
    trace = simulate_galvanostatic(0.78, 6.0, seed=3).trace
    movie = SpotMovie(np.arange(4 * 8 * 8, dtype=np.uint16).reshape(4, 8, 8),
                      np.array([-0.2, 0.0, 0.23, 0.47]), 40.0)
    digest = write_spot_file(data_dir / "s0.h5", trace, movie=movie)
    ledger.commit_measurement(run, first.id, token, path="s0.h5", sha256=digest,
                              n_samples=len(trace), n_frames=4)
    second = ledger.next_pending_spot(run)
    ledger.move_spot(run, second.id, "approaching", token)
    ledger.move_spot(run, second.id, "no_contact", token)
    ledger.finish_run(run, "completed", token)
    with session_scope(url) as session:
        for version, e_nuc in ((1, -0.2), (2, -0.135)):
            session.add(Analysis(spot_id=first.id, kind="galvanostatic", version=version,
                                 software_version="t", results={
                                     "nucleated": True, "e_nuc_V": e_nuc, "t_nuc_s": 3.8,
                                     "q_nuc_uAh_cm2": 0.82, "e_growth_V": -0.02}))
    return run, first.id


def _review(url, spot_id):
    """The measured spot excluded and flagged by an admin (the review columns' values)."""
    admin = Actor("ada", Role.ADMIN)
    exclude_spot(url, admin, spot_id, "bubble in the meniscus")
    flag_spot(url, admin, spot_id, "other")
    flag_spot(url, admin, spot_id, "off_centre")


def test_the_csv_is_the_spot_table_with_the_latest_values_and_the_review(database_url,
                                                                           tmp_path):
    run, spot_id = _measured_run(database_url, tmp_path)
    _review(database_url, spot_id)
    path = export_csv(database_url, run, tmp_path / "out.csv")
    assert path.read_text(encoding="utf-8") == spot_table_csv(database_url, run)
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS]
    assert rows[0]["spot_id"] == str(spot_id)
    assert (rows[0]["state"], rows[1]["state"]) == ("done", "no_contact")
    assert float(rows[0]["e_nuc_V"]) == -0.135  # the latest version wins
    assert rows[1]["e_nuc_V"] == "" and rows[0]["ce"] == ""
    assert [(r["excluded"], r["exclusion_reason"], r["flags"]) for r in rows] == [
        ("True", "bubble in the meniscus", "off_centre;other"), ("False", "", "")]
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary file left beside it


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hdf5_bundle_holds_table_grid_traces_and_movies(database_url, tmp_path):
    run, spot_id = _measured_run(database_url, tmp_path)
    _review(database_url, spot_id)
    path = export_hdf5(database_url, run, tmp_path / "run.h5", data_dir=tmp_path)
    with h5py.File(path) as bundle:
        assert bundle.attrs["run_name"] == "export test"
        assert json.loads(bundle.attrs["grid_json"]) == {"rows": 1}
        columns = json.loads(bundle["spots"].attrs["columns"])
        assert columns == [*SPOT_COLUMNS, *METRICS, *REVIEW_COLUMNS]
        assert sorted(bundle["spots"]) == sorted(columns) and set(TEXT_COLUMNS) <= set(columns)
        assert list(bundle["spots/state"].asstr()[()]) == ["done", "no_contact"]
        np.testing.assert_allclose(bundle["spots/e_nuc_V"][()], [-0.135, np.nan])
        assert list(bundle["spots/excluded"][()]) == [True, False]
        assert list(bundle["spots/exclusion_reason"].asstr()[()]) == [
            "bubble in the meniscus", ""]
        assert list(bundle["spots/flags"].asstr()[()]) == ["off_centre;other", ""]
        spot = bundle["spot_00000"].attrs
        assert (bool(spot["excluded"]), spot["exclusion_reason"], spot["flags"]) == (
            True, "bubble in the meniscus", "off_centre;other")
        assert bundle["spot_00000/movie/frames"].shape == (4, 8, 8)
        assert bundle["spot_00000/trace/potential_V"].shape == (2335,)
        analysis = json.loads(bundle["spot_00000"].attrs["analysis_galvanostatic"])
        assert analysis["version"] == 2
    small = export_hdf5(database_url, run, tmp_path / "small.h5", data_dir=tmp_path,
                        include_movies=False)
    with h5py.File(small) as bundle:
        assert "movie" not in bundle["spot_00000"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_run_leaves_no_file(database_url, tmp_path):
    with pytest.raises(UnknownRun, match="run 99 does not exist"):
        export_hdf5(database_url, 99, tmp_path / "x.h5", data_dir=tmp_path)
    assert not list(tmp_path.glob("*.h5*"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_command_line_export(database_url, tmp_path):
    run, _ = _measured_run(database_url, tmp_path)
    env = {"MENISCUS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "core", "export", str(run), "--format", "csv",
                           "--out", str(tmp_path / "cli.csv")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "cli.csv")
    missing = subprocess.run([sys.executable, "-m", "core", "export", "42", "--format", "csv"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == ["error: run 42 does not exist"]
