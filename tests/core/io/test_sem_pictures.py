"""SEM images in any accepted format: TIFF with its calibration, PNG/JPEG with a given size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import SemImageFileError
from core.io.image_writers import write_sem_tiff
from core.io.sem_pictures import read_sem_picture


def test_a_tiff_keeps_its_calibration(tmp_path):
    image = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)
    write_sem_tiff(tmp_path / "a.TIF", image, pixel_size_nm=4.88)
    sem = read_sem_picture(tmp_path / "a.TIF")
    assert sem.pixel_size_nm == pytest.approx(4.88, rel=1e-6)
    assert np.array_equal(sem.image, image)


def test_png_and_jpeg_become_grey_with_the_pixel_size_given(tmp_path):
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "a.jpeg", quality=95)
    png = read_sem_picture(tmp_path / "a.png", pixel_size_nm=12.5)
    assert png.image.shape == (20, 30) and png.image.dtype == np.uint8
    assert (png.pixel_size_nm, png.pixel_size_source) == (12.5, "given")
    assert int(png.image[0, 0]) == round(0.587 * 200)  # BT.601 luma
    jpeg = read_sem_picture(tmp_path / "a.jpeg")
    assert jpeg.pixel_size_nm is None and jpeg.metadata["format"] == "JPEG"


def test_a_16_bit_png_keeps_its_depth(tmp_path):
    image = (np.arange(100, dtype=np.uint16) * 600).reshape(10, 10)
    Image.fromarray(image).save(tmp_path / "deep.png")
    assert read_sem_picture(tmp_path / "deep.png").image.max() == 99 * 600


def test_oversized_and_damaged_pictures_are_refused_before_decoding(tmp_path):
    Image.fromarray(np.zeros((50, 40), dtype=np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(SemImageFileError, match=r"big\.png: 40 × 50 px is over the limit of "
                                                r"1000 pixels"):
        read_sem_picture(tmp_path / "big.png", max_pixels=1000)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 30)
    with pytest.raises(SemImageFileError, match=r"bad\.jpg: cannot read the image"):
        read_sem_picture(tmp_path / "bad.jpg")
