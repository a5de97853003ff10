"""How numbers, units and places in a grid file are written in messages and labels."""

from __future__ import annotations

from collections.abc import Sequence

#: field-name suffixes and the unit they carry, longest first so ``_um_s`` wins over ``_s``
_UNIT_SUFFIXES = (
    ("_uAh_cm2", "µAh/cm²"),
    ("_mA_cm2", "mA/cm²"),
    ("_um_s", "µm/s"),
    ("_V_s", "V/s"),
    ("_um", "µm"),
    ("_ms", "ms"),
    ("_A", "A"),
    ("_V", "V"),
    ("_s", "s"),
)

#: values of the ``technique`` key; pydantic puts the chosen one in an error's location
TECHNIQUE_TAGS = ("galvanostatic", "cv", "chronoamperometry")


def unit_of(field_name: str) -> str:
    """Unit carried by a field name such as ``pitch_um`` (``"µm"``); ``""`` when it has none."""
    for suffix, unit in _UNIT_SUFFIXES:
        if field_name.endswith(suffix):
            return unit
    return ""


def location_text(location: Sequence[str | int], *, root: str = "grid") -> str:
    """``("conditions", 2, "cv", "lower_V")`` → ``"conditions[2].lower_V"``.

    The technique tag pydantic inserts after a list index is dropped: it is not a key the user
    wrote. An empty location is the object being built, called ``root``.
    """
    text = ""
    previous: str | int | None = None
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(previous, int) and part in TECHNIQUE_TAGS:
            pass
        else:
            text += f".{part}" if text else part
        previous = part
    return text or root


def number_text(value: object) -> str:
    """A number written compactly (``40.0`` → ``"40"``); anything else as its ``repr``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)
    return f"{value:g}"


def with_unit(value: object, unit: str) -> str:
    """``"40 mA/cm²"``; just the value when ``unit`` is empty."""
    return f"{number_text(value)} {unit}" if unit else number_text(value)


def current_text(current_A: float, *, digits: int = 3) -> str:
    """A current in the prefix that suits it: ``1.131e-8`` → ``"11.3 nA"``."""
    magnitude = abs(current_A)
    for scale, prefix in ((1e-3, "mA"), (1e-6, "µA"), (1e-9, "nA")):
        if magnitude >= scale:
            return f"{current_A / scale:.{digits}g} {prefix}"
    return f"{current_A / 1e-12:.{digits}g} pA"
