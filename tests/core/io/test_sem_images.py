"""read_sem_image on SEM TIFFs written as FEI/Thermo and Zeiss write them, and damaged files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from numpy.testing import assert_array_equal

from core.errors import MeniscusError
from core.io.sem_images import SemImageFileError, read_sem_image
from tests.core.io.instrument_files import (
    cut_file,
    write_fei_sem_tiff,
    write_tiff_claiming,
    write_zeiss_sem_tiff,
)

ROWS, COLS = 48, 64


def _scan(dtype=np.uint8, seed: int = 0) -> np.ndarray:
    high = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, high, (ROWS, COLS), dtype=dtype, endpoint=True)


def _fails(path: Path, problem: str, **kwargs) -> None:
    with pytest.raises(SemImageFileError, match=f"^{re.escape(f'{path}: {problem}')}$"):
        read_sem_image(path, **kwargs)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_fei_pixel_width_and_data_bar_removed(tmp_path, dtype):
    scan = _scan(dtype)
    path = tmp_path / "footprint_B4_001.tif"
    stored = write_fei_sem_tiff(path, scan, pixel_width_m=2.5e-9, data_bar_rows=11)
    assert stored.shape == (ROWS + 11, COLS)
    sem = read_sem_image(path)
    assert sem.image.dtype == dtype
    assert_array_equal(sem.image, scan)  # the bar's rows are gone, the scan untouched
    assert sem.pixel_size_nm == pytest.approx(2.5, rel=1e-12)
    assert sem.pixel_size_source == "metadata: FEI PixelWidth"
    assert sem.metadata["data_bar_rows_removed"] == 11
    assert sem.metadata["instrument"] == "FEI/Thermo Fisher"
    assert sem.metadata["fei"]["System"]["SystemType"] == "Scios"
    assert sem.metadata["warnings"] == []


def test_fei_image_saved_as_rgb_becomes_gray(tmp_path):
    scan = _scan()
    path = tmp_path / "rgb.tif"
    write_fei_sem_tiff(path, scan, pixel_width_m=4.1e-9, rgb=True)
    sem = read_sem_image(path)
    assert_array_equal(sem.image, scan)
    assert sem.pixel_size_nm == pytest.approx(4.1, rel=1e-12)


def test_fei_image_resampled_after_acquisition_has_no_pixel_size(tmp_path):
    path = tmp_path / "resized.tif"
    write_fei_sem_tiff(path, _scan(), pixel_width_m=2.5e-9, scan_size=(1536, 1024))
    sem = read_sem_image(path)
    assert sem.pixel_size_nm is None and sem.pixel_size_source is None
    assert sem.metadata["warnings"] == [
        "image is 64 px wide but the FEI scan was 1536 px (ResolutionX): resampled after "
        "acquisition; PixelWidth not used",
        "FEI ResolutionY 1024 exceeds the stored height 56: data bar not removed",
    ]
    assert sem.image.shape == (ROWS + 8, COLS)


def test_zeiss_pixel_size(tmp_path):
    scan = _scan()
    path = tmp_path / "zeiss.tif"
    write_zeiss_sem_tiff(path, scan, pixel_size_nm=2.955)
    sem = read_sem_image(path)
    assert_array_equal(sem.image, scan)
    assert sem.pixel_size_nm == pytest.approx(2.955, rel=1e-12)
    assert sem.pixel_size_source == "metadata: Zeiss pixel size"
    assert sem.metadata["instrument"] == "Zeiss"


@pytest.mark.parametrize(
    ("per_unit", "unit", "expected_nm"), [(4e6, "CENTIMETER", 2.5), (1e7, "INCH", 2.54)]
)
def test_tiff_resolution_in_cm_or_inch(tmp_path, per_unit, unit, expected_nm):
    path = tmp_path / "exported.tif"
    tifffile.imwrite(
        path, _scan(), resolution=(per_unit, per_unit), resolutionunit=unit, metadata=None
    )
    sem = read_sem_image(path)
    assert sem.pixel_size_nm == pytest.approx(expected_nm, rel=1e-12)
    assert sem.pixel_size_source == "metadata: TIFF resolution"


def test_dpi_default_is_ignored_and_given_pixel_size_wins(tmp_path):
    path = tmp_path / "screenshot.tif"
    tifffile.imwrite(path, _scan(), resolution=(96, 96), resolutionunit="INCH", metadata=None)
    sem = read_sem_image(path)
    assert sem.pixel_size_nm is None and sem.pixel_size_source is None
    assert sem.metadata["warnings"] == [
        "TIFF resolution 96 pixels/inch implies 2.646e+05 nm pixels, outside 0.01–10000 nm: "
        "a software default, not a calibration; ignored"
    ]
    fei = tmp_path / "fei.tif"
    write_fei_sem_tiff(fei, _scan(), pixel_width_m=2.5e-9)
    sem = read_sem_image(fei, pixel_size_nm=2.7)
    assert sem.pixel_size_nm == 2.7
    assert sem.pixel_size_source == "given"
    assert sem.metadata["pixel_size_in_file"] == {
        "nm": pytest.approx(2.5),
        "source": "metadata: FEI PixelWidth",
    }


def test_min_is_white_and_palette_images(tmp_path):
    scan = _scan()
    inverted = tmp_path / "miniswhite.tif"
    tifffile.imwrite(inverted, 255 - scan, photometric="miniswhite", metadata=None)
    assert_array_equal(read_sem_image(inverted).image, scan)
    palette = tmp_path / "palette.tif"
    gray_ramp = np.tile(np.arange(256, dtype=np.uint16) * 257, (3, 1))
    tifffile.imwrite(palette, scan, photometric="palette", colormap=gray_ramp, metadata=None)
    assert_array_equal(read_sem_image(palette).image, scan)


def test_damaged_files(tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    _fails(empty, "empty file (0 bytes)")
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"JFIF" + bytes(60))
    _fails(
        garbage,
        "not a TIFF file (first bytes 4a 46 49 46 00 00 00 00; a TIFF starts with "
        "49 49 2a 00 or 4d 4d 00 2a)",
    )
    absurd = tmp_path / "absurd.tif"
    write_tiff_claiming(absurd, rows=100_000, cols=100_000, bits=16)
    _fails(
        absurd,
        "declared image data 18.6 GiB (1 frame(s) × 100000 × 100000 px × 2 byte(s)) "
        "exceeds the limit 16.0 GiB (max_bytes=17179869184)",
    )
    _fails(
        absurd,
        "declared image data 18.6 GiB (1 frame(s) × 100000 × 100000 px × 2 byte(s)) "
        "exceeds the limit 1.0 GiB (max_bytes=1073741824)",
        max_bytes=2**30,
    )
    claims = tmp_path / "claims.tif"
    write_tiff_claiming(claims, rows=20_000, cols=20_000, bits=8)
    _fails(
        claims,
        f"truncated: image data runs to byte {122 + 400_000_000}, beyond the end of "
        f"the file ({claims.stat().st_size} bytes)",
    )
    assert issubclass(SemImageFileError, MeniscusError)


def test_sem_file_cut_in_half(tmp_path):
    path = tmp_path / "cut.tif"
    write_fei_sem_tiff(path, _scan(np.uint16), pixel_width_m=2.5e-9)
    cut_file(path, 0.5)
    size = path.stat().st_size
    with pytest.raises(
        SemImageFileError, match=rf"^{re.escape(str(path))}: truncated: .*\({size} bytes\)$"
    ):
        read_sem_image(path)
