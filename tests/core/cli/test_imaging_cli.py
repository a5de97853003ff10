"""``analyse movie``, ``analyse sem``, ``simulate movie`` and ``simulate sem``.

A few round trips run as subprocesses, as a user runs them (exit status, exactly what reaches
stdout and stderr); the rest run in-process through ``main(argv)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image
from scipy import ndimage

from core.cli import load_commands, main
from core.errors import ImageFileError
from core.io.image_writers import write_ome_tiff
from core.io.traces import read_truth, write_trace
from core.traces import Trace
from tests.core.io.instrument_files import (
    cut_file,
    write_camera_tiff,
    write_frame_times_csv,
    write_tiff_claiming,
)

MOVIE_ARGS = ("--current-density", "0.78", "--duration", "6", "--footprint-um", "6",
              "--pixel-size-nm", "80", "--seed", "5")  # fmt: skip
SEM_ARGS = ("--current-density", "0.78", "--duration", "15", "--footprint-um", "3",
            "--size", "512", "--seed", "3")  # fmt: skip


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors and --help
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _one_error_line(err: str, start: str) -> None:
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {start}"), err


# ---------------------------------------------------------------------------------------
# subprocesses: simulate → analyse, and a damaged file of each kind
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def movie_file(run_cli, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("movie") / "spot.ome.tif"
    done = run_cli("simulate", "movie", *MOVIE_ARGS, "--out", path)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", f"{path}\n")
    return path


@pytest.fixture(scope="module")
def sem_file(run_cli, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sem") / "footprint.tif"
    done = run_cli("simulate", "sem", *SEM_ARGS, "--out", path)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", f"{path}\n")
    return path


def test_simulated_movie_analysed_as_json_with_its_map(run_cli, movie_file):
    truth = read_truth(movie_file)
    true_map = np.load(f"{movie_file}.tnuc_truth.npy")
    out = movie_file.parent / "tnuc.npy"
    done = run_cli("analyse", "movie", movie_file, "--tnuc-map", out, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.count("\n") == 1
    report = json.loads(done.stdout)
    frame_s = truth["frame_interval_s"]
    assert report["landing_frame"] == truth["landing_frame"]
    assert report["t_nuc_irm_s"] == pytest.approx(truth["t_nuc_irm_s"], abs=2 * frame_s)
    assert_allclose(report["footprint"]["center_px"], truth["footprint_center_px"], atol=2.0)
    assert report["footprint"]["radius_px"] == pytest.approx(truth["footprint_radius_px"], rel=0.03)
    assert (report["frames"], report["pixel_size_nm"]) == (truth["n_frames"], 80.0)
    assert (report["time_source"], report["t_nuc_map"]["file"]) == ("metadata", str(out))
    assert report["t_nuc_map"]["block_px"] == 7  # ≈ 560 nm at 80 nm/px by default

    t_map = np.load(out)
    assert t_map.dtype == np.float32 and list(t_map.shape) == truth["shape"]
    assert true_map.dtype == np.float32 and true_map.shape == t_map.shape
    near_footprint = ndimage.binary_dilation(np.isfinite(true_map), iterations=2)
    assert np.isfinite(t_map).any() and not np.isfinite(t_map[~near_footprint]).any()


def test_simulated_sem_analysed_as_json_with_an_overlay(run_cli, sem_file):
    truth = read_truth(sem_file)
    overlay = sem_file.parent / "qa.png"
    done = run_cli("analyse", "sem", sem_file, "--overlay", overlay, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    report = json.loads(done.stdout)
    wanted = {"count", "density_per_cm2", "mean_diameter_nm", "sd_diameter_nm",
              "footprint_area_um2", "edge", "centre"}  # fmt: skip
    assert wanted <= set(report)
    assert report["count"] == pytest.approx(truth["count"], rel=0.05)
    assert report["mean_diameter_nm"] == pytest.approx(truth["mean_diameter_nm"], rel=0.04)
    assert report["density_per_cm2"] == pytest.approx(truth["density_per_cm2"], rel=0.05)
    assert report["pixel_size_nm"] == pytest.approx(truth["pixel_size_nm"], rel=1e-9)
    assert report["edge"]["count"] + report["centre"]["count"] == report["count"]
    with Image.open(overlay) as picture:
        assert (picture.format, picture.mode, picture.size) == ("PNG", "RGB", (512, 512))


def test_truncated_movie_exits_2_and_writes_no_map(run_cli, movie_file, tmp_path):
    cut = tmp_path / "cut.ome.tif"
    cut.write_bytes(movie_file.read_bytes())
    cut_file(cut, 0.4)
    out = tmp_path / "tnuc.npy"
    done = run_cli("analyse", "movie", cut, "--tnuc-map", out, "--json")
    assert (done.returncode, done.stdout) == (2, "")
    _one_error_line(done.stderr, f"{cut}: truncated: ")
    assert not out.exists()


def test_empty_sem_file_exits_2_and_writes_no_overlay(run_cli, tmp_path):
    empty = tmp_path / "empty.tif"
    empty.touch()
    done = run_cli("analyse", "sem", empty, "--overlay", tmp_path / "qa.png")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {empty}: empty file (0 bytes)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.tif"]


# ---------------------------------------------------------------------------------------
# in-process: human output, the E–t record, other formats, bad files and options
# ---------------------------------------------------------------------------------------


def test_movie_human_table(capsys, movie_file):
    status, out, err = run(capsys, "analyse", "movie", movie_file)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{movie_file}: IRM movie, ") and "113 × 113 px" in lines[0]
    assert lines[1].split() == ["quantity", "value", "unit"]
    names = [line[2:].split("  ")[0] for line in lines[2:]]
    assert names == ["landing frame", "t_nuc(IRM)", "footprint centre", "footprint diameter",
                     "frames", "pixel size", "time source", "t_nuc map (7 px blocks)"]  # fmt: skip
    assert lines[8].split()[2:4] == ["metadata", "OME"]


def _spot_trace(tmp_path: Path, capsys, *, with_current: bool) -> Path:
    """The E–t record of the movie's spot (same j, duration, footprint, seed)."""
    path = tmp_path / "spot.csv"
    argv = MOVIE_ARGS[:6] + MOVIE_ARGS[-2:]  # no pixel size for the E–t record
    assert run(capsys, "simulate", "galvanostatic", *argv, "--out", path)[0] == 0
    if not with_current:
        from core.io.traces import read_trace

        trace = read_trace(path)
        nan = np.full(len(trace), np.nan)
        write_trace(path, Trace(trace.time_s, trace.potential_V, nan), truth=read_truth(path))
    return path


@pytest.mark.parametrize("with_current", [True, False])
def test_movie_with_its_e_t_record(capsys, movie_file, tmp_path, with_current):
    trace = _spot_trace(tmp_path, capsys, with_current=with_current)
    status, out, err = run(capsys, "analyse", "movie", movie_file, "--trace", trace,
                           "--current-density", "0.78", "--json")  # fmt: skip
    assert (status, err) == (0, "")
    report = json.loads(out)
    movie_truth, trace_truth = read_truth(movie_file), read_truth(trace)
    assert movie_truth["t_nuc_s"] == pytest.approx(trace_truth["t_nuc_s"], rel=1e-6)  # one spot
    assert report["trace"]["t_nuc_s"] == pytest.approx(trace_truth["t_nuc_s"], rel=0.03)
    assert report["trace"]["current_recorded"] is with_current
    assert report["t_nuc_irm_s"] < report["trace"]["t_nuc_s"]
    if with_current:
        assert report["alpha"]["r2"] > 0.95 and report["alpha"]["alpha_per_um3"] > 0
    else:
        assert report["alpha"] is None
    status, out, _ = run(capsys, "analyse", "movie", movie_file, "--trace", trace,
                         "--current-density", "0.78")  # fmt: skip
    assert out.splitlines()[-1].split()[0] == "α"


def test_camera_tiff_needs_a_pixel_size_and_takes_sidecar_times(capsys, tmp_path):
    from core.simulate.movie import simulate_irm_movie

    movie = simulate_irm_movie(current_density_mA_cm2=3.82, duration_s=3.0,
                               footprint_diameter_um=5.0, pixel_size_nm=80.0, seed=2)  # fmt: skip
    path, times = tmp_path / "camera.tif", tmp_path / "times.csv"
    write_camera_tiff(path, movie.frames)
    write_frame_times_csv(times, movie.times_s + 7.0)
    status, _, err = run(capsys, "analyse", "movie", path, "--frame-times", times)
    assert status == 2
    assert err == f"error: {path}: the file records no pixel size; give it with --pixel-size-nm\n"
    status, out, err = run(capsys, "analyse", "movie", path, "--frame-times", times,
                           "--pixel-size-nm", "80", "--block-px", "1", "--json")  # fmt: skip
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["time_source"] == "sidecar" and report["pixel_size_source"] == "given"
    assert report["landing_frame"] == movie.truth["landing_frame"]
    assert report["t_nuc_map"]["block_px"] == 1


def test_sem_human_table_and_a_given_footprint(capsys, sem_file):
    truth = read_truth(sem_file)
    circle = truth["footprint"]
    given = f"{circle['x_um']},{circle['y_um']},{circle['r_um']}"
    status, out, err = run(capsys, "analyse", "sem", sem_file, "--footprint-circle", given)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{sem_file}: SEM, 512 × 512 px of ")
    assert "footprint given at" in lines[0]
    assert [line.split()[0] for line in lines[2:5]] == ["footprint", "edge", "centre"]
    assert lines[1].split()[:3] == ["region", "count", "density"]
    assert int(lines[2].split()[1]) == pytest.approx(truth["count"], rel=0.05)
    assert lines[5].startswith("  excluded: ")


MOVIE_PROBLEMS = {
    "empty": (lambda p: p.touch(), "empty file (0 bytes)"),
    "garbage": (lambda p: p.write_bytes(bytes(range(256)) * 4), "not a TIFF file (first bytes"),
    "absurd size": (
        lambda p: write_tiff_claiming(p, rows=200_000, cols=200_000),
        "declared image data 74.5 GiB",
    ),
    "cut header": (lambda p: p.write_bytes(b"II*\x00\x08\x00\x00\x00\x10"), "corrupt TIFF"),
}


@pytest.mark.parametrize("kind", ["movie", "sem"])
@pytest.mark.parametrize("case", sorted(MOVIE_PROBLEMS))
def test_bad_files_exit_2_with_one_line_and_no_output(capsys, tmp_path, kind, case):
    make, problem = MOVIE_PROBLEMS[case]
    path = tmp_path / "bad.tif"
    make(path)
    output = (
        ("--tnuc-map", tmp_path / "out.npy")
        if kind == "movie"
        else ("--overlay", tmp_path / "o.png")
    )
    status, out, err = run(capsys, "analyse", kind, path, *output, "--json")
    assert (status, out) == (2, "")
    _one_error_line(err, f"{path}: {problem}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif"]


def test_a_movie_that_cannot_be_analysed_writes_no_map(capsys, tmp_path):
    flat = np.full((12, 40, 40), 300, dtype=np.uint16)
    path = write_ome_tiff(tmp_path / "flat.ome.tif", flat, np.arange(12) * 0.2, pixel_size_nm=50)
    status, out, err = run(capsys, "analyse", "movie", path, "--tnuc-map", tmp_path / "m.npy")
    assert (status, out) == (2, "")
    _one_error_line(err, f"{path}: cannot analyse: no landing step found in 12 frames")
    assert not (tmp_path / "m.npy").exists()

    status, _, err = run(capsys, "analyse", "movie", path, "--tnuc-map", tmp_path / "no" / "m.npy")
    assert status == 2
    assert err == (f"error: {tmp_path / 'no' / 'm.npy'}: cannot write --tnuc-map: folder "
                   f"{str(tmp_path / 'no')!r} does not exist\n")  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyse", "movie", "m.tif", "--trace", "t.csv"],
         "--trace needs --current-density (the applied mA/cm² of that record)"),
        (["analyse", "movie", "m.tif", "--current-density", "1"],
         "--current-density applies to --trace; give the record too"),
        (["analyse", "movie", "m.tif", "--block-px", "0"],
         "argument --block-px: must be 1 or more, got 0"),
        (["analyse", "sem", "s.tif", "--footprint-circle", "1,2"],
         "argument --footprint-circle: '1,2' is not X_UM,Y_UM,R_UM (three numbers of µm, "
         "e.g. 6.1,6.0,5)"),
        (["analyse", "sem", "s.tif", "--footprint-circle", "1,2,-3"],
         "argument --footprint-circle: radius must be above 0 µm, got -3"),
        (["analyse", "sem", "s.tif", "--polarity", "grey"],
         "argument --polarity: invalid choice: 'grey' (choose from 'bright', 'dark')"),
        (["simulate", "movie", "--current-density", "1", "--duration", "5", "--inverted", "1",
          "--out", "x"], "argument --inverted: must be from 0 to below 1, got 1"),
        (["simulate", "movie", "--current-density", "1", "--duration", "1e5", "--out", "x"],
         "--duration 100000 s of 325 × 325 px frames (--footprint-um 10 at --pixel-size-nm 40) "
         "is 85.5 GiB of 16-bit frames; at most 2 GiB"),
        (["simulate", "sem", "--current-density", "1", "--duration", "5", "--size", "9000",
          "--out", "x"], "argument --size: at most 8192 px, got 9000"),
        (["simulate", "sem", "--current-density", "1", "--duration", "5", "--size", "10",
          "--out", "x"], "argument --size: must be 64 or more, got 10"),
    ],
)  # fmt: skip
def test_bad_options_exit_2_with_a_clear_message(capsys, tmp_path, argv, message):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.splitlines()[-1].endswith(f"error: {message}")
    assert not Path("x").exists()


def test_impossible_sem_simulation_is_one_line_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "s.tif"
    status, _, err = run(capsys, "simulate", "sem", "--current-density", "1", "--duration", "5",
                         "--pixel-size-nm", "50", "--size", "100", "--out", out)  # fmt: skip
    assert status == 2
    _one_error_line(err, "cannot simulate: footprint 10.0 µm does not fit the field 5 × 5 µm")
    assert list(tmp_path.iterdir()) == []


def test_simulate_sem_is_reproducible_and_records_a_drawn_seed(capsys, tmp_path):
    small = ("--current-density", "3.82", "--duration", "3", "--footprint-um", "2", "--size", "256")
    paths = [tmp_path / name for name in ("a.tif", "b.tif", "c.tif")]
    for path, seed in zip(paths, (["--seed", "7"], ["--seed", "7"], []), strict=True):
        assert run(capsys, "simulate", "sem", *small, *seed, "--out", path)[:2] == (0, f"{path}\n")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert read_truth(paths[0]) == read_truth(paths[1])
    drawn = read_truth(paths[2])["seed"]
    assert isinstance(drawn, int)
    again = tmp_path / "again.tif"
    run(capsys, "simulate", "sem", *small, "--seed", drawn, "--out", again)
    assert again.read_bytes() == paths[2].read_bytes()


def test_a_failed_movie_write_leaves_no_sidecars(capsys, tmp_path, monkeypatch):
    from core.io import image_writers

    def refuse(path, *args, **kwargs):
        raise ImageFileError(path, "cannot write: No space left on device")

    monkeypatch.setattr(image_writers, "write_ome_tiff", refuse)
    out = tmp_path / "spot.ome.tif"
    status, stdout, err = run(capsys, "simulate", "movie", *MOVIE_ARGS, "--out", out)
    assert (status, stdout) == (2, "")
    assert err == f"error: {out}: cannot write: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_the_imaging_commands_are_registered_and_in_the_examples(capsys):
    paths = {command.path for command in load_commands()}
    assert {("analyse", "movie"), ("analyse", "sem"), ("simulate", "movie"),
            ("simulate", "sem")} <= paths  # fmt: skip
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for example in ("python -m core analyse movie spot.ome.tif --trace spot.csv",
                    "python -m core analyse sem footprint.tif --overlay"):  # fmt: skip
        assert example in out
    status, out, _ = run(capsys, "simulate", "movie", "--help")
    assert status == 0 and "FILE.tnuc_truth.npy" in out
