"""Read and write trace files: delimited text tables of time, potential and current.

Reading (:func:`read_trace`)
----------------------------
A trace file is a text table with one header row naming the columns, then one row per sample:

- **Delimiter**: tab, semicolon or comma, detected from the header row (in that order of
  preference). With tab or semicolon delimiters a decimal comma (``0,25``) is accepted, as
  European-locale exports write it. Quoted cells must not contain the delimiter.
- **Leading comment lines** starting with ``#`` are skipped; ``# key: value`` lines become
  ``Trace.metadata[key]`` (the value is decoded as JSON when it is valid JSON, else kept as
  text). Blank lines and later ``#`` lines are skipped as well. If the column names sit in the
  last leading comment line (``numpy.savetxt(header=...)`` style), they are used.
  EC-Lab ``.mpt`` text exports (``EC-Lab ASCII FILE`` / ``Nb header lines : N``) are read from
  their header row on.
- **Encoding**: UTF-8 (a byte-order mark is tolerated), UTF-16 with a byte-order mark, or
  Latin-1/Windows-1252 as a fallback, so ``µA`` headers from Windows software read correctly.
- **Columns** are found by name and unit, in any order; extra columns are ignored. Accepted
  spellings, each with a unit as ``name_unit``, ``name/unit``, ``name (unit)`` or
  ``name [unit]`` (case-insensitive; a trailing ``vs. <reference>`` in the unit is ignored):

  ===========  ================================================================  =============
  quantity     names, in order of preference when several are present            units
  ===========  ================================================================  =============
  time         ``time``, ``t``, ``elapsed time``, ``test time``                  s, sec, ms,
                                                                                 µs/us, min, h
  potential    ``potential``, ``E``, ``Ewe``, ``WE(1).Potential``, ``E we``,     V, mV, µV/uV
               ``working electrode potential``, ``voltage``, ``<Ewe>``
  current      ``current``, ``I``, ``WE(1).Current``, ``<I>``                    A, mA, µA/uA,
                                                                                 nA, pA
  ===========  ================================================================  =============

  For example ``time_s``, ``Time (s)``, ``t/ms``, ``Ewe/V``, ``E (V)``, ``Potential/mV``,
  ``<I>/mA``, ``I (µA)``, ``current_nA``, ``WE(1).Current (A)`` (Metrohm Autolab NOVA),
  ``time/s``, ``Ewe/V``, ``<I>/mA`` (BioLogic EC-Lab). Columns such as
  ``Potential applied (V)`` or ``control/V/mA`` (set-points) are not measurements and are
  ignored. A recognised name without a unit, or with an unknown unit, is an error: guessing
  A where the file holds mA would silently scale every result by 1000.
- **Required columns**: time and potential always; current too unless
  ``require_current=False`` (a chronopotentiometry export may hold only E–t; the trace's
  current is then all NaN, meaning "not recorded").
- **Values**: every used cell must be a finite number; time must strictly increase. Values are
  converted to s, V and A (sub-units by exact division, so ``0.5`` ms gives ``0.0005`` s).

Every problem raises :class:`core.errors.TraceFileError` whose message is one line naming the
file and the problem (line numbers are the file's, counted from 1).

Writing (:func:`write_trace`)
-----------------------------
``write_trace`` writes ``time_s,potential_V,current_A`` as comma-separated text with every
value in Python's shortest round-trip form (reading it back gives the same float64 bits), with
the trace's metadata as leading ``# key: <json>`` lines. With ``truth`` it also writes the
ground truth as a JSON **sidecar** ``<file>.truth.json`` next to the trace (``a.csv`` →
``a.csv.truth.json``); without ``truth`` a sidecar left by an earlier file of the same name is
removed, since it would describe other data. Both files are written to temporary names,
fsynced and renamed into place (sidecar first), so a reader never sees a half-written file.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from core.errors import TraceFileError
from core.io.atomic import write_text_atomically
from core.traces import Trace

#: suffix appended to a trace file's name for its ground-truth sidecar
TRUTH_SUFFIX = ".truth.json"

#: the header :func:`write_trace` writes
CANONICAL_HEADER = ("time_s", "potential_V", "current_A")

_DELIMITERS = ("\t", ";", ",")
_SNIFF_BYTES = 8192

# Accepted column names per quantity (normalised: lower case, '_' as space, single spaces),
# earliest first when a file holds several candidates.
_NAMES: dict[str, tuple[str, ...]] = {
    "time": ("time", "t", "elapsed time", "test time"),
    "potential": (
        "potential",
        "e",
        "ewe",
        "we(1).potential",
        "e we",
        "working electrode potential",
        "voltage",
        "<ewe>",
    ),
    "current": ("current", "i", "we(1).current", "<i>"),
}

# Units per quantity (lower case, 'µ'/'μ' written 'u') as exact factors to the SI unit.
_UNITS: dict[str, dict[str, Fraction]] = {
    "time": {
        "s": Fraction(1),
        "sec": Fraction(1),
        "ms": Fraction(1, 1000),
        "us": Fraction(1, 1_000_000),
        "min": Fraction(60),
        "h": Fraction(3600),
    },
    "potential": {"v": Fraction(1), "mv": Fraction(1, 1000), "uv": Fraction(1, 1_000_000)},
    "current": {
        "a": Fraction(1),
        "ma": Fraction(1, 10**3),
        "ua": Fraction(1, 10**6),
        "na": Fraction(1, 10**9),
        "pa": Fraction(1, 10**12),
    },
}
_UNIT_LABELS = {
    "time": "s, sec, ms, µs/us, min, h",
    "potential": "V, mV, µV/uV",
    "current": "A, mA, µA/uA, nA, pA",
}
_EXAMPLES = {
    "time": "time_s, Time (s), time/s, t/ms",
    "potential": "potential_V, E (V), Ewe/V, Potential/mV, WE(1).Potential (V)",
    "current": "current_A, I (µA), <I>/mA, current_nA, WE(1).Current (A)",
}
_SI_NAME = {"time": "time_s", "potential": "potential_V", "current": "current_A"}

_PAREN_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^()\[\]]*)[\)\]]$")
_REFERENCE_SUFFIX = re.compile(r"\s+vs\.?(\s.*)?$", re.IGNORECASE)
# What numpy.loadtxt accepts as a float, so diagnosis and fast path agree on what is a number.
_NUMBER = re.compile(r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|nan|inf|infinity)$", re.IGNORECASE)
_SKIPPED_LINE = re.compile(r"^[ \t]*(#|$)", re.MULTILINE)
_ECLAB_FIRST_LINE = "EC-Lab ASCII FILE"
_ECLAB_HEADER_LINES = re.compile(r"^\s*Nb header lines\s*:\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class _Column:
    """Where one quantity sits in the file and how to convert it to SI."""

    quantity: str
    index: int
    header: str
    factor: Fraction
    preference: int


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def read_trace(path: str | os.PathLike, *, require_current: bool = True) -> Trace:
    """Read a trace file (CSV/TSV/semicolon table) into a :class:`~core.traces.Trace`.

    The accepted layouts, column names and units are listed in this module's docstring.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    require_current : bool, keyword-only
        When True (default) a current column is required. When False a file without one is
        accepted and the trace's ``current_A`` is all NaN (not recorded); galvanostatic
        analysis needs only time and potential, cyclic voltammetry needs all three.

    Returns
    -------
    Trace
        ``time_s``, ``potential_V``, ``current_A``: (N,) float64 arrays in s, V and A, N >= 1.
        ``metadata`` holds the ``# key: value`` comment lines plus ``source_path`` (the path
        read) and ``source_columns`` (which header each quantity came from).

    Raises
    ------
    TraceFileError
        The file is missing, unreadable, binary or empty; a required column is missing or
        ambiguous; a unit is unknown; a row is ragged; a cell is not a finite number; or time
        does not strictly increase. The message is one line naming the file and the problem.
    """
    path = Path(path)
    # Only \n, \r\n and \r end lines (str.splitlines would also split at \x0c, \x85 ...).
    lines = _read_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    metadata, first = _leading_comments(path, lines)
    data_start, delimiter, headers = _locate_header(path, lines, first)
    columns = _find_columns(path, headers, require_current=require_current)

    data, line_numbers = _data_lines(lines, data_start)
    if not data:
        raise TraceFileError(path, "header row but no data rows")
    _check_field_counts(path, data, line_numbers, delimiter, len(headers))
    used = sorted(columns.values(), key=lambda c: c.index)
    values = _parse_numbers(path, data, line_numbers, delimiter, used)
    arrays = {}
    for position, column in enumerate(used):
        arrays[column.quantity] = _to_si(values[:, position], column.factor)
    _check_increasing(path, arrays["time"], columns["time"], data, line_numbers, delimiter)

    n = len(arrays["time"])
    current = arrays.get("current", np.full(n, np.nan))
    metadata["source_path"] = str(path)
    metadata["source_columns"] = {_SI_NAME[c.quantity]: c.header for c in used}
    return Trace(
        time_s=arrays["time"],
        potential_V=arrays["potential"],
        current_A=current,
        metadata=metadata,
    )


def _read_text(path: Path) -> str:
    """The file's text, with the reason it cannot be read as a text table if it cannot."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceFileError(path, "file not found") from None
    except IsADirectoryError:
        raise TraceFileError(path, "is a folder, not a trace file") from None
    except PermissionError:
        raise TraceFileError(path, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise TraceFileError(path, f"cannot read the file: {exc.strerror or exc}") from None

    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise TraceFileError(path, "starts with a UTF-16 mark but is not UTF-16 text") from None
    if raw.startswith(b"BIO-LOGIC MODULAR FILE"):
        raise TraceFileError(
            path, "binary EC-Lab .mpr file; export it as text (.mpt) in EC-Lab and read that"
        )
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise TraceFileError(path, "binary file (NUL bytes), not a delimited text table")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Windows instrument software writes 'µ' as the single byte 0xB5 (Windows-1252).
        return raw.decode("latin-1")


def _leading_comments(path: Path, lines: list[str]) -> tuple[dict, int]:
    """Metadata from the leading ``# key: value`` lines and the index of the first other line.

    The index is -1 when every line is blank or a comment.
    """
    if lines and lines[0].strip() == _ECLAB_FIRST_LINE:
        return {"format": "EC-Lab ASCII"}, _eclab_header_index(path, lines)
    metadata: dict = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return metadata, index
        key, sep, value = stripped.lstrip("#").partition(":")
        if sep and key.strip():
            metadata[key.strip()] = _decode_metadata_value(value.strip())
    return metadata, -1


def _eclab_header_index(path: Path, lines: list[str]) -> int:
    """Index of the header row of an EC-Lab .mpt export (its 'Nb header lines' counts it)."""
    for line in lines[1:10]:
        match = _ECLAB_HEADER_LINES.match(line)
        if match:
            header_index = int(match.group(1)) - 1
            if not 0 < header_index < len(lines):
                raise TraceFileError(
                    path,
                    f"EC-Lab header says {header_index + 1} header lines but the file has "
                    f"{len(lines)} lines",
                )
            return header_index
    raise TraceFileError(path, "EC-Lab ASCII file without a 'Nb header lines : N' line")


def _decode_metadata_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _locate_header(path: Path, lines: list[str], first: int) -> tuple[int, str, list[str]]:
    """Where the data start, the delimiter and the cleaned column names.

    The header is line ``first``, the first that is neither blank nor a comment. When that line
    holds only numbers, the last leading comment line is the header if it names a known column
    (the ``numpy.savetxt(header=...)`` layout) and the data start at ``first`` itself.
    """
    if first < 0:
        if any(line.strip() for line in lines):
            raise TraceFileError(path, "only comment lines: no header row and no data")
        raise TraceFileError(path, "empty file")

    header_line = lines[first]
    delimiter = _detect_delimiter(header_line)
    headers = _split_header(header_line, delimiter)
    if all(_NUMBER.match(cell) for cell in headers if cell):
        commented = _commented_header(lines[:first])
        if commented is not None:
            return (first, *commented)
        raise TraceFileError(
            path,
            f"no header row: line {first + 1} holds numbers ({header_line.strip()[:60]!r}); "
            "the first line that is not a '#' comment must name the columns, e.g. "
            "time_s,potential_V,current_A",
        )
    return first + 1, delimiter, headers


def _commented_header(comment_lines: list[str]) -> tuple[str, list[str]] | None:
    """Column names from the last leading '#' line, if it names at least one known column."""
    for line in reversed(comment_lines):
        stripped = line.strip()
        if not stripped:
            continue
        text = stripped.lstrip("#").strip()
        delimiter = _detect_delimiter(text)
        headers = _split_header(text, delimiter)
        if any(_classify(header)[0] is not None for header in headers):
            return delimiter, headers
        return None
    return None


def _detect_delimiter(header_line: str) -> str:
    for delimiter in _DELIMITERS:
        if delimiter in header_line:
            return delimiter
    return ","


def _split_header(header_line: str, delimiter: str) -> list[str]:
    cells = next(csv.reader([header_line], delimiter=delimiter), [])
    cells = [cell.strip().strip('"').strip("'").strip().lstrip("\ufeff") for cell in cells]
    # A trailing delimiter (EC-Lab ends every row with a tab) makes no column.
    if len(cells) > 1 and cells[-1] == "":
        cells.pop()
    return cells


def _normalise_name(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def _normalise_unit(unit: str) -> str:
    unit = _REFERENCE_SUFFIX.sub("", unit.strip())
    return unit.replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


def _classify(header: str) -> tuple[str | None, int, str | None]:
    """``(quantity, preference, unit text)`` of a header cell.

    ``quantity`` is None when the cell names no quantity; ``preference`` is the position of its
    name in the accepted names (0 is preferred); the unit text is None when there is none.
    """
    candidates: list[tuple[str, str | None]] = []
    match = _PAREN_UNIT.match(header)
    if match:
        candidates.append((match.group("name"), match.group("unit")))
    if "/" in header:
        name, _, unit = header.rpartition("/")
        candidates.append((name, unit))
    if "_" in header:
        name, _, unit = header.rpartition("_")
        candidates.append((name, unit))
    candidates.append((header, None))
    for name, unit in candidates:
        normalised = _normalise_name(name)
        for quantity, names in _NAMES.items():
            if normalised in names:
                return quantity, names.index(normalised), unit
    return None, -1, None


def _find_columns(path: Path, headers: list[str], *, require_current: bool) -> dict:
    """The column of each quantity, preferring the earliest accepted name.

    A recognised name without a usable unit is an error only when no other column gives that
    quantity with a unit (an extra unit-less ``E`` column beside ``Ewe/V`` is then ignored).
    """
    candidates: dict[str, list[_Column]] = {}
    unit_problems: dict[str, str] = {}
    for index, header in enumerate(headers):
        quantity, preference, unit = _classify(header)
        if quantity is None:
            continue
        factor = None if unit is None else _UNITS[quantity].get(_normalise_unit(unit))
        if factor is None:
            label = f"column {index + 1} {header!r}"
            unit_problems.setdefault(quantity, _unit_problem(label, quantity, unit))
            continue
        column = _Column(quantity, index, header, factor, preference)
        candidates.setdefault(quantity, []).append(column)

    found: dict[str, _Column] = {}
    for quantity, columns in candidates.items():
        best = min(column.preference for column in columns)
        tied = [column for column in columns if column.preference == best]
        if len(tied) > 1:
            first, second = tied[:2]
            raise TraceFileError(
                path,
                f"two {quantity} columns: column {first.index + 1} {first.header!r} and "
                f"column {second.index + 1} {second.header!r}; keep one",
            )
        found[quantity] = tied[0]

    required = ["time", "potential"] + (["current"] if require_current else [])
    missing = [q for q in required if q not in found]
    for quantity in missing:
        if quantity in unit_problems:
            raise TraceFileError(path, unit_problems[quantity])
    if missing:
        shown = _list_headers(headers)
        wanted = ", ".join(missing[:-1]) + " or " + missing[-1] if len(missing) > 1 else missing[0]
        accepted = "; ".join(f"{q}: {_EXAMPLES[q]}" for q in missing)
        raise TraceFileError(
            path,
            f"no {wanted} column; found columns {shown}; accepted e.g. {accepted}",
        )
    return found


def _list_headers(headers: list[str], limit: int = 12) -> str:
    """The header cells for a message, shortened so that garbage cannot flood it."""
    if not any(headers):
        return "none"
    shown = [repr(h if len(h) <= 40 else h[:37] + "...") for h in headers[:limit]]
    if len(headers) > limit:
        shown.append(f"... ({len(headers)} in all)")
    return ", ".join(shown)


def _unit_problem(label: str, quantity: str, unit: str | None) -> str:
    if unit is None:
        return (
            f"{label} gives no unit for {quantity}; name it with one, e.g. "
            f"{_EXAMPLES[quantity].split(', ')[0]} (units: {_UNIT_LABELS[quantity]})"
        )
    return (
        f"{label}: unknown {quantity} unit {unit.strip()!r}; accepted units: "
        f"{_UNIT_LABELS[quantity]}"
    )


def _data_lines(lines: list[str], start: int) -> tuple[list[str], np.ndarray]:
    """Non-blank, non-comment lines from ``start`` on, with their 1-based line numbers."""
    body = lines[start:]
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return [], np.empty(0, dtype=np.int64)
    if not _SKIPPED_LINE.search("\n".join(body)):
        # The usual case: one regex pass in C instead of a Python test per line.
        return body, np.arange(start + 1, start + 1 + len(body), dtype=np.int64)
    kept = [
        (number, line)
        for number, line in enumerate(body, start=start + 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not kept:
        return [], np.empty(0, dtype=np.int64)
    numbers, data = zip(*kept, strict=True)
    return list(data), np.asarray(numbers, dtype=np.int64)


def _check_field_counts(
    path: Path, data: list[str], line_numbers: np.ndarray, delimiter: str, expected: int
) -> None:
    """Every row has the header's number of fields, or one more if it ends in the delimiter."""
    # Count delimiters per row on the bytes of the whole body: newline and delimiter bytes are
    # ASCII, so they cannot hide inside a multi-byte UTF-8 character.
    raw = np.frombuffer("\n".join(data).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    row_ends = np.append(np.flatnonzero(raw == ord("\n")), raw.size)
    row_of_delimiter = np.searchsorted(row_ends, np.flatnonzero(raw == ord(delimiter)))
    counts = np.bincount(row_of_delimiter, minlength=len(data)) + 1
    trailing = raw[row_ends - 1] == ord(delimiter)
    fields = counts - trailing
    bad = np.flatnonzero((counts != expected) & (fields != expected))
    if bad.size:
        k = int(bad[0])
        raise TraceFileError(
            path,
            f"ragged rows: line {line_numbers[k]} has {fields[k]} fields but the header has "
            f"{expected}" + (f" ({bad.size} rows differ)" if bad.size > 1 else ""),
        )


def _parse_numbers(
    path: Path, data: list[str], line_numbers: np.ndarray, delimiter: str, used: list[_Column]
) -> np.ndarray:
    """(N, len(used)) float64 values of the used columns, or the first bad cell as an error."""
    # European-locale exports write decimal commas; with a tab or semicolon delimiter a comma
    # cannot separate fields, so it can only be a decimal mark (or sit in an ignored column).
    numeric = data if delimiter == "," else [line.replace(",", ".") for line in data]
    try:
        values = np.loadtxt(
            numeric,
            delimiter=delimiter,
            usecols=[c.index for c in used],
            dtype=np.float64,
            ndmin=2,
            quotechar='"',
            comments=None,
        )
    except ValueError as exc:
        _raise_first_bad_cell(path, data, numeric, line_numbers, delimiter, used)
        raise TraceFileError(path, f"cannot read the numbers: {exc}") from None

    finite = np.isfinite(values)
    if not finite.all():
        row, position = (int(i) for i in np.argwhere(~finite)[0])
        column = used[position]
        cell = _cells(data[row], delimiter)[column.index]
        raise TraceFileError(
            path,
            f"line {line_numbers[row]}, column {column.header!r}: {cell!r} is not a finite number",
        )
    return values


def _cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip().strip('"').strip() for cell in line.split(delimiter)]


def _raise_first_bad_cell(
    path: Path,
    data: list[str],
    numeric: list[str],
    line_numbers: np.ndarray,
    delimiter: str,
    used: list[_Column],
) -> None:
    """Raise for the first cell that is not a number; slow, so only run once parsing failed."""
    for row, line in enumerate(numeric):
        cells = _cells(line, delimiter)
        for column in used:
            if _NUMBER.match(cells[column.index]):
                continue
            cell = _cells(data[row], delimiter)[column.index]
            where = f"line {line_numbers[row]}, column {column.header!r}"
            if not cell:
                raise TraceFileError(path, f"{where}: empty cell")
            raise TraceFileError(path, f"{where}: {cell[:40]!r} is not a number")


def _to_si(values: np.ndarray, factor: Fraction) -> np.ndarray:
    values = np.ascontiguousarray(values, dtype=np.float64)
    if factor.denominator != 1:
        # Exact division by 1000 rounds once; multiplying by the inexact 1e-3 rounds twice.
        values = values / factor.denominator
    if factor.numerator != 1:
        values = values * factor.numerator
    return values


def _check_increasing(
    path: Path,
    time_s: np.ndarray,
    column: _Column,
    data: list[str],
    line_numbers: np.ndarray,
    delimiter: str,
) -> None:
    bad = np.flatnonzero(~(np.diff(time_s) > 0))
    if bad.size:
        k = int(bad[0])
        before, after = (_cells(data[i], delimiter)[column.index] for i in (k, k + 1))
        # After a unit conversion, distinct tiny values can round to the same seconds.
        in_seconds = (
            ""
            if column.factor == 1
            else f" (= {float(time_s[k])!r} s and {float(time_s[k + 1])!r} s)"
        )
        raise TraceFileError(
            path,
            f"time does not strictly increase: column {column.header!r} goes from {before} "
            f"(line {line_numbers[k]}) to {after} (line {line_numbers[k + 1]}){in_seconds}",
        )


# --------------------------------------------------------------------------------------
# truth sidecar
# --------------------------------------------------------------------------------------


def truth_path(path: str | os.PathLike) -> Path:
    """Where the ground-truth sidecar of the trace file ``path`` lives: ``<path>.truth.json``."""
    path = Path(path)
    return path.with_name(path.name + TRUTH_SUFFIX)


def read_truth(path: str | os.PathLike) -> dict | None:
    """The ground truth stored beside the trace file ``path``, or None when it has none.

    Raises
    ------
    TraceFileError
        The sidecar exists but cannot be read or is not a JSON object.
    """
    sidecar = truth_path(path)
    try:
        text = sidecar.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TraceFileError(sidecar, f"cannot read: {exc.strerror or exc}") from None
    try:
        truth = json.loads(text)
    except ValueError as exc:
        raise TraceFileError(sidecar, f"not valid JSON: {exc}") from None
    if not isinstance(truth, dict):
        raise TraceFileError(sidecar, f"holds a JSON {type(truth).__name__}, not an object")
    return truth


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def write_trace(path: str | os.PathLike, trace: Trace, *, truth: Mapping | None = None) -> Path:
    """Write ``trace`` as ``time_s,potential_V,current_A`` CSV, atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist. An existing file is replaced.
    trace : Trace
        Samples to write: finite values, strictly increasing time, at least one sample. A
        current that is all NaN (not recorded) is left out, giving ``time_s,potential_V``.
        ``trace.metadata`` is written as leading ``# key: <json>`` lines; keys that could not
        read back that way (empty, containing ':' or non-printable characters, or with
        surrounding spaces) are left out.
    truth : mapping, keyword-only, optional
        Ground truth written as the JSON sidecar ``<path>.truth.json`` (numpy scalars and
        arrays become JSON numbers and lists; NaN or infinite values are refused). When None,
        a sidecar left beside ``path`` by an earlier file is removed.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    TraceFileError
        The trace cannot be written in a form :func:`read_trace` accepts, the truth is not
        JSON-serialisable, or the file system refuses the write.
    """
    path = Path(path)
    columns = _columns_to_write(path, trace)
    text = _format_trace(columns, trace.metadata)
    sidecar = truth_path(path)
    truth_text = None if truth is None else format_truth(sidecar, truth)

    if path.is_dir():
        raise TraceFileError(path, "is a folder; give a file name to write the trace to")
    if not path.parent.is_dir():
        raise TraceFileError(path, f"cannot write: folder {str(path.parent)!r} does not exist")
    try:
        if truth_text is None:
            sidecar.unlink(missing_ok=True)
        else:
            write_text_atomically(sidecar, truth_text)
        write_text_atomically(path, text)
    except OSError as exc:
        raise TraceFileError(path, f"cannot write: {exc.strerror or exc}") from None
    return path


def _columns_to_write(path: Path, trace: Trace) -> dict[str, np.ndarray]:
    arrays = (trace.time_s, trace.potential_V, trace.current_A)
    columns = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in zip(CANONICAL_HEADER, arrays, strict=True)
    }
    if columns["current_A"].size and np.isnan(columns["current_A"]).all():
        del columns["current_A"]
    for name, values in columns.items():
        if values.ndim != 1:
            raise TraceFileError(path, f"cannot write: {name} is {values.ndim}-D, not 1-D")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise TraceFileError(
                path, f"cannot write: {name}[{bad[0]}] is {float(values[bad[0]])}, not finite"
            )
    if columns["time_s"].size == 0:
        raise TraceFileError(path, "cannot write an empty trace (no samples)")
    bad = np.flatnonzero(~(np.diff(columns["time_s"]) > 0))
    if bad.size:
        k = int(bad[0])
        raise TraceFileError(
            path,
            f"cannot write: time does not strictly increase at sample {k + 1} "
            f"({float(columns['time_s'][k])!r} s then {float(columns['time_s'][k + 1])!r} s)",
        )
    return columns


def _format_trace(columns: dict[str, np.ndarray], metadata: Mapping) -> str:
    comments = []
    for key, value in metadata.items():
        key_text = str(key)
        if not _metadata_key_round_trips(key_text):
            continue
        comments.append(f"# {key_text}: {json.dumps(value, default=_json_default)}\n")
    # repr() of a Python float is the shortest text that reads back to the same bits.
    texts = [map(repr, values.tolist()) for values in columns.values()]
    body = "\n".join(map(",".join, zip(*texts, strict=True)))
    return "".join(comments) + ",".join(columns) + "\n" + body + "\n"


def _metadata_key_round_trips(key: str) -> bool:
    """Whether ``# key: value`` reads back with this key (one printable line, no ':')."""
    return bool(key) and key.isprintable() and ":" not in key and key == key.strip()


def format_truth(sidecar: Path, truth: Mapping) -> str:
    try:
        return json.dumps(dict(truth), indent=2, allow_nan=False, default=_json_default) + "\n"
    except (TypeError, ValueError) as exc:
        raise TraceFileError(sidecar, f"cannot write the truth as JSON: {exc}") from None


def _json_default(value):
    """JSON form of numpy values (called by json for types it does not know)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


__all__ = [
    "CANONICAL_HEADER",
    "TRUTH_SUFFIX",
    "read_trace",
    "read_truth",
    "truth_path",
    "write_trace",
]
