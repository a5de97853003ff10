"""open_movie on files written the way instruments write them, and on damaged files."""

from __future__ import annotations

import re
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import tifffile
from numpy.testing import assert_allclose, assert_array_equal

from core.errors import MeniscusError
from core.io.movies import Movie, MovieFileError, open_movie
from tests.core.io.instrument_files import (
    cut_file,
    irm_frames,
    jittered_times_s,
    write_avi,
    write_camera_tiff,
    write_frame_times_csv,
    write_imagej_hyperstack,
    write_imagej_single_ifd,
    write_micromanager_stack,
    write_ome_tiff,
    write_tiff_claiming,
)

T, ROWS, COLS = 20, 64, 48  # non-square so a row/column swap cannot pass


def _fails(path: Path, problem: str, **kwargs) -> None:
    with pytest.raises(MovieFileError, match=f"^{re.escape(f'{path}: {problem}')}$"):
        open_movie(path, **kwargs)


def _fails_like(path: Path, pattern: str, **kwargs) -> None:
    with pytest.raises(MovieFileError, match=f"^{re.escape(str(path))}: {pattern}$"):
        open_movie(path, **kwargs)


def _check_frames(movie: Movie, expected: np.ndarray) -> None:
    assert movie.shape == expected.shape
    assert movie.dtype == expected.dtype
    assert_array_equal(movie.frames(), expected)
    assert_array_equal(movie.frame(13), expected[13])
    assert_array_equal(movie.frame(-1), expected[-1])
    assert_array_equal(movie.frames(4, 9), expected[4:9])


# --- Micro-Manager ------------------------------------------------------------------------


@pytest.mark.parametrize("numbers_as_strings", [False, True])
def test_micromanager_stack_keeps_real_frame_times_and_pixel_size(tmp_path, numbers_as_strings):
    frames = irm_frames(T, ROWS, COLS, bits=12)
    elapsed_ms = 1523.25 + 1000 * jittered_times_s(T, seed=1)
    path = tmp_path / "irm_spot_A1_MMStack_Pos0.ome.tif"
    write_micromanager_stack(
        path,
        frames,
        elapsed_ms=elapsed_ms,
        pixel_size_um=0.04,
        bit_depth=12,
        numbers_as_strings=numbers_as_strings,
    )
    with open_movie(path) as movie:
        _check_frames(movie, frames)  # big-endian words come back in native order
        assert movie.bit_depth == 12
        assert movie.time_source == "metadata"
        assert movie.time_detail == "Micro-Manager ElapsedTime-ms"
        assert_allclose(movie.times_s, (elapsed_ms - elapsed_ms[0]) / 1000, rtol=0, atol=1e-12)
        assert movie.times_s[0] == 0.0
        assert np.ptp(np.diff(movie.times_s)) > 0.01  # jitter preserved, not regularised
        assert movie.metadata["first_frame_time_s"] == pytest.approx(1.52325, abs=1e-12)
        # PixelSizeUm, not the XResolution MM truncates to 249999 px/cm (40.00016 nm)
        assert movie.pixel_size_nm == pytest.approx(40.0, rel=1e-12)
        assert movie.pixel_size_source == "metadata: Micro-Manager PixelSizeUm"
        assert movie.metadata["format"] == "Micro-Manager"
        assert movie.metadata["warnings"] == []


def test_uncalibrated_micromanager_camera_has_no_pixel_size(tmp_path):
    # PixelSizeUm 0 and the 0xFFFFFFFF px/cm resolution MM writes with it mean "unknown"
    path = tmp_path / "uncalibrated.tif"
    write_micromanager_stack(
        path, irm_frames(4, ROWS, COLS), elapsed_ms=np.arange(4) * 230.0, pixel_size_um=0.0
    )
    movie = open_movie(path)
    assert movie.pixel_size_nm is None
    assert movie.pixel_size_source is None
    assert "outside 0.01–10000 nm" in movie.metadata["warnings"][0]


def test_micromanager_acquisition_stopped_early_keeps_written_frames(tmp_path):
    frames = irm_frames(7, ROWS, COLS)
    # named as MM names it, so a reader looking for the dataset's other files would try
    path = tmp_path / "irm_spot_A1_MMStack_Pos0.ome.tif"
    write_micromanager_stack(path, frames, elapsed_ms=100 + np.arange(7) * 231.5, planned_frames=20)
    movie = open_movie(path)
    assert movie.shape == (7, ROWS, COLS)
    assert_array_equal(movie.frames(), frames)
    assert_allclose(movie.times_s, np.arange(7) * 0.2315, rtol=0, atol=1e-12)
    assert movie.metadata["warnings"] == [
        "Micro-Manager Summary plans 20 frames, this file holds 7: the acquisition stopped "
        "early, or the other frames are in further files of the dataset, which are not read"
    ]


def test_micromanager_times_that_go_backwards_are_rejected(tmp_path):
    elapsed_ms = 1000 + np.arange(6) * 230.0
    elapsed_ms[4] = elapsed_ms[3]
    path = tmp_path / "stalled.tif"
    write_micromanager_stack(path, irm_frames(6, ROWS, COLS), elapsed_ms=elapsed_ms)
    _fails(
        path,
        "Micro-Manager ElapsedTime-ms not strictly increasing: frame 4 at 1.69 s is "
        "not after frame 3 at 1.69 s; pass frame_times_csv with the true times",
    )
    # the lab's own times rescue the file
    csv = tmp_path / "stalled.csv"
    write_frame_times_csv(csv, np.arange(6) * 0.25)
    assert_array_equal(open_movie(path, frame_times_csv=csv).times_s, np.arange(6) * 0.25)


# --- OME-TIFF, ImageJ, plain camera TIFF ----------------------------------------------------


@pytest.mark.parametrize(
    ("size", "unit", "expected_nm"),
    [(0.0405, "µm", 40.5), (40.5, "nm", 40.5), (0.0405, "um", 40.5)],
)
def test_ome_tiff_physical_size_units_and_plane_delta_t(tmp_path, size, unit, expected_nm):
    frames = irm_frames(T, ROWS, COLS, bits=12, seed=2)
    times = 3.0 + jittered_times_s(T, seed=4)
    path = tmp_path / "irm.ome.tif"
    write_ome_tiff(
        path, frames, physical_size=size, unit=unit, delta_t_s=times, significant_bits=12
    )
    movie = open_movie(path)
    _check_frames(movie, frames)
    assert movie.pixel_size_nm == pytest.approx(expected_nm, rel=1e-12)
    assert movie.pixel_size_source == "metadata: OME PhysicalSizeX"
    assert movie.time_source == "metadata"
    assert movie.time_detail == "OME Plane DeltaT"
    assert_array_equal(movie.times_s, times - times[0])
    assert movie.bit_depth == 12


def test_ome_tiff_missing_planes_are_truncation_not_zeros(tmp_path):
    frames = irm_frames(T, ROWS, COLS)
    ome = tifffile.OmeXml()
    ome.addimage("uint16", (T, ROWS, COLS), (T, 1, 1, ROWS, COLS, 1), axes="TYX")
    path = tmp_path / "crashed.ome.tif"
    tifffile.imwrite(path, frames[:10], description=ome.tostring(), metadata=None)
    _fails(
        path,
        "truncated: 10 of the 20 frames the OME-XML promises are missing from the "
        "file (first missing: frame 10)",
    )


def test_ome_tiff_with_two_channels_is_unsupported(tmp_path):
    path = tmp_path / "two_channels.ome.tif"
    tifffile.imwrite(
        path,
        irm_frames(T, ROWS, COLS).reshape(10, 2, ROWS, COLS),
        ome=True,
        metadata={"axes": "TCYX"},
    )
    _fails(
        path,
        "unsupported layout: axes TCYX with T=10, C=2; expected one time axis (a "
        "single channel, z-plane and position)",
    )


def test_imagej_hyperstack_finterval_and_calibration(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=16, seed=5)
    path = tmp_path / "irm_ij.tif"
    write_imagej_hyperstack(path, frames, pixel_size_um=0.04, finterval_s=0.23)
    movie = open_movie(path)
    _check_frames(movie, frames)
    assert movie.time_source == "metadata"
    assert movie.time_detail == "ImageJ finterval 0.23 s (uniform)"
    assert_array_equal(movie.times_s, np.arange(T) * 0.23)
    assert movie.pixel_size_nm == pytest.approx(40.0, rel=1e-12)
    assert movie.pixel_size_source == "metadata: ImageJ resolution"
    assert movie.bit_depth is None  # 16-bit words, significant bits not recorded


def test_imagej_header_promising_more_images_than_stored(tmp_path):
    path = tmp_path / "short_ij.tif"
    description = "ImageJ=1.53t\nimages=30\nframes=30\nhyperstack=true\nfinterval=0.23\n"
    tifffile.imwrite(path, irm_frames(T, ROWS, COLS), description=description, metadata=None)
    _fails(path, "truncated: the ImageJ header promises 30 images, the file holds 20")


def test_imagej_stack_with_a_single_ifd(tmp_path):
    frames = irm_frames(T, ROWS, COLS, seed=13)
    path = tmp_path / "over_4gib_style.tif"
    write_imagej_single_ifd(path, frames, finterval_s=0.25)
    movie = open_movie(path)
    assert movie.metadata["n_ifds"] == 1
    _check_frames(movie, frames)
    assert_array_equal(movie.times_s, np.arange(T) * 0.25)
    # the same file cut short: the frames ImageJ promises no longer fit
    cut_file(path, 0.5)
    _fails(path, "truncated: the ImageJ header promises 20 images, the file holds 1")


def test_camera_tiff_resolution_in_cm_and_nominal_times(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=12, seed=6)
    path = tmp_path / "camera.tif"
    write_camera_tiff(path, frames, pixels_per_cm=250_000)
    movie = open_movie(path, nominal_interval_s=0.25)
    _check_frames(movie, frames)
    assert movie.pixel_size_nm == pytest.approx(40.0, rel=1e-12)
    assert movie.pixel_size_source == "metadata: TIFF resolution"
    assert movie.time_source == "nominal"
    assert movie.time_detail == "nominal interval 0.25 s"
    assert_array_equal(movie.times_s, np.arange(T) * 0.25)


def test_document_dpi_is_not_a_pixel_size(tmp_path):
    path = tmp_path / "exported.tif"
    write_camera_tiff(path, irm_frames(3, ROWS, COLS), dpi=72)
    movie = open_movie(path)
    assert movie.pixel_size_nm is None and movie.pixel_size_source is None
    assert movie.metadata["warnings"] == [
        "TIFF resolution 72 pixels/inch implies 3.528e+05 nm pixels, outside 0.01–10000 nm: "
        "a software default, not a calibration; ignored"
    ]


def test_8_bit_tiff(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=8)
    path = tmp_path / "eight.tif"
    write_camera_tiff(path, frames)
    movie = open_movie(path)
    _check_frames(movie, frames)
    assert movie.bit_depth == 8
    assert movie.pixel_size_nm is None


def test_rgb_tiff_becomes_bt601_luma(tmp_path):
    rgb = np.zeros((4, ROWS, COLS, 3), dtype=np.uint8)
    rgb[0, ..., 0] = 255  # red -> 0.299 * 255 = 76.2
    rgb[1, ..., 1] = 255  # green -> 149.7
    rgb[2, ..., 2] = 255  # blue -> 29.1
    rgb[3] = 117  # gray stored as RGB stays exact
    path = tmp_path / "rgb.tif"
    write_camera_tiff(path, rgb, rgb=True)
    movie = open_movie(path)
    assert movie.shape == (4, ROWS, COLS)
    assert_array_equal(movie.frames()[:, 0, 0], [76, 150, 29, 117])


def test_compressed_tiff_is_decoded_page_by_page(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=12, seed=7)
    path = tmp_path / "zlib.tif"
    tifffile.imwrite(path, frames, compression="zlib")
    movie = open_movie(path)
    _check_frames(movie, frames)
    assert movie.metadata["compression"] == 8


# --- AVI ----------------------------------------------------------------------------------


def test_gray_avi_frames_and_container_timestamps(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=8, seed=8)
    path = tmp_path / "MovieS3.avi"
    write_avi(path, frames, fps=Fraction(13, 3))
    with open_movie(path) as movie:
        _check_frames(movie, frames)
        assert movie.bit_depth == 8
        assert movie.time_source == "metadata"
        assert movie.time_detail == "AVI container timestamps (constant 4.33333 frames/s)"
        assert_allclose(movie.times_s, np.arange(T) * 3 / 13, rtol=1e-15, atol=0)
        assert movie.pixel_size_nm is None and movie.pixel_size_source is None
        # reading backwards after reading forwards seeks rather than assuming position
        assert_array_equal(movie.frame(17), frames[17])
        assert_array_equal(movie.frame(2), frames[2])


def test_inter_coded_avi_random_access_decodes_from_the_keyframe(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=8, seed=14)
    path = tmp_path / "ffv1.avi"
    write_avi(path, frames, fps=Fraction(13, 3), codec="ffv1")  # keyframes at 0, 8, 16
    movie = open_movie(path)
    assert movie.metadata["codec"] == "ffv1"
    assert_array_equal(movie.frame(13), frames[13])
    assert_array_equal(movie.frame(2), frames[2])
    assert_array_equal(movie.frames(7, 18), frames[7:18])
    assert_array_equal(np.concatenate(list(movie.iter_chunks(6))), frames)


def test_rgb_avi_becomes_bt601_luma(tmp_path):
    rgb = np.zeros((3, ROWS, COLS, 3), dtype=np.uint8)
    rgb[0, ..., 0] = 255
    rgb[1, ..., 1] = 255
    rgb[2] = 201
    path = tmp_path / "colour.avi"
    write_avi(path, rgb, fps=Fraction(4))
    movie = open_movie(path)
    assert movie.dtype == np.uint8
    assert_array_equal(movie.frames()[:, 5, 5], [76, 150, 201])


def test_avi_with_sidecar_times(tmp_path):
    frames = irm_frames(T, ROWS, COLS, bits=8)
    path = tmp_path / "MovieS2.avi"
    write_avi(path, frames, fps=Fraction(13, 3))
    times = 12.0 + jittered_times_s(T, seed=9)
    csv = tmp_path / "MovieS2_frame_times.csv"
    write_frame_times_csv(csv, times)
    movie = open_movie(path, frame_times_csv=csv)
    assert movie.time_source == "sidecar"
    assert movie.time_detail == "sidecar MovieS2_frame_times.csv"
    assert_array_equal(movie.times_s, times - times[0])
    assert movie.metadata["first_frame_time_s"] == 12.0
    assert movie.metadata["time_detail_in_file"] == (
        "AVI container timestamps (constant 4.33333 frames/s)"
    )


def test_sidecar_errors_surface_through_open_movie(tmp_path):
    path = tmp_path / "m.avi"
    write_avi(path, irm_frames(5, ROWS, COLS, bits=8), fps=Fraction(4))
    csv = tmp_path / "short.csv"
    write_frame_times_csv(csv, np.arange(4) * 0.23)
    with pytest.raises(
        MovieFileError, match=re.escape(f"{csv}: frame 4 missing; the movie has 5 frames (0..4)")
    ):
        open_movie(path, frame_times_csv=csv)


def test_truncated_avi(tmp_path):
    path = tmp_path / "cut.avi"
    write_avi(path, irm_frames(T, ROWS, COLS, bits=8), fps=Fraction(13, 3))
    cut_file(path, 0.5)
    _fails(path, "truncated: the AVI header declares 20 frames, the file holds 10")


# --- given values, laziness ----------------------------------------------------------------


def test_given_pixel_size_wins_and_says_so(tmp_path):
    path = tmp_path / "mm.tif"
    write_micromanager_stack(
        path, irm_frames(3, ROWS, COLS), elapsed_ms=np.arange(3) * 230.0, pixel_size_um=0.04
    )
    movie = open_movie(path, pixel_size_nm=38.5)
    assert movie.pixel_size_nm == 38.5
    assert movie.pixel_size_source == "given"
    assert movie.metadata["pixel_size_in_file"] == {
        "nm": pytest.approx(40.0),
        "source": "metadata: Micro-Manager PixelSizeUm",
    }


def test_reading_one_frame_of_a_large_movie_reads_one_frame(tmp_path):
    n_frames, rows, cols = 120, 256, 256  # 15.7 MB on disk
    frame_bytes = rows * cols * 2
    frames = np.broadcast_to(
        np.arange(n_frames, dtype=np.uint16)[:, None, None], (n_frames, rows, cols)
    )
    path = tmp_path / "long.tif"
    write_camera_tiff(path, frames)
    tracemalloc.start()
    try:
        movie = open_movie(path)
        frame = movie.frame(97)
        _, peak_one = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        means = [chunk.mean(axis=(1, 2)) for chunk in movie.iter_chunks(8)]
        _, peak_chunks = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_array_equal(frame, np.full((rows, cols), 97))
    assert_array_equal(np.concatenate(means), np.arange(n_frames))
    assert [len(m) for m in means] == [8] * 15
    assert peak_one < 10 * frame_bytes  # << the 120 frames of the file
    assert peak_chunks < 8 * frame_bytes * 4


def test_closed_movie_reopens_on_read(tmp_path):
    frames = irm_frames(4, ROWS, COLS)
    path = tmp_path / "m.tif"
    write_camera_tiff(path, frames)
    movie = open_movie(path)
    movie.close()
    assert_array_equal(movie.frame(2), frames[2])
    with pytest.raises(IndexError, match="frame 4 out of range for a movie of 4 frames"):
        movie.frame(4)
    with pytest.raises(IndexError, match="frames 3:5 out of range for a movie of 4 frames"):
        movie.frames(3, 5)
    with pytest.raises(ValueError, match="n_frames must be at least 1, got 0"):
        next(movie.iter_chunks(0))


# --- damaged and hostile files ---------------------------------------------------------------


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    _fails(path, "empty file (0 bytes)")


def test_missing_file(tmp_path):
    _fails(tmp_path / "absent.tif", "file not found")


def test_garbage_with_tif_extension(tmp_path):
    path = tmp_path / "garbage.tif"
    data = np.random.default_rng(11).bytes(4096)
    path.write_bytes(data)
    _fails(
        path,
        f"not a TIFF file (first bytes {data[:8].hex(' ')}; a TIFF starts with "
        f"49 49 2a 00 or 4d 4d 00 2a)",
    )
    assert issubclass(MovieFileError, MeniscusError)


def test_other_formats_are_unsupported(tmp_path):
    path = tmp_path / "frame.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    _fails(
        path, "unsupported movie format (first bytes 89 50 4e 47 0d 0a 1a 0a); expected TIFF or AVI"
    )
    avi = tmp_path / "garbage.avi"
    avi.write_bytes(b"RIFF" + bytes(4) + b"AVI " + bytes(100))
    _fails_like(avi, r"corrupt AVI: .*")


@pytest.mark.parametrize("writer", ["micromanager", "ome", "imagej", "camera"])
def test_file_cut_in_half_is_truncated_not_shorter(tmp_path, writer):
    frames = irm_frames(T, ROWS, COLS)
    path = tmp_path / f"{writer}.tif"
    if writer == "micromanager":
        write_micromanager_stack(path, frames, elapsed_ms=np.arange(T) * 230.0)
    elif writer == "ome":
        write_ome_tiff(path, frames, physical_size=0.04, unit="µm")
    elif writer == "imagej":
        write_imagej_hyperstack(path, frames, pixel_size_um=0.04, finterval_s=0.23)
    else:
        write_camera_tiff(path, frames)
    cut_file(path, 0.5)
    size = path.stat().st_size
    _fails_like(path, rf"truncated: .*beyond the end of the file \({size} bytes\).*")


def test_micromanager_cut_just_before_its_index_map(tmp_path):
    path = tmp_path / "mm.tif"
    write_micromanager_stack(path, irm_frames(T, ROWS, COLS), elapsed_ms=np.arange(T) * 230.0)
    data = path.read_bytes()
    index_at = int.from_bytes(data[12:16], "big")
    path.write_bytes(data[:index_at])  # every image intact, index map and what follows lost
    _fails(
        path,
        f"truncated: the Micro-Manager index map should start at byte {index_at}, "
        f"beyond the end of the file ({index_at} bytes)",
    )


def test_header_claiming_100000_by_100000_pixels(tmp_path):
    path = tmp_path / "absurd.tif"
    write_tiff_claiming(path, rows=100_000, cols=100_000, bits=16)
    assert path.stat().st_size < 300
    _fails(
        path,
        "declared image data 18.6 GiB (1 frame(s) × 100000 × 100000 px × 2 byte(s)) "
        "exceeds the limit 16.0 GiB (max_bytes=17179869184)",
    )


def test_header_claiming_more_data_than_the_file_holds(tmp_path):
    path = tmp_path / "claims.tif"
    write_tiff_claiming(path, rows=20_000, cols=20_000, bits=8)
    size = path.stat().st_size
    _fails(
        path,
        f"truncated: frame 0 (IFD 0) data runs to byte {122 + 400_000_000}, beyond the "
        f"end of the file ({size} bytes)",
    )


def test_max_bytes_is_configurable(tmp_path):
    path = tmp_path / "m.tif"
    write_camera_tiff(path, irm_frames(T, ROWS, COLS))
    _fails(
        path,
        "declared image data 120.0 KiB (20 frame(s) × 64 × 48 px × 2 byte(s)) exceeds "
        "the limit 97.7 KiB (max_bytes=100000)",
        max_bytes=100_000,
    )


def test_float_tiff_is_not_camera_data(tmp_path):
    path = tmp_path / "processed.tif"
    tifffile.imwrite(path, np.zeros((4, ROWS, COLS), dtype=np.float32), photometric="minisblack")
    _fails(
        path,
        "unsupported sample type float32 (32 bits); expected 8- or 16-bit unsigned camera data",
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"pixel_size_nm": -40.0}, "pixel_size_nm=-40.0 must be a positive, finite number of nm"),
        (
            {"pixel_size_nm": float("nan")},
            "pixel_size_nm=nan must be a positive, finite number of nm",
        ),
        ({"nominal_interval_s": 0}, "nominal_interval_s=0 must be a positive, finite number of s"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, problem):
    path = tmp_path / "m.tif"
    write_camera_tiff(path, irm_frames(2, ROWS, COLS))
    _fails(path, problem, **kwargs)


def _patch_mm_index_entry(path: Path, entry: int, ifd_offset: int) -> None:
    """Point index map entry ``entry`` of a Micro-Manager stack at ``ifd_offset``."""
    data = bytearray(path.read_bytes())
    index_at = int.from_bytes(data[12:16], "big")
    at = index_at + 8 + 20 * entry + 16
    data[at : at + 4] = ifd_offset.to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_micromanager_index_map_pointing_outside_the_file(tmp_path):
    path = tmp_path / "mm.tif"
    write_micromanager_stack(path, irm_frames(6, ROWS, COLS), elapsed_ms=np.arange(6) * 230.0)
    size = path.stat().st_size
    _patch_mm_index_entry(path, 3, size + 4096)
    _fails(
        path,
        f"truncated: the Micro-Manager index map puts frame 3 at byte {size + 4096}, "
        f"beyond the end of the file ({size} bytes)",
    )


def test_micromanager_index_map_pointing_between_images(tmp_path):
    path = tmp_path / "mm.tif"
    write_micromanager_stack(path, irm_frames(6, ROWS, COLS), elapsed_ms=np.arange(6) * 230.0)
    with tifffile.TiffFile(path) as tif:
        inside_pixels = tif.pages[2].dataoffsets[0] + 100
    _patch_mm_index_entry(path, 2, inside_pixels)
    _fails(
        path,
        f"corrupt: the Micro-Manager index map puts frame 2 at byte {inside_pixels}, "
        f"where no IFD of the file is",
    )


def test_bigtiff_with_a_thumbnail_series(tmp_path):
    frames = irm_frames(T, ROWS, COLS, seed=12)
    path = tmp_path / "big.tif"
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(frames, metadata=None)
        tif.write(np.zeros((8, 6), dtype=np.uint8), metadata=None)  # a preview image
    movie = open_movie(path)
    _check_frames(movie, frames)
    assert movie.metadata["warnings"] == [
        "the file holds 2 image series; the first (IYX (20, 64, 48)) is read, not YX (8, 6)"
    ]
