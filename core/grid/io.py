"""Read and write grid designs as YAML or JSON, and fingerprint them for provenance.

Files hold the same keys as :class:`~core.grid.model.Grid`. Loading rejects unknown and
duplicated keys (YAML would otherwise keep the last of two ``pitch_um`` lines silently) and keeps
date-like strings such as a name ``2024-06-01`` as text. Saving writes every value explicitly,
defaults included, so a file records exactly what ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from core.grid.errors import GridError
from core.grid.model import Grid

_YAML_SUFFIXES = (".yaml", ".yml")
_JSON_SUFFIXES = (".json",)


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys and leaves dates as strings."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def grid_from_mapping(data: object, *, source: object = None) -> Grid:
    """Build a :class:`Grid` from parsed YAML/JSON; problems name ``source`` when given."""
    if not isinstance(data, Mapping):
        raise GridError(
            f"a grid file holds a mapping of keys (name, rows, ...), not {type(data).__name__}",
            source=source,
        )
    try:
        return Grid.model_validate(dict(data))
    except GridError as error:
        if source is None:
            raise
        raise GridError(error.problems, source=source) from error


def grid_from_yaml(text: str, *, source: object = None) -> Grid:
    """Parse a YAML grid description."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as error:
        raise GridError(f"not valid YAML: {_yaml_problem(error)}", source=source) from error
    return grid_from_mapping(data, source=source)


def grid_from_json(text: str, *, source: object = None) -> Grid:
    """Parse a JSON grid description."""
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as error:
        raise GridError(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
            source=source,
        ) from error
    except ValueError as error:
        raise GridError(f"not valid JSON: {error}", source=source) from error
    return grid_from_mapping(data, source=source)


def load_grid(path: str | os.PathLike) -> Grid:
    """Read a grid from a ``.yaml``/``.yml`` or ``.json`` file."""
    path = Path(path)
    _check_suffix(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GridError(f"cannot read the file: {error}", source=path) from error
    if path.suffix.lower() in _JSON_SUFFIXES:
        return grid_from_json(text, source=path)
    return grid_from_yaml(text, source=path)


def grid_to_mapping(grid: Grid) -> dict[str, Any]:
    """Plain data (lists, dicts, numbers, strings) that rebuilds ``grid``; unset options omitted."""
    return grid.model_dump(mode="json", exclude_none=True)


def grid_to_yaml(grid: Grid) -> str:
    """YAML text of ``grid``, keys in declaration order."""
    return yaml.safe_dump(grid_to_mapping(grid), sort_keys=False, allow_unicode=True)


def grid_to_json(grid: Grid, *, indent: int = 2) -> str:
    """JSON text of ``grid``."""
    return json.dumps(grid_to_mapping(grid), indent=indent, ensure_ascii=False) + "\n"


def save_grid(grid: Grid, path: str | os.PathLike) -> Path:
    """Write ``grid`` to ``path`` (YAML or JSON by suffix), atomically: all of it or nothing."""
    path = Path(path)
    _check_suffix(path)
    text = grid_to_json(grid) if path.suffix.lower() in _JSON_SUFFIXES else grid_to_yaml(grid)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def canonical_json(grid: Grid) -> str:
    """Compact JSON of ``grid`` with sorted keys: equal designs give equal text.

    Defaults are written out, so leaving a default implicit or spelling it gives the same text;
    unset options (``None``) are left out, so adding a new optional key later keeps old hashes.
    """
    return json.dumps(
        grid_to_mapping(grid),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def grid_hash(grid: Grid) -> str:
    """SHA-256 hex digest of :func:`canonical_json`: the design's fingerprint for provenance."""
    return hashlib.sha256(canonical_json(grid).encode("utf-8")).hexdigest()


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in _YAML_SUFFIXES + _JSON_SUFFIXES:
        raise GridError(
            f"unknown grid file type {path.suffix!r}; use .yaml, .yml or .json", source=path
        )


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return problem
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
