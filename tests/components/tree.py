"""Walk a Dash component tree in tests: find components, collect their text."""

from __future__ import annotations

from dash.development.base_component import Component


def walk(node):
    """Every component and string under ``node`` (depth first)."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)
        return
    yield node
    if isinstance(node, Component):
        yield from walk(getattr(node, "children", None))


def find(node, **props) -> list[Component]:
    """Components under ``node`` whose properties equal ``props`` (e.g. ``id="x"``)."""
    return [c for c in walk(node) if isinstance(c, Component)
            and all(getattr(c, key, None) == value for key, value in props.items())]


def find_one(node, **props) -> Component:
    found = find(node, **props)
    assert len(found) == 1, f"{len(found)} components match {props}"
    return found[0]


def text(node) -> str:
    """All strings under ``node`` joined by single spaces."""
    return " ".join(str(item) for item in walk(node)
                    if isinstance(item, (str, int, float)) and not isinstance(item, bool))
