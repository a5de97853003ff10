"""Output of the command line: strict JSON and small aligned tables with units."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

import numpy as np

#: shown in tables where a value does not exist (e.g. E_nuc of a spot that never nucleated)
MISSING = "—"

_PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def json_ready(value):
    """``value`` with numpy types made plain and non-finite floats made None.

    JSON has no NaN or infinity; a value that does not exist is ``null``.
    """
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def print_json(report: Mapping, stream: TextIO | None = None) -> None:
    """Print ``report`` as exactly one JSON object on one line."""
    stream = sys.stdout if stream is None else stream
    stream.write(json.dumps(json_ready(report), allow_nan=False, ensure_ascii=False) + "\n")


def print_report(report: Mapping, format_report, *, as_json: bool) -> int:
    """Print a command's report as one JSON object or as its human table; exit status 0."""
    if as_json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def fixed(value: float | None, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, or :data:`MISSING`."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{decimals}f}"


def si_prefix(values: Sequence[float | None], unit: str) -> tuple[float, str]:
    """Scale and prefixed unit that put the largest magnitude in [1, 1000): (1e-9, 'nC')."""
    magnitudes = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not magnitudes:
        return 1.0, unit
    largest = max(magnitudes)
    for scale, prefix in _PREFIXES:
        if largest >= scale:
            return scale, prefix + unit
    return _PREFIXES[-1][0], _PREFIXES[-1][1] + unit


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    align: str | None = None,
    indent: str = "  ",
) -> str:
    """Aligned columns; ``align`` has one letter per column, ``l`` or ``r``.

    By default the first column is left-aligned and the others (numbers) right-aligned.
    """
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if side == "l" else str(cell).rjust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        ]
        return indent + "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])
