"""Uploads: hostile names stored under generated names, limits, types, nothing left behind."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from core.storage.uploads import (
    FALLBACK_NAME,
    MAX_NAME_LENGTH,
    UploadRefused,
    decode_data_url,
    discard_upload,
    display_name,
    max_upload_bytes,
    store_upload,
)

TIFF = b"II*\x00" + bytes(range(60))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
GENERATED = re.compile(r"^uploads/sem/[0-9a-f]{32}\.(tif|png|jpg)$")


def _files(folder):
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(("sent", "shown"), [
    ("../../etc/passwd", "passwd"),
    ("/abs/path.tif", "path.tif"),
    ("C:\\x\\..\\y.tif", "y.tif"),
    ("CON.tif", "_CON.tif"),
    ("nul", "_nul"),
    ("com1.tiff", "_com1.tiff"),
    ("lpt9", "_lpt9"),
    ("spot\x00.tif", "spot.tif"),
    ("r01c02\x1b[31m.tif\n", "r01c02[31m.tif"),
    ("évidence_µm_r1c2.TIF", "évidence_µm_r1c2.TIF"),
    ("..", FALLBACK_NAME),
    ("", FALLBACK_NAME),
    ("a/b/", FALLBACK_NAME),
    ("console.tif", "console.tif"),  # only the exact device names are changed
])
def test_display_names_keep_no_folder_control_character_or_device_name(sent, shown):
    assert display_name(sent) == shown


def test_long_names_are_cut_to_255_characters_keeping_the_extension():
    name = display_name("x" * 300 + ".tiff")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("x.tiff")
    assert len(display_name("ü" * 300)) == MAX_NAME_LENGTH


@pytest.mark.parametrize("hostile", [
    "../../etc/passwd.tif", "/abs/path.tif", "C:\\x\\..\\y.tif", "CON.tif",
    "name\x00.tif", "x" * 300 + ".tif", "日本語の画像.tif", "..\\..\\boot.ini.tif",
])
def test_hostile_names_are_stored_under_generated_names_inside_the_folder(tmp_path, hostile):
    stored = store_upload(tmp_path, "sem", hostile, TIFF, max_bytes=1000)

    assert GENERATED.match(stored.path)
    [written] = _files(tmp_path)
    assert written == tmp_path / stored.path
    assert written.read_bytes() == TIFF
    assert stored.sha256 == hashlib.sha256(TIFF).hexdigest()
    assert stored.size_bytes == len(TIFF)
    assert stored.display_name == display_name(hostile)
    assert "/" not in stored.display_name and "\\" not in stored.display_name
    assert "\x00" not in stored.display_name and len(stored.display_name) <= 255


def test_two_uploads_of_one_name_get_two_files(tmp_path):
    first = store_upload(tmp_path, "sem", "a.png", PNG, max_bytes=1000)
    second = store_upload(tmp_path, "sem", "a.png", PNG, max_bytes=1000)
    assert first.path != second.path
    assert len(_files(tmp_path)) == 2


def test_oversized_uploads_are_refused_with_the_size_and_limit(tmp_path):
    with pytest.raises(UploadRefused, match=r"big\.tif: 2\.0 MB is over the upload limit "
                                            r"of 1 MB per file"):
        store_upload(tmp_path, "sem", "big.tif", TIFF + bytes(2_000_000 - len(TIFF)),
                     max_bytes=max_upload_bytes(1))
    assert _files(tmp_path) == []


@pytest.mark.parametrize(("name", "message"), [
    ("nul", r"_nul: no extension is not accepted; allowed: \.tif, \.tiff, \.png"),
    ("run.exe", r"run\.exe: extension '\.exe' is not accepted"),
    ("image.tif.php", r"extension '\.php' is not accepted"),
])
def test_other_extensions_are_refused(tmp_path, name, message):
    with pytest.raises(UploadRefused, match=message):
        store_upload(tmp_path, "sem", name, TIFF, max_bytes=1000)
    assert _files(tmp_path) == []


def test_content_of_another_format_is_refused(tmp_path):
    with pytest.raises(UploadRefused, match=r"fake\.tif: not a TIFF file \(first bytes 4d 5a"):
        store_upload(tmp_path, "sem", "fake.tif", b"MZ\x90\x00" + b"\x00" * 20, max_bytes=1000)
    with pytest.raises(UploadRefused, match="the file is empty"):
        store_upload(tmp_path, "sem", "empty.png", b"", max_bytes=1000)
    assert _files(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def refuse(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("core.storage.uploads.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        store_upload(tmp_path, "sem", "a.tif", TIFF, max_bytes=1000)
    assert _files(tmp_path) == []


def test_a_category_cannot_smuggle_a_path(tmp_path):
    with pytest.raises(ValueError, match="not a plain folder name"):
        store_upload(tmp_path, "../sem", "a.tif", TIFF, max_bytes=1000)


def test_discarding_removes_the_stored_file(tmp_path):
    stored = store_upload(tmp_path, "sem", "a.tif", TIFF, max_bytes=1000)
    discard_upload(tmp_path, stored)
    discard_upload(tmp_path, stored)  # twice is harmless
    assert _files(tmp_path) == []


def test_data_urls_are_measured_before_they_are_decoded():
    encoded = "data:image/tiff;base64," + base64.b64encode(TIFF).decode()
    assert decode_data_url(encoded, "a.tif", max_bytes=len(TIFF)) == TIFF
    with pytest.raises(UploadRefused, match="over the upload limit"):
        decode_data_url(encoded, "a.tif", max_bytes=len(TIFF) - 1)
    with pytest.raises(UploadRefused, match="a.tif: not a base64 data URL"):
        decode_data_url("hello", "a.tif", max_bytes=100)
    with pytest.raises(UploadRefused, match="damaged base64 data"):
        decode_data_url("data:image/tiff;base64,@@@@", "a.tif", max_bytes=100)
