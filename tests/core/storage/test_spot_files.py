import h5py
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from core.storage import spot_files
from core.storage.spot_files import (
    SpotFileError,
    SpotMovie,
    file_sha256,
    orphan_temporary_files,
    read_movie_frame,
    read_spot_file,
    write_spot_file,
)
from core.traces import Trace


@pytest.fixture
def trace():
    rng = np.random.default_rng(7)
    t = np.arange(500) * 2.57e-3
    return Trace(t, rng.normal(-0.1, 0.01, 500), np.full(500, -5e-11), {"instrument": "sim"})


@pytest.fixture
def movie():
    rng = np.random.default_rng(8)
    frames = rng.integers(0, 4096, size=(12, 32, 48), dtype=np.uint16)
    times = np.cumsum(rng.uniform(0.22, 0.24, 12))
    return SpotMovie(frames, times, pixel_size_nm=40.0)


def test_round_trip_with_movie_and_provenance(tmp_path, trace, movie):
    path = tmp_path / "run1" / "0007.h5"
    digest = write_spot_file(path, trace, movie=movie,
                             provenance={"grid_hash": "f" * 64, "spot_order": 7, "tags": ["a"]})
    assert digest == file_sha256(path)
    record = read_spot_file(path)
    assert_array_equal(record.trace.potential_V, trace.potential_V)
    assert_array_equal(record.movie.frames, movie.frames)
    assert record.movie.frames.dtype == np.uint16
    assert_array_equal(record.movie.times_s, movie.times_s)
    assert record.movie.pixel_size_nm == 40.0
    assert record.attributes["spot_order"] == 7
    assert record.attributes["tags"] == ["a"]
    assert record.attributes["instrument"] == "sim"
    assert record.attributes["software_version"]
    with h5py.File(path) as h5:
        assert h5["movie/frames"].chunks == (1, 32, 48)
    assert_array_equal(read_movie_frame(path, 5), movie.frames[5])


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path, trace, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(spot_files, "_write_contents", explode)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        write_spot_file(tmp_path / "s.h5", trace)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_whole(tmp_path, trace, movie):
    path = tmp_path / "s.h5"
    write_spot_file(path, trace, movie=movie)
    write_spot_file(path, trace)
    assert read_spot_file(path).movie is None
    assert orphan_temporary_files(tmp_path) == []


def test_mismatched_movie_times_are_refused(tmp_path, trace, movie):
    bad = SpotMovie(movie.frames, movie.times_s[:-1])
    with pytest.raises(SpotFileError, match="movie has 12 frames but 11 frame times"):
        write_spot_file(tmp_path / "s.h5", trace, movie=bad)
    assert list(tmp_path.iterdir()) == []


def test_orphans_are_found(tmp_path):
    (tmp_path / "r").mkdir()
    orphan = tmp_path / "r" / ".0001.h5.abc.partial"
    orphan.write_bytes(b"x")
    assert orphan_temporary_files(tmp_path) == [orphan]


def test_reading_garbage_names_the_file(tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(b"not hdf5")
    with pytest.raises(SpotFileError, match="bad.h5: cannot read spot file"):
        read_spot_file(path)


def test_frame_index_is_checked(tmp_path, trace, movie):
    path = tmp_path / "s.h5"
    write_spot_file(path, trace, movie=movie)
    with pytest.raises(SpotFileError, match="frame 12 outside 0..11"):
        read_movie_frame(path, 12)
