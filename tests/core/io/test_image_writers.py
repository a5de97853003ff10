"""Image writers read back by our own readers, atomic writes, and lazy ``Movie[...]`` indexing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from numpy.testing import assert_array_equal
from PIL import Image

from core.errors import ImageFileError
from core.io import image_writers
from core.io.image_writers import write_npy, write_ome_tiff, write_png, write_sem_tiff, write_truth
from core.io.movies import Movie, open_movie
from core.io.sem_images import read_sem_image
from core.io.traces import read_truth

T, ROWS, COLS = 9, 24, 17  # non-square so a row/column swap cannot pass


def _frames(dtype=np.uint16, bits: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**bits, size=(T, ROWS, COLS)).astype(dtype)


def _uneven_times(start_s: float = 12.5) -> np.ndarray:
    steps = 0.23 + np.random.default_rng(1).uniform(-0.011, 0.011, T - 1)
    return start_s + np.concatenate([[0.0], np.cumsum(steps)])


def _fails(message: str):
    return pytest.raises(ImageFileError, match=f"^{re.escape(message)}$")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- OME-TIFF --------------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "bits"), [(np.uint16, 12), (np.uint8, 8)])
def test_ome_tiff_reads_back_with_times_and_pixel_size_from_its_metadata(tmp_path, dtype, bits):
    frames, times = _frames(dtype, bits), _uneven_times()
    path = tmp_path / "spot.ome.tif"
    extra = {"SignificantBits": bits} if bits == 12 else None
    assert write_ome_tiff(path, frames, times, pixel_size_nm=80.0, metadata=extra) == path
    with open_movie(path) as movie:
        assert movie.shape == (T, ROWS, COLS) and movie.dtype == dtype
        assert_array_equal(movie.frames(), frames)
        assert movie.pixel_size_nm == 80.0
        assert movie.pixel_size_source == "metadata: OME PhysicalSizeX"
        assert (movie.time_source, movie.time_detail) == ("metadata", "OME Plane DeltaT")
        assert_array_equal(movie.times_s, times - times[0])  # exact, not rounded
        assert movie.metadata["first_frame_time_s"] == times[0]
        assert movie.bit_depth == bits
    assert _leftovers(tmp_path) == ["spot.ome.tif"]


def test_ome_tiff_keeps_a_pixel_size_that_is_not_a_round_number(tmp_path):
    path = tmp_path / "a.ome.tif"
    write_ome_tiff(path, _frames(), _uneven_times(), pixel_size_nm=65.123456789012)
    with open_movie(path) as movie:
        assert movie.pixel_size_nm == 65.123456789012


SWAPPED = _uneven_times()[[0, 2, 1, 3, 4, 5, 6, 7, 8]]


@pytest.mark.parametrize(
    ("frames", "times", "pixel_size_nm", "metadata", "problem"),
    [
        (_frames()[0], _uneven_times()[:1], 80.0, None,
         "cannot write: frames must be (T, R, C); got (24, 17)"),
        (_frames().astype(np.float32), _uneven_times(), 80.0, None,
         "cannot write float32 samples; the readers take uint8 or uint16 (camera counts)"),
        (_frames(), _uneven_times()[:-1], 80.0, None, "cannot write: 8 frame times for 9 frames"),
        (_frames(), SWAPPED, 80.0, None,
         f"cannot write: frame 2 at {SWAPPED[2]!r} s is not after frame 1 at {SWAPPED[1]!r} s"),
        (_frames(), np.full(T, np.nan), 80.0, None,
         "cannot write: frame times must be finite numbers of s"),
        (_frames(), _uneven_times(), 0.0, None,
         "cannot write: pixel size 0.0 nm must be a positive number of nm"),
        (_frames(), _uneven_times(), 80.0, {"PhysicalSizeX": 1.0, "Plane": {}},
         "cannot write: metadata may not set PhysicalSizeX, Plane (set from the arguments)"),
    ],
)  # fmt: skip
def test_ome_tiff_refuses_what_it_cannot_write_faithfully(
    tmp_path, frames, times, pixel_size_nm, metadata, problem
):
    path = tmp_path / "bad.ome.tif"
    with _fails(f"{path}: {problem}"):
        write_ome_tiff(path, frames, times, pixel_size_nm=pixel_size_nm, metadata=metadata)
    assert _leftovers(tmp_path) == []


# --- SEM TIFF, PNG, npy, truth ---------------------------------------------------------------
@pytest.mark.parametrize("pixel_size_nm", [7.32421875, 4.0, 0.5, 123.456789])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_sem_tiff_pixel_size_reads_back_from_the_resolution_tags(tmp_path, pixel_size_nm, dtype):
    image = _frames(dtype, 8)[0]
    path = write_sem_tiff(tmp_path / "sem.tif", image, pixel_size_nm=pixel_size_nm)
    sem = read_sem_image(path)
    assert_array_equal(sem.image, image)
    assert sem.pixel_size_nm == pytest.approx(pixel_size_nm, rel=1e-9)
    assert sem.pixel_size_source == "metadata: TIFF resolution"
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].tags["ResolutionUnit"].value == 3  # centimetre


def test_png_is_rgb_or_grey_and_exact(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, size=(ROWS, COLS, 3), dtype=np.uint8)
    with Image.open(write_png(tmp_path / "qa.png", rgb)) as picture:
        assert (picture.format, picture.mode, picture.size) == ("PNG", "RGB", (COLS, ROWS))
        assert_array_equal(np.asarray(picture), rgb)
    with Image.open(write_png(tmp_path / "grey.png", rgb[..., 0])) as picture:
        assert picture.mode == "L"
    with _fails(f"{tmp_path / 'x.png'}: cannot write: a PNG needs (M, N, 3) or (M, N) uint8; "
                f"got {(ROWS, COLS, 3)} float64"):  # fmt: skip
        write_png(tmp_path / "x.png", rgb.astype(float))


def test_npy_keeps_dtype_shape_and_nan(tmp_path):
    t_map = np.full((ROWS, COLS), np.nan, dtype=np.float32)
    t_map[3:9, 2:7] = np.linspace(1.0, 2.0, 30, dtype=np.float32).reshape(6, 5)
    back = np.load(write_npy(tmp_path / "map.npy", t_map))
    assert back.dtype == np.float32 and back.shape == (ROWS, COLS)
    assert_array_equal(back, t_map)  # NaN where NaN


def test_truth_sidecar_is_the_trace_writers_json(tmp_path):
    truth = {"seed": np.int64(3), "t_nuc_s": np.float32(0.5), "centre": np.array([1.5, 2.0])}
    sidecar = write_truth(tmp_path / "spot.ome.tif", truth)
    assert sidecar == tmp_path / "spot.ome.tif.truth.json"
    assert read_truth(tmp_path / "spot.ome.tif") == {"seed": 3, "t_nuc_s": 0.5, "centre": [1.5, 2]}
    with _fails(f"{tmp_path / 'b.tif.truth.json'}: cannot write the truth as JSON: Out of range "
                "float values are not JSON compliant: nan"):  # fmt: skip
        write_truth(tmp_path / "b.tif", {"t_nuc_s": float("nan")})
    assert _leftovers(tmp_path) == ["spot.ome.tif.truth.json"]


# --- atomic writes ---------------------------------------------------------------------------
def test_a_failing_encoder_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "spot.ome.tif"
    path.write_bytes(b"the previous movie")

    def half_write(handle, *args, **kwargs):
        handle.write(b"II*\x00 partial")
        raise ValueError("disk full, say")

    monkeypatch.setattr(image_writers.tifffile, "imwrite", half_write)
    with _fails(f"{path}: cannot write: disk full, say"):
        write_ome_tiff(path, _frames(), _uneven_times(), pixel_size_nm=80.0)

    def interrupted(handle, *args, **kwargs):
        handle.write(b"II*\x00")
        raise KeyboardInterrupt

    monkeypatch.setattr(image_writers.tifffile, "imwrite", interrupted)
    with pytest.raises(KeyboardInterrupt):  # not turned into a file error, but cleaned up
        write_sem_tiff(path, _frames()[0], pixel_size_nm=5.0)
    assert path.read_bytes() == b"the previous movie"
    assert _leftovers(tmp_path) == ["spot.ome.tif"]


def test_missing_folder_and_folder_as_file(tmp_path):
    missing = tmp_path / "nope" / "qa.png"
    with _fails(f"{missing}: cannot write: folder {str(missing.parent)!r} does not exist"):
        write_png(missing, np.zeros((4, 4, 3), np.uint8))
    with _fails(f"{tmp_path}: is a folder; give a file name to write to"):
        write_npy(tmp_path, np.zeros(3))


# --- Movie[...] reads lazily and indexes as NumPy does ---------------------------------------
KEYS = [
    3, -1, np.int64(2), slice(None), slice(2, 7), slice(None, None, 3), slice(7, 1, -2),
    slice(None, None, -1), slice(5, 5), slice(20, 30), (), Ellipsis,
    (slice(1, 8, 2), slice(3, 10), slice(None, None, 2)), (4, 5), (4, 5, 6), (-2, slice(None), 3),
    (slice(None), None), (slice(2, 5), [0, 3, 5]), (slice(2, 5), [0, 3, 5], [1, 2, 4]),
    (slice(None), np.arange(ROWS * COLS).reshape(ROWS, COLS) % 3 == 0),
    (Ellipsis, 3), (Ellipsis, 2, 3, 4), (slice(2, 5), Ellipsis, [0, 2]), (slice(6, 2, -1), -1, -1),
]  # fmt: skip


@pytest.fixture(scope="module")
def ome_movie(tmp_path_factory):
    frames = _frames()
    path = tmp_path_factory.mktemp("movie") / "m.ome.tif"
    write_ome_tiff(path, frames, _uneven_times(), pixel_size_nm=40.0)
    with open_movie(path) as movie:
        yield movie, frames


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_movie_indexing_equals_numpy_on_the_same_array(ome_movie, key):
    movie, frames = ome_movie
    got, expected = movie[key], frames[key]
    assert got.dtype == expected.dtype
    assert_array_equal(got, expected, strict=True)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ([1, 2], "the time axis takes an int or a slice, not [1, 2]"),
        ((np.array([0, 1]), 2), "the time axis takes an int or a slice, not array([0, 1])"),
        (True, "the time axis takes an int or a slice, not True"),
        (None, "the time axis takes an int or a slice, not None"),
        (9, "frame 9 out of range for a movie of 9 frames"),
        ((slice(None), [0, 1], None, [0, 1]), "index arrays separated by None or ..."),
    ],
)
def test_movie_indexing_refuses_what_it_cannot_do_lazily(ome_movie, key, problem):
    movie, _ = ome_movie
    with pytest.raises(IndexError, match=re.escape(problem)):
        movie[key]


class _CountingSource:
    """A frame source of big frames that cost no memory: value = frame·10⁴ + row."""

    def __init__(self, n_frames: int, rows: int, cols: int):
        self.shape, self.reads = (n_frames, rows, cols), []

    def read(self, start: int, stop: int) -> np.ndarray:
        self.reads.append((start, stop))
        values = np.arange(start, stop)[:, None, None] * 10_000 + np.arange(self.shape[1])[:, None]
        return np.broadcast_to(values, (stop - start, *self.shape[1:]))

    def close(self) -> None:
        pass


def _big_movie(source: _CountingSource) -> Movie:
    return Movie(
        path=Path("big.tif"),
        shape=source.shape,
        dtype=np.dtype(np.int64),
        bit_depth=None,
        times_s=np.arange(source.shape[0]) * 0.23,
        time_source="nominal",
        time_detail="nominal interval 0.23 s",
        pixel_size_nm=None,
        pixel_size_source=None,
        metadata={},
        _source=source,
    )


@pytest.mark.parametrize(
    ("time_key", "reads"),
    [
        (slice(1, 8), [(1, 3), (3, 5), (5, 7), (7, 8)]),  # 24 MB frames: 2 per 64 MB read
        (slice(8, 0, -1), [(7, 9), (5, 7), (3, 5), (1, 3)]),
        (slice(0, 9, 3), [(0, 1), (3, 4), (6, 7)]),  # only the frames selected are read
        (4, [(4, 5)]),
    ],
)
def test_movie_indexing_reads_in_bounded_chunks_only_what_it_needs(time_key, reads):
    source = _CountingSource(9, 1024, 3072)
    crop = _big_movie(source)[time_key, 100:103, 7:9]
    frames = np.arange(9)[time_key]
    expected = np.asarray(frames)[..., None, None] * 10_000 + np.arange(100, 103)[:, None]
    assert_array_equal(crop, np.broadcast_to(expected, (*np.shape(frames), 3, 2)), strict=True)
    assert source.reads == reads
