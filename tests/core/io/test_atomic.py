"""Atomic writes: the whole new content or the old file, never half, never a stray file."""

from __future__ import annotations

import os

import pytest

from core.io import atomic
from core.io.atomic import write_bytes_atomically, write_text_atomically


def test_bytes_replace_the_file_whole_and_leave_no_temporary_file(tmp_path):
    target = tmp_path / "frame.bin"
    target.write_bytes(b"old content that is longer")
    data = bytes(range(256)) * 4
    write_bytes_atomically(target, data)
    assert target.read_bytes() == data
    assert os.listdir(tmp_path) == ["frame.bin"]


def test_text_is_utf8_with_its_line_ends_as_given(tmp_path):
    target = tmp_path / "notes.csv"
    write_text_atomically(target, "µm,Å\r\nline 2\n")
    assert target.read_bytes() == "µm,Å\r\nline 2\n".encode()


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary_one(tmp_path,
                                                                         monkeypatch):
    target = tmp_path / "table.csv"
    target.write_bytes(b"old")

    def fail(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_bytes_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["table.csv"]
