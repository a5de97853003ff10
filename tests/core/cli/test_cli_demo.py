"""``python -m core demo`` and the CV round trip, as subprocesses (the slowest CLI checks)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.io.traces import read_truth


def test_cv_round_trip(run_cli, tmp_path):
    path = tmp_path / "cv.csv"
    simulated = run_cli("simulate", "cv", "--cycles", "3", "--seed", "2", "--out", path)
    assert simulated.returncode == 0, simulated.stderr
    analysed = run_cli("analyse", "cv", path, "--json")
    assert analysed.returncode == 0, analysed.stderr
    report = json.loads(analysed.stdout)
    truth = read_truth(path)["cycles"]
    assert [c["cycle"] for c in report["cycles"]] == [1, 2, 3]
    for got, true in zip(report["cycles"], truth, strict=True):
        assert got["q_c_C"] == pytest.approx(true["q_c_C"], rel=0.01)
        assert got["q_a_C"] == pytest.approx(true["q_a_C"], rel=0.01)
        assert got["ce"] == pytest.approx(true["ce"], abs=0.01)


@pytest.mark.slow
def test_demo_writes_files_and_compares_with_table_1(run_cli, tmp_path):
    done = run_cli("demo", "--out", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("each cell: analysed / article Table 1" in line for line in lines)
    for j, article_e_nuc in (("0.20", "-0.058"), ("0.78", "-0.135"), ("3.82", "-0.292")):
        row = next(line.split() for line in lines if line.strip().startswith(j))
        assert row[3:5] == ["/", article_e_nuc]  # "E_nuc: analysed / article"
        assert abs(float(row[2]) - float(article_e_nuc)) < 0.02

    header = next(k for k, line in enumerate(lines) if line.split()[:1] == ["cycle"])
    assert lines[header].split() == ["cycle", "Q_c", "(nC)", "Q_a", "(nC)", "CE", "article", "CE"]
    ce = [float(row.split()[3]) for row in lines[header + 1 : header + 11]]
    assert [int(row.split()[0]) for row in lines[header + 1 : header + 11]] == list(range(1, 11))
    assert ce[0] == pytest.approx(0.25, abs=0.03)
    assert ce[-1] == pytest.approx(0.85, abs=0.03)
    assert np.all(np.diff(ce) > 0)

    written = sorted(p.name for p in (tmp_path / "demo").iterdir())
    stems = [
        "cv_10_cycles",
        "galvanostatic_0.20mA_cm2_60s",
        "galvanostatic_0.78mA_cm2_15s",
        "galvanostatic_3.82mA_cm2_3s",
    ]
    assert written == sorted([f"{s}.csv" for s in stems] + [f"{s}.csv.truth.json" for s in stems])
