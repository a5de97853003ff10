"""``python -m core`` run as a user runs it: a subprocess, end to end.

Only the checks that need a real process live here (exit status, exactly what reaches stdout
and stderr, no traceback); the rest run in-process in test_commands.py. The demo and the CV
round trip are in test_cli_demo.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.io.traces import read_truth


def test_help_lists_commands_and_examples(run_cli):
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    for text in ("demo", "analyse", "simulate", "examples:", "time_s,potential_V,current_A"):
        assert text in done.stdout


@pytest.fixture(scope="module")
def simulated_spot(run_cli, tmp_path_factory) -> Path:
    """One simulated landing at 0.78 mA/cm², written by the `simulate` command."""
    path = tmp_path_factory.mktemp("cli") / "spot.csv"
    done = run_cli(
        "simulate", "galvanostatic", "--current-density", "0.78", "--duration", "15",
        "--footprint-um", "10", "--seed", "4", "--noise-mv", "1", "--out", path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{path}\n"
    return path


def test_simulate_then_analyse_json_matches_the_truth(run_cli, simulated_spot):
    path = simulated_spot
    truth = read_truth(path)
    assert truth["seed"] == 4 and truth["noise_V"] == pytest.approx(1e-3)

    analysed = run_cli("analyse", "galvanostatic", path, "--current-density", "0.78", "--json")
    assert analysed.returncode == 0, analysed.stderr
    assert analysed.stderr == ""
    report = json.loads(analysed.stdout)  # the whole of stdout is one JSON object
    assert report["nucleated"] is truth["nucleated"] is True
    assert abs(report["e_nuc_V"] - truth["e_nuc_V"]) < 3e-3
    assert report["t_nuc_s"] == pytest.approx(truth["t_nuc_s"], rel=0.03)
    assert report["q_nuc_uAh_cm2"] == pytest.approx(0.78 * report["t_nuc_s"] / 3.6, rel=1e-12)
    assert abs(report["e_growth_V"] - truth["e_growth_V"]) < 3e-3
    assert report["file"] == str(path) and report["samples"] == 5837


def test_human_table(run_cli, simulated_spot):
    path = simulated_spot
    done = run_cli("analyse", "galvanostatic", path, "--current-density", "0.78")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{path}: galvanostatic, j = 0.78 mA/cm², 5837 samples over 14.999 s"
    assert lines[1].split() == ["quantity", "value", "unit"]
    assert [line.split()[0] for line in lines[2:]] == ["E_nuc", "t_nuc", "Q_nuc", "E_growth"]
    assert [line.split()[2] for line in lines[2:]] == ["V", "s", "µAh/cm²", "V"]
    truth = read_truth(path)
    assert abs(float(lines[2].split()[1]) - truth["e_nuc_V"]) < 3e-3
    assert float(lines[3].split()[1]) == pytest.approx(truth["t_nuc_s"], rel=0.03)


BAD_FILES = {
    "missing column": (
        "Time (s),Current (A)\n0,1\n",
        "no potential column; found columns 'Time (s)', 'Current (A)'",
    ),
    "text in numbers": (
        "time_s,potential_V,current_A\n0,0.1,0\n0.1,abc,0\n",
        "line 3, column 'potential_V': 'abc' is not a number",
    ),
    "empty": ("", "empty file"),
    "header only": ("time_s,potential_V,current_A\n", "header row but no data rows"),
    "time not increasing": (
        "time_s,potential_V,current_A\n0,0.1,0\n1,0.1,0\n0.5,0.1,0\n",
        "time does not strictly increase: column 'time_s' goes from 1 (line 3) to 0.5 (line 4)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_exits_2_with_one_line(run_cli, tmp_path, case):
    text, problem = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    done = run_cli("analyse", "galvanostatic", path, "--current-density", "1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {path}: {problem}")


def test_missing_file_and_bad_option(run_cli, tmp_path):
    missing = run_cli("analyse", "cv", tmp_path / "nope.csv", "--json")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == f"error: {tmp_path / 'nope.csv'}: file not found\n"

    negative = run_cli(
        "simulate", "galvanostatic", "--current-density", "-1", "--duration", "5",
        "--out", tmp_path / "x.csv",
    )  # fmt: skip
    assert negative.returncode == 2 and "Traceback" not in negative.stderr
    assert negative.stderr.splitlines()[-1] == (
        "python -m core simulate galvanostatic: error: argument --current-density: "
        "must be above 0 mA/cm², got -1"
    )
    assert not (tmp_path / "x.csv").exists()
