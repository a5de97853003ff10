"""Frame-times sidecar CSV: valid files read exactly, every broken rule named in the message."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from core.errors import MeniscusError, MovieFileError
from core.io.frame_times import read_frame_times


def _write(tmp_path, text: str, name: str = "times.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fails(path, n_frames: int, problem: str) -> None:
    with pytest.raises(MovieFileError, match=f"^{re.escape(f'{path}: {problem}')}$"):
        read_frame_times(path, n_frames)


def test_jittered_times_read_exactly_in_frame_order(tmp_path):
    rng = np.random.default_rng(3)
    times = np.cumsum(0.23 + rng.uniform(-0.015, 0.015, 12)) + 7.5
    order = rng.permutation(12)  # rows may come in any order
    body = "".join(f"{i},{float(times[i])!r}\n" for i in order)
    path = _write(tmp_path, "frame,time_s\n" + body + "\n\n")
    assert_array_equal(read_frame_times(path, 12), times)


def test_byte_order_mark_and_spaces_are_tolerated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffframe, time_s\r\n0, 0.0\r\n1, 0.231\r\n2 ,0.4625\r\n".encode())
    assert_array_equal(read_frame_times(path, 3), [0.0, 0.231, 0.4625])


def test_error_is_a_meniscus_error(tmp_path):
    path = _write(tmp_path, "frame,time\n0,0\n")
    with pytest.raises(MeniscusError):
        read_frame_times(path, 1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty frame-times file; expected the header 'frame,time_s'"),
        ("frame,time\n0,0\n", "header 'frame,time'; expected 'frame,time_s'"),
        ("time_s,frame\n0,0\n", "header 'time_s,frame'; expected 'frame,time_s'"),
        ("0,0.0\n1,0.23\n", "header '0,0.0'; expected 'frame,time_s'"),
        ("frame,time_s\n", "no frame rows; the movie has 3 frames"),
        (
            "frame,time_s\n0,0\n1,0.2,x\n2,0.4\n",
            "line 3: expected 2 values (frame,time_s), found 3",
        ),
        ("frame,time_s\n0,0\n1.5,0.2\n2,0.4\n", "line 3: frame '1.5' is not an integer"),
        ("frame,time_s\n0,0\n1,abc\n2,0.4\n", "line 3: time_s 'abc' is not a number"),
        ("frame,time_s\n0,0\n1,nan\n2,0.4\n", "line 3: time_s 'nan' is not finite"),
        (
            "frame,time_s\n0,0\n1,0.2\n3,0.4\n",
            "line 4: frame 3 is outside 0..2 (the movie has 3 frames)",
        ),
        (
            "frame,time_s\n0,0\n-1,0.2\n2,0.4\n",
            "line 3: frame -1 is outside 0..2 (the movie has 3 frames)",
        ),
        (
            "frame,time_s\n0,0\n1,0.2\n1,0.3\n2,0.4\n",
            "line 4: frame 1 appears again (first on line 3)",
        ),
        ("frame,time_s\n0,0\n2,0.4\n", "frame 1 missing; the movie has 3 frames (0..2)"),
        (
            "frame,time_s\n0,0.0\n1,0.25\n2,0.25\n",
            "time_s not strictly increasing: frame 2 at 0.25 s is not after frame 1 at 0.25 s",
        ),
        (
            "frame,time_s\n2,0.1\n0,0.0\n1,0.3\n",
            "time_s not strictly increasing: frame 2 at 0.1 s is not after frame 1 at 0.3 s",
        ),
    ],
)
def test_broken_sidecars_are_named(tmp_path, text, problem):
    _fails(_write(tmp_path, text), 3, problem)


def test_many_missing_frames_are_summarised(tmp_path):
    path = _write(tmp_path, "frame,time_s\n0,0\n1,0.23\n")
    _fails(path, 10, "frames 2, 3, 4, 5, 6 and 3 more missing; the movie has 10 frames (0..9)")


def test_missing_and_binary_files(tmp_path):
    _fails(tmp_path / "absent.csv", 3, "frame-times file not found")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    _fails(binary, 3, "frame-times file is not UTF-8 text")
