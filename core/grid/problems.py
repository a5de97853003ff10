"""Turn pydantic's validation errors into one plain sentence per problem.

The sentences name the key as written in the grid file (``conditions[2].duration_s``), the value
and its unit, so a typo or a negative pitch reads like every other :class:`GridError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from core.grid.text import location_text, number_text, unit_of, with_unit


def problems_from_validation_error(
    error: ValidationError, *, known_keys: Iterable[str] = (), root: str = "grid"
) -> list[str]:
    """One sentence per error in ``error``, in pydantic's order.

    Parameters
    ----------
    error : pydantic.ValidationError
        The error raised while building a grid model.
    known_keys : iterable of str
        Every key a grid file may hold; an unknown key is matched against them to suggest the
        key that was probably meant.
    root : str
        What the object being built is called in messages (``"unknown key 'x' in grid"``).
    """
    vocabulary = sorted(set(known_keys))
    details = error.errors(include_url=False)
    return [
        _sentence(detail, vocabulary, root)
        for detail in details
        if not _echo_of_failed_items(detail, details)
    ]


def _echo_of_failed_items(detail: dict[str, Any], details: list[dict[str, Any]]) -> bool:
    """pydantic measures a tuple's length after dropping failed items: ``conditions`` with one
    bad entry is also reported "too short". That report only repeats the item's own error."""
    if detail["type"] != "too_short":
        return False
    location = tuple(detail["loc"])
    return any(
        len(other["loc"]) > len(location) and tuple(other["loc"][: len(location)]) == location
        for other in details
    )


def _sentence(detail: dict[str, Any], vocabulary: list[str], root: str) -> str:
    location = tuple(detail["loc"])
    path = location_text(location, root=root)
    kind = detail["type"]
    value = detail.get("input")
    context = detail.get("ctx") or {}
    field = next((part for part in reversed(location) if isinstance(part, str)), "")
    unit = unit_of(field)

    if kind == "extra_forbidden":
        key = str(location[-1])
        sentence = f"unknown key {key!r} in {location_text(location[:-1], root=root)}"
        close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
        return f"{sentence} (did you mean {close[0]!r}?)" if close else sentence
    if kind == "missing":
        return f"{path} is missing"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        relation, limit_key = {
            "greater_than": ("greater than", "gt"),
            "greater_than_equal": ("at least", "ge"),
            "less_than": ("less than", "lt"),
            "less_than_equal": ("at most", "le"),
        }[kind]
        limit = with_unit(context[limit_key], unit)
        return f"{path} is {with_unit(value, unit)}; it must be {relation} {limit}"
    if kind == "finite_number":
        return f"{path} is {number_text(value)}; it must be a finite number"
    if kind == "too_short":
        return f"{path} is empty; it needs at least {context.get('min_length', 1)} entry"
    if kind == "union_tag_invalid":
        return f"{path}.technique {context['tag']!r} is not one of {context['expected_tags']}"
    if kind == "union_tag_not_found":
        return f"{path} has no 'technique' key"
    if kind == "literal_error":
        return f"{path} is {value!r}; expected {context['expected']}"
    if kind in ("value_error", "assertion_error"):
        return f"{path}: {context.get('error', detail['msg'])}"
    return f"{path}: {detail['msg'][0].lower()}{detail['msg'][1:]} (got {value!r})"
