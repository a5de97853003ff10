"""The commands in-process (``main(argv)`` with captured output), on hand-built records."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from core.cli import COMMAND_MODULES, build_parser, load_commands, main
from core.cli.command import Command
from core.io.traces import read_trace, read_truth, write_trace
from core.traces import Trace


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


# ---------------------------------------------------------------------------------------
# analyse galvanostatic on curves the simulator does not make
# ---------------------------------------------------------------------------------------


def _dip_curve(sample_s: float, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Exponential fall after contact, a Gaussian dip at 4 s, then a flat plateau."""
    t = np.arange(0.0, duration_s, sample_s)
    e = 0.9 * np.exp(-t / 0.4) - 0.02 - 0.08 * np.exp(-(((t - 4.0) / 0.9) ** 2))
    return t, e


def test_galvanostatic_nova_export_in_ms_and_mV(capsys, tmp_path):
    t, e = _dip_curve(0.01, 12.0)
    dense_t = np.linspace(2.0, 6.0, 400_001)
    dense_e = 0.9 * np.exp(-dense_t / 0.4) - 0.02 - 0.08 * np.exp(-(((dense_t - 4.0) / 0.9) ** 2))
    true_t, true_e = dense_t[np.argmin(dense_e)], dense_e.min()
    rows = "\n".join(
        f"{a!r};{b!r};-0,5" for a, b in zip((1e3 * t).tolist(), (1e3 * e).tolist(), strict=True)
    )
    path = tmp_path / "nova.txt"
    path.write_text(f"Time (ms);WE(1).Potential (mV);WE(1).Current (nA)\n{rows}\n")

    status, out, err = run(capsys, "analyse", "galvanostatic", path, "--current-density", "0.5",
                           "--json")  # fmt: skip
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["nucleated"] is True
    assert report["e_nuc_V"] == pytest.approx(true_e, abs=1e-3)
    assert report["t_nuc_s"] == pytest.approx(true_t, rel=0.02)
    assert report["q_nuc_uAh_cm2"] == pytest.approx(0.5 * report["t_nuc_s"] / 3.6)
    assert report["e_growth_V"] == pytest.approx(-0.02, abs=1e-3)
    assert report["duration_s"] == pytest.approx(t[-1])


def test_never_nucleated_gives_nulls_and_says_so(capsys, tmp_path):
    t = np.arange(0.0, 5.0, 0.005)
    e = 0.9 * np.exp(-t / 2.0) + 0.05  # still falling when the run ends: no minimum
    path = write_trace(tmp_path / "low_j.csv", Trace(t, e, np.full(t.size, -1e-10)))

    status, out, _ = run(capsys, "analyse", "galvanostatic", path, "--current-density", "0.1",
                         "--json")  # fmt: skip
    assert status == 0
    assert out.count("\n") == 1 and "NaN" not in out
    report = json.loads(out)
    assert report["nucleated"] is False
    assert [report[k] for k in ("e_nuc_V", "t_nuc_s", "q_nuc_uAh_cm2", "e_growth_V")] == [None] * 4

    status, out, _ = run(capsys, "analyse", "galvanostatic", path, "--current-density", "0.1")
    assert status == 0
    assert out.splitlines()[1].startswith("  no nucleation reached")


def test_potential_only_file_is_enough_for_galvanostatic(capsys, tmp_path):
    t, e = _dip_curve(0.005, 10.0)
    path = tmp_path / "e_t.csv"
    rows = "\n".join(f"{a!r},{b!r}" for a, b in zip(t.tolist(), e.tolist(), strict=True))
    path.write_text("t/s,Ewe/V\n" + rows)
    status, out, _ = run(capsys, "analyse", "galvanostatic", path, "--current-density", "1")
    assert status == 0 and "E_nuc" in out
    status, _, err = run(capsys, "analyse", "cv", path)
    assert status == 2
    assert err.startswith(f"error: {path}: no current column; found columns 't/s', 'Ewe/V'")


def test_too_short_record_is_reported_not_raised(capsys, tmp_path):
    path = write_trace(tmp_path / "short.csv", Trace(np.arange(3.0), np.zeros(3), np.zeros(3)))
    status, out, err = run(capsys, "analyse", "galvanostatic", path, "--current-density", "1")
    assert (status, out) == (2, "")
    assert err.startswith(f"error: {path}: cannot analyse: ") and err.count("\n") == 1


# ---------------------------------------------------------------------------------------
# analyse cv on an analytic voltammogram
# ---------------------------------------------------------------------------------------


def _analytic_cv(cycles: int, cathodic_nA: float, anodic_nA: float):
    """Triangle 1.0 → -0.2 → 1.0 V at 0.1 V/s; half-sine currents on each sweep.

    Each sweep lasts T = 12 s, so Q_c = 2·A·T/π and Q_a = 2·B·T/π per cycle.
    """
    sweep_s, dt = 12.0, 0.004
    t = np.arange(0.0, 2 * sweep_s * cycles + dt / 2, dt)
    phase = np.mod(t, 2 * sweep_s)
    cathodic = phase < sweep_s
    potential = np.where(cathodic, 1.0 - 0.1 * phase, -0.2 + 0.1 * (phase - sweep_s))
    shape = np.sin(np.pi * np.mod(phase, sweep_s) / sweep_s)
    current = np.where(cathodic, -cathodic_nA, anodic_nA) * 1e-9 * shape
    q = 2 * sweep_s / np.pi * 1e-9
    return t, potential, current, cathodic_nA * q, anodic_nA * q


def test_cv_of_an_analytic_voltammogram_in_semicolon_decimal_comma_nA(capsys, tmp_path):
    t, e, i, q_c, q_a = _analytic_cv(2, cathodic_nA=3.0, anodic_nA=2.4)
    path = tmp_path / "cv.csv"
    rows = [
        f"{a:.6f};{b:.6f};{c * 1e9:.9f}".replace(".", ",") for a, b, c in zip(t, e, i, strict=True)
    ]
    path.write_text("Time (s);E (V);I (nA)\n" + "\n".join(rows) + "\n")

    status, out, _ = run(capsys, "analyse", "cv", path, "--json")
    assert status == 0
    cycles = json.loads(out)["cycles"]
    assert [c["cycle"] for c in cycles] == [1, 2]
    for cycle in cycles:
        assert cycle["q_c_C"] == pytest.approx(q_c, rel=1e-4)
        assert cycle["q_a_C"] == pytest.approx(q_a, rel=1e-4)
        assert cycle["ce"] == pytest.approx(0.8, abs=1e-4)

    status, out, _ = run(capsys, "analyse", "cv", path)
    lines = out.splitlines()
    assert lines[1].split() == ["cycle", "Q_c", "(nC)", "Q_a", "(nC)", "CE"]
    assert lines[2].split() == ["1", f"{q_c * 1e9:.3f}", f"{q_a * 1e9:.3f}", "0.800"]


def test_cathodic_positive_instrument_convention(capsys, tmp_path):
    t, e, i, q_c, _ = _analytic_cv(1, cathodic_nA=2.0, anodic_nA=1.0)
    path = write_trace(tmp_path / "flipped.csv", Trace(t, e, -i))
    status, out, _ = run(capsys, "analyse", "cv", path, "--cathodic-positive", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["cathodic_current_negative"] is False
    assert report["cycles"][0]["q_c_C"] == pytest.approx(q_c, rel=1e-4)
    assert report["cycles"][0]["ce"] == pytest.approx(0.5, abs=1e-4)


# ---------------------------------------------------------------------------------------
# simulate
# ---------------------------------------------------------------------------------------


def test_simulate_is_reproducible_and_keeps_the_answers_out_of_the_trace(capsys, tmp_path):
    paths = [tmp_path / "a" / "spot.csv", tmp_path / "b" / "spot.csv"]  # folders are created
    for path in paths:
        status, out, _ = run(
            capsys, "simulate", "galvanostatic", "--current-density", "1.5", "--duration", "2",
            "--seed", "9", "--noise-mv", "0", "--out", path,
        )  # fmt: skip
        assert (status, out) == (0, f"{path}\n")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    truth = read_truth(paths[0])
    assert truth["noise_V"] == 0.0 and truth["seed"] == 9
    assert truth["current_density_mA_cm2"] == 1.5 and truth["footprint_diameter_um"] == 6.0
    text = paths[0].read_text()
    assert "e_nuc_V" not in text and "t_nuc_s" not in text
    trace = read_trace(paths[0])
    assert trace.time_s[-1] == pytest.approx(2.0, abs=3e-3)
    assert np.all(trace.current_A == truth["current_A"])


def test_simulate_cv_options_reach_the_simulator(capsys, tmp_path):
    path = tmp_path / "cv.csv"
    status, _, _ = run(capsys, "simulate", "cv", "--cycles", "2", "--upper", "1.2", "--lower",
                       "-0.3", "--scan-rate", "0.2", "--footprint-um", "8", "--seed", "5",
                       "--out", path)  # fmt: skip
    assert status == 0
    trace = read_trace(path)
    assert trace.potential_V.max() == pytest.approx(1.2, abs=0.01)
    assert trace.potential_V.min() == pytest.approx(-0.3, abs=0.01)
    assert trace.time_s[-1] == pytest.approx(2 * 2 * 1.5 / 0.2, abs=0.01)
    truth = read_truth(path)
    assert len(truth["cycles"]) == 2 and truth["seed"] == 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyse", "galvanostatic", "f.csv", "--current-density", "0"],
         "argument --current-density: must be above 0 mA/cm², got 0"),
        (["analyse", "galvanostatic", "f.csv", "--current-density", "nan"],
         "argument --current-density: 'nan' is not a finite number of mA/cm²"),
        (["analyse", "galvanostatic", "f.csv"],
         "the following arguments are required: --current-density"),
        (["simulate", "galvanostatic", "--current-density", "1", "--duration", "0", "--out", "x"],
         "argument --duration: must be above 0 s, got 0"),
        (["simulate", "galvanostatic", "--current-density", "1", "--duration", "five",
          "--out", "x"],
         "argument --duration: 'five' is not a number of s"),
        (["simulate", "galvanostatic", "--current-density", "1", "--duration", "1",
          "--noise-mv", "-2", "--out", "x"],
         "argument --noise-mv: must be 0 mV or more, got -2"),
        (["simulate", "galvanostatic", "--current-density", "1", "--duration", "1e6",
          "--out", "x"],
         "--duration: 1e+06 s of record is 3.89e+08 samples at 2.57 ms; at most 25700 s "
         "(1e+07 samples)"),
        (["simulate", "cv", "--cycles", "0", "--out", "x"],
         "argument --cycles: must be 1 or more, got 0"),
        (["simulate", "cv", "--cycles", "2.5", "--out", "x"],
         "argument --cycles: '2.5' is not a whole number"),
        (["simulate", "cv", "--seed", "-1", "--out", "x"],
         "argument --seed: must be 0 or more, got -1"),
        (["simulate", "cv", "--upper", "-0.5", "--out", "x"],
         "--upper -0.5 V must be above --lower -0.27 V"),
        (["simulate", "cv", "--footprint-um", "-10", "--out", "x"],
         "argument --footprint-um: must be above 0 µm, got -10"),
        (["simulate", "cv"], "the following arguments are required: --out"),
    ],
)  # fmt: skip
def test_bad_option_values_exit_2_with_a_clear_message(capsys, tmp_path, argv, message):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.splitlines()[-1].endswith(f"error: {message}")
    assert not (tmp_path / "x").exists()


def test_impossible_simulation_is_one_line(capsys, tmp_path):
    status, _, err = run(capsys, "simulate", "cv", "--lower", "0.1", "--out", tmp_path / "x.csv")
    assert status == 2
    assert err.startswith("error: cannot simulate: lower_V") and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


# ---------------------------------------------------------------------------------------
# command registration
# ---------------------------------------------------------------------------------------


def test_every_command_module_registers_distinct_commands():
    commands = load_commands()
    # core.cli.users holds a group of 6 commands, core.cli.audit a group of 1
    assert len(commands) == len(COMMAND_MODULES) - 2 + 6 + 1
    paths = [c.path for c in commands]
    assert len(set(paths)) == len(paths)
    assert set(paths) == {
        ("demo",),
        ("analyse", "galvanostatic"),
        ("analyse", "cv"),
        ("simulate", "galvanostatic"),
        ("simulate", "cv"),
        ("analyse", "movie"),
        ("analyse", "sem"),
        ("simulate", "movie"),
        ("simulate", "sem"),
        ("export",),
        ("users", "add"), ("users", "list"), ("users", "set-role"), ("users", "passwd"),
        ("users", "deactivate"), ("users", "token"), ("audit", "prune"),
    }


def test_a_new_command_plugs_in_without_touching_the_others(capsys):
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--format", choices=["csv", "hdf5"], required=True)

    def run_export(args: argparse.Namespace) -> int:
        print(f"exported as {args.format}")
        return 0

    report = Command(("report",), "report", "Report.", add_arguments, run_export)
    eis = Command(("analyse", "eis"), "impedance", "EIS.", lambda p: None, lambda a: 3)
    parser = build_parser([*load_commands(), report, eis])

    args = parser.parse_args(["report", "--format", "csv"])
    assert args.run(args) == 0
    assert capsys.readouterr().out == "exported as csv\n"
    args = parser.parse_args(["analyse", "eis"])
    assert args.run(args) == 3
    args = parser.parse_args(["analyse", "cv", "x.csv"])  # the existing ones are unchanged
    assert args.file.name == "x.csv" and args.cathodic_positive is False
