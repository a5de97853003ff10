"""``python -m workers`` in-process: grid rejection, busy instrument, status, steering errors.

(Runs with real worker processes are in test_reliability.py.)
"""

from __future__ import annotations

import json

import pytest
import yaml

from core.grid import grid_from_mapping
from core.storage.db import upgrade_database
from core.storage.ledger import Ledger
from tests.workers.harness import grid_mapping, submit_direct
from workers.cli import main
from workers.submit import list_runs

GALVANOSTATIC = {"technique": "galvanostatic", "current_density_mA_cm2": 0.78,
                 "duration_s": 0.5, "repeats": 6}

INVALID_GRIDS = {
    "pitch": (
        grid_mapping(pitch_um=5.0),
        ["pitch 5.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin"],
    ),
    "current": (
        grid_mapping(conditions=[{**GALVANOSTATIC, "current_density_mA_cm2": 500.0}]),
        ["conditions[0] (500 mA/cm² × 0.5 s): current density 500 mA/cm² gives 141 nA over "
         "the 6.0 µm footprint, beyond the galvanostat's ±10 nA range"],
    ),
    "typo": (
        {**grid_mapping(), "pitch_umm": 11.0},
        ["unknown key 'pitch_umm' in grid (did you mean 'pitch_um'?)"],
    ),
    "negative": (
        grid_mapping(conditions=[{**GALVANOSTATIC, "duration_s": -1}]),
        ["conditions[0].duration_s is -1 s; it must be greater than 0 s"],
    ),
    "several": (
        grid_mapping(retract_um=0.5, approach_speed_um_s=50.0, conditions=[
            {"technique": "cv", "upper_V": 5.0, "lower_V": -0.2, "scan_rate_V_s": 1.0,
             "repeats": 6}]),
        ["retract 0.5 µm is less than 3.0 µm (0.5 × the 6.0 µm footprint) needed to lift the "
         "meniscus clear",
         "approach speed 50 µm/s is above the 10 µm/s at which the contact stop is safe",
         "conditions[0] (CV -0.2 to 5 V at 1000 mV/s × 1): upper_V 5 V is outside the "
         "electrochemical window -1 to 3 V vs Li/Li+"],
    ),
    "not_yaml": (
        "name: [unclosed\n",
        ["not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1"],
    ),
}


@pytest.fixture
def data_dir(clean_environment, tmp_path):
    folder = tmp_path / "data"
    clean_environment.setenv("MENISCUS_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def ledger(data_dir):
    url = f"sqlite:///{data_dir / 'meniscus.db'}"
    upgrade_database(url)
    return Ledger(url)


def _grid_file(folder, name, data):
    path = folder / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize("case", sorted(INVALID_GRIDS))
def test_an_invalid_grid_is_refused_with_every_problem_and_nothing_happens(
    case, data_dir, tmp_path, capsys
):
    data, problems = INVALID_GRIDS[case]
    path = _grid_file(tmp_path, case, data)
    assert main(["submit", str(path), "--speed", "inf"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        *(f"{path}: {problem}" for problem in problems),
        f"{path}: {len(problems)} problem(s); nothing was submitted",
    ]
    assert not data_dir.exists()  # no database, no broker message, no worker, no spot file


def test_a_busy_instrument_is_refused_with_exit_3(ledger, data_dir, tmp_path, capsys):
    holder = submit_direct(ledger, grid_from_mapping(grid_mapping()))
    path = _grid_file(tmp_path, "grid", grid_mapping())
    assert main(["submit", str(path)]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: instrument 'sim' is busy with run {holder}; abort it or wait\n"
    assert [run["id"] for run in list_runs()] == [holder]
    assert not (data_dir / "broker").exists()  # no message sent, no worker started


def test_an_unknown_instrument_is_refused(ledger, tmp_path, capsys):
    path = _grid_file(tmp_path, "grid", grid_mapping())
    assert main(["submit", str(path), "--instrument", "rig9"]) == 1
    assert capsys.readouterr().err == (
        "error: instrument 'rig9' is not registered (known: [])\n")


@pytest.mark.parametrize("speed", ["0", "-2", "fast"])
def test_a_speed_must_be_a_positive_number(speed, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["submit", "grid.yaml", "--speed", speed])
    assert stop.value.code == 2
    assert "argument --speed" in capsys.readouterr().err


def test_status_lists_runs_and_reads_one_runs_progress(ledger, capsys):
    first = submit_direct(ledger, grid_from_mapping(grid_mapping(name="first")))
    ledger.request_abort(first)
    second = submit_direct(ledger, grid_from_mapping(grid_mapping(name="second")))

    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "state", "instrument", "spots", "operator", "created",
                                "name"]
    assert lines[1].split()[:5] == [str(second), "queued", "sim", "0/6", "test"]
    assert lines[1].endswith("second")
    assert lines[2].split()[:4] == [str(first), "aborted", "sim", "6/6"]

    assert main(["status", str(first), "--json"]) == 0
    progress = json.loads(capsys.readouterr().out)
    assert progress["state"] == "aborted"
    assert (progress["total"], progress["finished"]) == (6, 6)
    assert progress["by_state"] == {"skipped": 6}
    assert progress["speed"] is None  # inf: JSON has no infinity

    assert main(["status", str(second)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"run {second}: second on sim (operator test, speed inf)",
        "state queued: 0/6 spots accounted for (pending 6)",
    ]


def test_steering_commands_refuse_runs_in_the_wrong_state(ledger, capsys):
    run_id = submit_direct(ledger, grid_from_mapping(grid_mapping()))
    assert main(["pause", str(run_id)]) == 1
    assert capsys.readouterr().err == (
        f"error: run {run_id} is queued; only an active run can pause\n")
    assert main(["resume", str(run_id)]) == 1
    assert capsys.readouterr().err == (
        f"error: run {run_id} is queued; only a paused or interrupted run can resume\n")

    assert main(["abort", str(run_id)]) == 0  # a queued run is aborted at once
    assert capsys.readouterr().err == f"run {run_id} aborted\n"
    assert main(["abort", str(run_id), "--now"]) == 1
    assert capsys.readouterr().err == f"error: run {run_id} has already ended (aborted)\n"
    assert main(["status", "99"]) == 1
    assert capsys.readouterr().err == "error: run 99 does not exist\n"
    assert main(["analyse", str(run_id)]) == 0
    assert capsys.readouterr().err == f"run {run_id}: analysis queued for 0 spot(s)\n"
