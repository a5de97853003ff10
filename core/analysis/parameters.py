"""The options of each spot analysis a person may change, with their limits.

One source of truth for the analysis workers (``workers.analysis_task`` checks every given
option here before running) and the spot page (its re-run form is built from these specs and
shows the same messages). Defaults are not repeated here: they are the keyword defaults of the
analysis functions themselves (:func:`default_parameters` reads them from the signatures).

Limits are what the analyses accept (e.g. ``fit_depth_fraction`` in (0, 1)) or, where the
analysis accepts any positive value, the range beyond which the result stops meaning anything
for a spot record (a 10 s moving average over a 5 s plating pulse).

Some computations are stored as two kinds (:data:`COMPANION_KINDS`): the scalars the heatmaps
and tables read, and the arrays (maps, outlines) they never parse. The workers run and
re-run both together, with the same options, whichever of the two is asked for.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass

from core.errors import MeniscusError


class ParameterError(MeniscusError):
    """Analysis options outside their limits, of the wrong type, or unknown."""


@dataclass(frozen=True)
class ParameterSpec:
    """One adjustable option of an analysis kind.

    Attributes
    ----------
    name : str
        Keyword of the analysis function (and key in ``Analysis.parameters``).
    label : str
        What the option does, for people.
    unit : str
        Unit of the value ("" when dimensionless).
    type : {"float", "int", "bool"}
        Value type.
    minimum, maximum : float or None
        Limits (None: unbounded on that side).
    open_minimum, open_maximum : bool
        True when the limit itself is excluded (``> minimum`` instead of ``≥ minimum``).
    """

    name: str
    label: str
    unit: str = ""
    type: str = "float"
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False

    def error(self, value) -> str | None:
        """Why ``value`` is not acceptable (naming the value and the limit), or None."""
        unit = f" {self.unit}" if self.unit else ""
        if self.type == "bool":
            return None if isinstance(value, bool) else (
                f"{self.name} = {value!r} must be true or false")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{self.name} = {value!r} is not a number"
        if self.type == "int" and value != int(value):
            return f"{self.name} = {value:g}{unit} must be a whole number"
        if not math.isfinite(value):
            return f"{self.name} = {value}{unit} must be finite"
        if self.minimum is not None:
            if self.open_minimum and value <= self.minimum:
                return f"{self.name} = {value:g}{unit} must be above {self.minimum:g}{unit}"
            if value < self.minimum:
                return (f"{self.name} = {value:g}{unit} is below its limit "
                        f"{self.minimum:g}{unit}")
        if self.maximum is not None:
            if self.open_maximum and value >= self.maximum:
                return f"{self.name} = {value:g}{unit} must be below {self.maximum:g}{unit}"
            if value > self.maximum:
                return (f"{self.name} = {value:g}{unit} is above its limit "
                        f"{self.maximum:g}{unit}")
        return None

    def describe_range(self) -> str:
        """The accepted range as text, e.g. ``0 ≤ x ≤ 10 s`` or ``0 < x < 1``."""
        if self.type == "bool":
            return "true or false"
        low = "" if self.minimum is None else (
            f"{self.minimum:g} {'<' if self.open_minimum else '≤'} ")
        high = "" if self.maximum is None else (
            f" {'<' if self.open_maximum else '≤'} {self.maximum:g}")
        return f"{low}{self.name}{high}{f' {self.unit}' if self.unit else ''}"


#: kind → its adjustable options
PARAMETERS: dict[str, tuple[ParameterSpec, ...]] = {
    "galvanostatic": (
        ParameterSpec("smoothing_s", "Moving-average width used to find the minimum", "s",
                      minimum=0.0, maximum=10.0),
        ParameterSpec("settle_s", "No nucleation accepted before this time", "s",
                      minimum=0.0, maximum=60.0),
        ParameterSpec("significance_sigma", "Fall and recovery needed, in noise sd",
                      minimum=0.0, maximum=100.0, open_minimum=True),
        ParameterSpec("min_dip_V", "Smallest fall and recovery accepted", "V",
                      minimum=0.0, maximum=0.5),
        ParameterSpec("fit_depth_fraction", "Widest fit window, fraction of the dip depth",
                      minimum=0.0, maximum=1.0, open_minimum=True, open_maximum=True),
        ParameterSpec("growth_window_fraction",
                      "Part of t_nuc → end averaged for E_growth", minimum=0.0, maximum=1.0,
                      open_minimum=True),
    ),
    "cv": (
        ParameterSpec("cathodic_current_negative", "Plating current recorded negative",
                      type="bool"),
        ParameterSpec("min_amplitude_V", "Smallest potential swing that makes a vertex", "V",
                      minimum=0.0, maximum=5.0, open_minimum=True),
    ),
    "ce_irm": (
        ParameterSpec("average_s", "Frames averaged around each cycle bound (0: interpolate)",
                      "s", minimum=0.0, maximum=10.0),
        ParameterSpec("min_snr", "I_c must exceed this many noise sd for a pixel to count",
                      minimum=0.0, maximum=100.0, open_minimum=True),
    ),
}

#: kind of scalar results → the kinds holding the arrays of the same computation (IRM
#: t_nuc map and intensity curves, CE(IRM) maps, SEM particle outlines). They are computed
#: together, stored with the same options and share the scalar kind's option limits; apart
#: so that heatmap queries never make the database parse the arrays.
COMPANION_KINDS: dict[str, tuple[str, ...]] = {
    "irm": ("irm_maps",),
    "ce_irm": ("ce_irm_maps",),
    "sem": ("sem_outlines",),
}

#: kind → (module, function, keyword options that are data, not options)
_FUNCTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "galvanostatic": ("core.analysis.galvanostatic", "analyse_galvanostatic",
                      ("current_density_mA_cm2",)),
    "cv": ("core.analysis.cv", "analyse_cv", ()),
    "ce_irm": ("core.analysis.ce_irm", "ia_ic_maps", ("mask", "noise_sd")),
}


def editable_kinds() -> tuple[str, ...]:
    """The analysis kinds with adjustable options."""
    return tuple(PARAMETERS)


def scalar_kind(kind: str) -> str:
    """The kind of scalar results computed with ``kind`` (``kind`` itself unless it is a
    companion kind: ``ce_irm_maps`` → ``ce_irm``)."""
    for scalars, companions in COMPANION_KINDS.items():
        if kind in companions:
            return scalars
    return kind


def stored_together(kind: str) -> tuple[str, ...]:
    """Every kind ``kind``'s computation stores, the scalar kind first (``("cv",)`` for a
    kind stored alone; ``("ce_irm", "ce_irm_maps")`` for either of those two)."""
    scalars = scalar_kind(kind)
    return (scalars, *COMPANION_KINDS.get(scalars, ()))


def is_companion_kind(kind: str) -> bool:
    """Whether ``kind`` holds the arrays of another kind's computation (no scalars)."""
    return scalar_kind(kind) != kind


def default_parameters(kind: str) -> dict:
    """The keyword defaults of ``kind``'s analysis function (imported on first use); those
    of its scalar kind for a companion kind."""
    kind = scalar_kind(kind)
    if kind not in _FUNCTIONS:
        return {}
    module, name, exclude = _FUNCTIONS[kind]
    function = getattr(importlib.import_module(module), name)
    return {
        option: parameter.default
        for option, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is not inspect.Parameter.empty and option not in exclude
    }


def parameter_errors(kind: str, values: dict) -> list[str]:
    """Every problem with ``values`` for ``kind`` (empty when all are acceptable).

    Options ``kind`` has no spec for are not judged here (the workers refuse unknown
    options against the function's own keywords). A companion kind is judged by its scalar
    kind's specs.
    """
    specs = {spec.name: spec for spec in PARAMETERS.get(scalar_kind(kind), ())}
    errors = []
    for name, value in values.items():
        spec = specs.get(name)
        message = spec.error(value) if spec is not None else None
        if message:
            errors.append(message)
    return errors


def check_parameters(kind: str, values: dict) -> dict:
    """``values`` if every one is within its limits; else :class:`ParameterError` listing
    each problem."""
    errors = parameter_errors(kind, values)
    if errors:
        raise ParameterError(f"{kind} analysis options refused: " + "; ".join(errors))
    return dict(values)
