"""Store uploaded files safely: generated names, checked size, type and content, atomic writes.

An upload is stored as ``<data_dir>/uploads/<category>/<uuid4 hex><ext>``: the name a browser
sent is never used as a path. It is kept only as display text, after :func:`display_name` has
removed folders (``/`` and ``\\``), NUL and other control characters, Windows device names
(``CON``, ``NUL``, ``COM1``...) and excess length. The extension must be an allowed one and
the first bytes must be those of that format, so a renamed executable is refused.

Size is checked before anything is decoded or written: a browser's base64 data URL is
measured before it is decoded (:func:`decode_data_url`), and the bytes against the per-file
limit again before they are written. The file is written under a temporary name in its folder,
fsynced and renamed, so a failure leaves nothing behind; its SHA-256 is returned for the
ledger.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.errors import MeniscusError
from core.io.atomic import write_bytes_atomically

#: folder of uploads inside the data folder
UPLOADS_FOLDER = "uploads"
#: extension accepted → the one a stored file gets (one spelling per format)
ALLOWED_EXTENSIONS = {".tif": ".tif", ".tiff": ".tif", ".png": ".png", ".jpg": ".jpg",
                      ".jpeg": ".jpg"}
#: stored extension → (format name, accepted leading bytes)
_SIGNATURES = {
    ".tif": ("TIFF", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ".png": ("PNG", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("JPEG", (b"\xff\xd8\xff",)),
}
#: longest display name kept, characters (the ``sem_images.original_name`` column)
MAX_NAME_LENGTH = 255
#: display name of an upload whose name has nothing left after sanitising
FALLBACK_NAME = "upload"
#: names Windows reserves for devices, whatever the extension
WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)
_BYTES_PER_MB = 1_000_000
#: the categories of upload folders (a category is a folder name: no path may come in)
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class UploadRefused(MeniscusError):
    """An uploaded file is not stored: too large, a type not allowed, or not what it claims."""


@dataclass(frozen=True)
class StoredUpload:
    """An upload written to the data folder.

    Attributes
    ----------
    path : str
        Where it is, relative to the data folder (POSIX separators), e.g.
        ``uploads/sem/3f2c...e1.tif``.
    display_name : str
        The sanitised name the user gave (display text only, never a path).
    sha256 : str
        SHA-256 of the bytes, hex.
    size_bytes : int
        Size, bytes.
    """

    path: str
    display_name: str
    sha256: str
    size_bytes: int


def max_upload_bytes(max_upload_mb: float) -> int:
    """The per-file limit in bytes for a limit in MB (10⁶ bytes, as ``MENISCUS_MAX_UPLOAD_MB``)."""
    return int(max_upload_mb * _BYTES_PER_MB)


def display_name(original: str) -> str:
    """``original`` made safe to show and to keep: last path component, no control characters,
    no Windows device name, at most :data:`MAX_NAME_LENGTH` characters (extension kept).

    Never used as a path; stored files get generated names (:func:`store_upload`).
    """
    text = unicodedata.normalize("NFC", str(original))
    text = "".join(char for char in text if unicodedata.category(char)[0] != "C")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = text.strip().strip(".").strip()  # "..", " . " and Windows' trailing dots
    if not text:
        return FALLBACK_NAME
    if text.split(".", 1)[0].strip().upper() in WINDOWS_DEVICE_NAMES:
        text = f"_{text}"
    if len(text) > MAX_NAME_LENGTH:
        suffix = Path(text).suffix if len(Path(text).suffix) <= 16 else ""
        text = text[:MAX_NAME_LENGTH - len(suffix)] + suffix
    return text


def stored_extension(name: str) -> str:
    """The extension a file named ``name`` is stored with; :class:`UploadRefused` when its
    extension is not one of :data:`ALLOWED_EXTENSIONS` (case does not matter)."""
    extension = Path(display_name(name)).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(ALLOWED_EXTENSIONS)
        found = f"extension {extension!r}" if extension else "no extension"
        raise UploadRefused(f"{display_name(name)}: {found} is not accepted; allowed: {allowed}")
    return ALLOWED_EXTENSIONS[extension]


def check_size(name: str, size_bytes: int, max_bytes: int) -> None:
    """Refuse an upload of ``size_bytes`` over ``max_bytes`` (or an empty one)."""
    if size_bytes > max_bytes:
        raise UploadRefused(
            f"{display_name(name)}: {size_bytes / _BYTES_PER_MB:.1f} MB is over the upload "
            f"limit of {max_bytes / _BYTES_PER_MB:g} MB per file (MENISCUS_MAX_UPLOAD_MB)"
        )
    if size_bytes == 0:
        raise UploadRefused(f"{display_name(name)}: the file is empty")


def decode_data_url(contents: str, name: str, *, max_bytes: int) -> bytes:
    """The bytes of a browser data URL (``data:<type>;base64,<data>``), e.g. the
    ``contents`` of a ``dcc.Upload``; the size is checked before decoding."""
    header, comma, encoded = str(contents).partition(",")
    if not comma or not header.startswith("data:") or not header.endswith(";base64"):
        raise UploadRefused(f"{display_name(name)}: not a base64 data URL")
    padding = len(encoded) - len(encoded.rstrip("="))
    check_size(name, len(encoded) * 3 // 4 - padding, max_bytes)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise UploadRefused(f"{display_name(name)}: damaged base64 data ({error})") from None


def check_content(name: str, extension: str, data: bytes) -> None:
    """Refuse bytes that do not start like the format ``extension`` names."""
    label, signatures = _SIGNATURES[extension]
    if not data.startswith(signatures):
        raise UploadRefused(
            f"{display_name(name)}: not a {label} file (first bytes {data[:8].hex(' ')})"
        )


def store_upload(
    data_dir: str | os.PathLike,
    category: str,
    original_name: str,
    data: bytes,
    *,
    max_bytes: int,
) -> StoredUpload:
    """Check and write an upload under a generated name; return where it is and its SHA-256.

    Parameters
    ----------
    data_dir : the data folder.
    category : sub-folder of ``uploads`` (lower-case letters, digits, ``_``), e.g. ``"sem"``.
    original_name : the name the browser sent (display text only).
    data : the file's bytes.
    max_bytes : the per-file limit, bytes.

    Raises
    ------
    UploadRefused
        Over the limit, empty, an extension not allowed, or content of another format.
    """
    if not _CATEGORY.match(category):
        raise ValueError(f"upload category {category!r} is not a plain folder name")
    check_size(original_name, len(data), max_bytes)
    extension = stored_extension(original_name)
    check_content(original_name, extension, data)
    relative = Path(UPLOADS_FOLDER) / category / f"{uuid.uuid4().hex}{extension}"
    target = Path(data_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(target, data)
    return StoredUpload(path=relative.as_posix(), display_name=display_name(original_name),
                        sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def discard_upload(data_dir: str | os.PathLike, stored: StoredUpload) -> None:
    """Delete a stored upload (its registration failed); missing is fine."""
    (Path(data_dir) / stored.path).unlink(missing_ok=True)
