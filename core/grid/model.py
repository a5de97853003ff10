"""The grid design: a frozen, validated description of a combinatorial SECCM screen.

A :class:`Grid` says where the pipette lands (rows × cols at a pitch, or an explicit list of
positions), how it moves (retract, approach and move speeds, traversal order), what it runs at
each landing (a list of technique conditions with repeats and how they are assigned to spots) and
how the camera films. It is the same object whether built in Python or loaded from YAML/JSON
(:mod:`core.grid.io`).

Everything here is checkable without an instrument: types, positive lengths and speeds, unknown
keys (typos are errors, not silently ignored) and the consistency of the layout with the repeats.
Whether the instrument can do it (travel, current range, potential window) is
:func:`core.grid.validate.validate_grid`'s job. Every failure raises :class:`GridError` listing
all the problems found.

Conventions: lengths in µm, speeds in µm/s, times in s, potentials in V vs Li/Li+, current
densities in mA/cm² as magnitudes in the plating (cathodic) direction, areal charges in µAh/cm².
Rows run along y and columns along x.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from core.grid.errors import GridError
from core.grid.problems import problems_from_validation_error
from core.units import UAH_PER_CM2_IN_MC_PER_CM2, charge_density_uAh_cm2, disc_area_cm2

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
Seed = Annotated[int, Field(ge=0)]


class GridModel(BaseModel):
    """Base of every grid model: frozen, unknown keys rejected, errors raised as GridError."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    #: what messages call an object of this model when the problem is with the whole object;
    #: the class name in lower case when not set
    error_root: ClassVar[str | None] = None

    @model_validator(mode="wrap")
    @classmethod
    def _report_as_grid_error(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        # Only the outermost model converts, so nested errors keep their place in the file
        # (conditions[2].duration_s) and every problem is collected before one GridError.
        # Cross-field checks run here rather than in "after" validators, which pydantic would
        # run outside this wrapper.
        outermost = _validation_depth.get() == 0
        token = _validation_depth.set(_validation_depth.get() + 1)
        try:
            model = handler(data)
            model._check()
            return model
        except ValidationError as error:
            if outermost:
                raise GridError(
                    problems_from_validation_error(
                        error, known_keys=_all_keys(), root=cls.error_root or cls.__name__.lower()
                    )
                ) from error
            raise
        except ValueError as error:
            if outermost:
                raise GridError(str(error)) from error
            raise
        finally:
            _validation_depth.reset(token)

    def _check(self) -> None:
        """Cross-field checks; raise ValueError (one problem) or GridError (several)."""


_validation_depth: ContextVar[int] = ContextVar("grid_validation_depth", default=0)


@cache
def _all_keys() -> frozenset[str]:
    """Every key any grid model accepts: the vocabulary for "did you mean" suggestions."""
    keys: set[str] = set()
    pending = list(GridModel.__subclasses__())
    while pending:
        model = pending.pop()
        keys.update(model.model_fields)
        pending.extend(model.__subclasses__())
    return frozenset(keys)


class Point(GridModel):
    """A place in the sample frame (coarse stage + piezo), µm."""

    x_um: float = 0.0
    y_um: float = 0.0


class Position(GridModel):
    """An explicit landing spot relative to the grid origin, µm. ``[x, y]`` is accepted too."""

    x_um: float
    y_um: float

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple) and len(data) == 2:
            return {"x_um": data[0], "y_um": data[1]}
        return data


class Galvanostatic(GridModel):
    """Constant current density for a set time, or until a set areal charge has passed.

    Give ``duration_s``, or ``charge_uAh_cm2`` for a constant-charge series: the duration is
    then Q/j (``3.6 · Q / j`` s with Q in µAh/cm² and j in mA/cm²).
    """

    technique: Literal["galvanostatic"] = "galvanostatic"
    current_density_mA_cm2: PositiveFloat
    duration_s: PositiveFloat | None = None
    charge_uAh_cm2: PositiveFloat | None = None
    repeats: PositiveInt = 1
    label: str | None = None

    def _check(self) -> None:
        if self.duration_s is not None and self.charge_uAh_cm2 is not None:
            raise ValueError("give duration_s or charge_uAh_cm2 (constant charge), not both")
        if self.duration_s is None and self.charge_uAh_cm2 is None:
            raise ValueError("give duration_s or charge_uAh_cm2 (constant charge)")

    @property
    def measurement_s(self) -> float:
        """How long the current flows, s."""
        if self.duration_s is not None:
            return self.duration_s
        return self.charge_uAh_cm2 * UAH_PER_CM2_IN_MC_PER_CM2 / self.current_density_mA_cm2

    @property
    def passed_charge_uAh_cm2(self) -> float:
        """Areal charge passed over the whole measurement, µAh/cm²."""
        return float(charge_density_uAh_cm2(self.current_density_mA_cm2, self.measurement_s))

    @property
    def display_label(self) -> str:
        """``label`` if given, else e.g. ``"0.22 mA/cm² × 5 s"``."""
        if self.label:
            return self.label
        if self.charge_uAh_cm2 is not None:
            return f"{self.current_density_mA_cm2:g} mA/cm² to {self.charge_uAh_cm2:g} µAh/cm²"
        return f"{self.current_density_mA_cm2:g} mA/cm² × {self.duration_s:g} s"

    def run_parameters(self) -> dict[str, Any]:
        """What the instrument runs, with the duration resolved."""
        return {
            "technique": self.technique,
            "current_density_mA_cm2": self.current_density_mA_cm2,
            "duration_s": self.measurement_s,
            "charge_uAh_cm2": self.passed_charge_uAh_cm2,
        }


class CyclicVoltammetry(GridModel):
    """Cyclic voltammetry between ``lower_V`` and ``upper_V`` (V vs Li/Li+).

    Each cycle starts at ``start_V`` (default ``upper_V``), sweeps cathodically to ``lower_V``
    (plating first), anodically to ``upper_V`` and back to ``start_V``: 2·(upper − lower) volts
    of sweep per cycle wherever it starts.
    """

    technique: Literal["cv"] = "cv"
    upper_V: float
    lower_V: float
    scan_rate_V_s: PositiveFloat
    cycles: PositiveInt = 1
    start_V: float | None = None
    repeats: PositiveInt = 1
    label: str | None = None

    def _check(self) -> None:
        if self.lower_V >= self.upper_V:
            raise ValueError(f"lower_V {self.lower_V:g} V must be below upper_V {self.upper_V:g} V")
        if self.start_V is not None and not self.lower_V <= self.start_V <= self.upper_V:
            raise ValueError(
                f"start_V {self.start_V:g} V is outside lower_V to upper_V "
                f"({self.lower_V:g} to {self.upper_V:g} V)"
            )

    @property
    def first_V(self) -> float:
        """Potential each cycle starts and ends at, V."""
        return self.upper_V if self.start_V is None else self.start_V

    @property
    def measurement_s(self) -> float:
        """Duration of all cycles, s."""
        return self.cycles * 2.0 * (self.upper_V - self.lower_V) / self.scan_rate_V_s

    @property
    def display_label(self) -> str:
        """``label`` if given, else e.g. ``"CV -0.27 to 1.47 V at 100 mV/s × 10"``."""
        if self.label:
            return self.label
        return (
            f"CV {self.lower_V:g} to {self.upper_V:g} V at {self.scan_rate_V_s * 1e3:g} mV/s"
            f" × {self.cycles}"
        )

    def run_parameters(self) -> dict[str, Any]:
        """What the instrument runs, with the start potential resolved."""
        return {
            "technique": self.technique,
            "upper_V": self.upper_V,
            "lower_V": self.lower_V,
            "start_V": self.first_V,
            "scan_rate_V_s": self.scan_rate_V_s,
            "cycles": self.cycles,
        }


class Chronoamperometry(GridModel):
    """A constant potential (V vs Li/Li+) held for ``duration_s``."""

    technique: Literal["chronoamperometry"] = "chronoamperometry"
    potential_V: float
    duration_s: PositiveFloat
    repeats: PositiveInt = 1
    label: str | None = None

    @property
    def measurement_s(self) -> float:
        """Hold time, s."""
        return self.duration_s

    @property
    def display_label(self) -> str:
        """``label`` if given, else e.g. ``"CA -0.1 V × 10 s"``."""
        return self.label or f"CA {self.potential_V:g} V × {self.duration_s:g} s"

    def run_parameters(self) -> dict[str, Any]:
        """What the instrument runs."""
        return {
            "technique": self.technique,
            "potential_V": self.potential_V,
            "duration_s": self.duration_s,
        }


Condition = Annotated[
    Galvanostatic | CyclicVoltammetry | Chronoamperometry, Field(discriminator="technique")
]


class Traversal(GridModel):
    """Order the pipette visits the spots in, block by block.

    ``serpentine`` (rows alternate direction: shortest moves), ``raster`` (every row in the same
    direction; explicit positions in list order) or ``random`` (needs ``seed``). A bare string
    (``traversal: serpentine``) is accepted.
    """

    order: Literal["serpentine", "raster", "random"] = "serpentine"
    seed: Seed | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"order": data} if isinstance(data, str) else data

    def _check(self) -> None:
        _check_seed(self.order, "random", self.seed)


class Assignment(GridModel):
    """How conditions are laid over the spots.

    ``row_blocks``: row k runs condition k, its repeats filling the row from column 0 (the
    article's design). ``interleaved``: conditions take turns along the traversal (0, 1, 2, 0, 1,
    2, ...). ``randomised``: a seeded shuffle along the traversal, so conditions are not
    confounded with drift in time or space. A bare string is accepted.
    """

    mode: Literal["row_blocks", "interleaved", "randomised"] = "interleaved"
    seed: Seed | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"mode": data} if isinstance(data, str) else data

    def _check(self) -> None:
        _check_seed(self.mode, "randomised", self.seed)


def _check_seed(choice: str, seeded_choice: str, seed: int | None) -> None:
    if choice == seeded_choice and seed is None:
        raise ValueError(f"{seeded_choice!r} needs a seed")
    if choice != seeded_choice and seed is not None:
        raise ValueError(f"seed {seed} is only used by {seeded_choice!r}, not {choice!r}")


class Camera(GridModel):
    """IRM camera settings for filming every measurement."""

    enabled: bool = True
    exposure_ms: PositiveFloat = 100.0
    interval_s: PositiveFloat = 0.23

    def _check(self) -> None:
        if self.enabled and self.exposure_ms > self.interval_s * 1e3:
            raise ValueError(
                f"exposure {self.exposure_ms:g} ms is longer than the "
                f"{self.interval_s * 1e3:g} ms frame interval"
            )


class Grid(GridModel):
    """A combinatorial screen: where to land, how to move, what to run, how to film.

    Layout: ``rows`` × ``cols`` at ``pitch_um`` (or ``pitch_x_um`` and ``pitch_y_um``) starting at
    ``origin`` (the sample-frame place of row 0, column 0), or ``positions`` relative to
    ``origin``. Spot (r, c) of a rows × cols grid sits at ``origin + (c·pitch_x, r·pitch_y)``.

    The footprint (wetted disc) is taken as ``footprint_diameter_um`` when known (e.g. measured
    by SEM on a previous run), else as the pipette's diameter; current densities are converted
    to currents over its area.
    """

    name: Annotated[str, Field(min_length=1)]
    origin: Point = Point()
    rows: PositiveInt | None = None
    cols: PositiveInt | None = None
    pitch_um: PositiveFloat | None = None
    pitch_x_um: PositiveFloat | None = None
    pitch_y_um: PositiveFloat | None = None
    positions: Annotated[tuple[Position, ...], Field(min_length=1)] | None = None
    pipette_diameter_um: PositiveFloat
    footprint_diameter_um: PositiveFloat | None = None
    retract_um: PositiveFloat
    approach_speed_um_s: PositiveFloat
    move_speed_um_s: PositiveFloat = 2.0
    retract_speed_um_s: PositiveFloat = 2.0
    traversal: Traversal = Traversal()
    assignment: Assignment = Assignment()
    conditions: Annotated[tuple[Condition, ...], Field(min_length=1)]
    camera: Camera = Camera()

    def _check(self) -> None:
        problems = _layout_problems(self)
        if not problems:
            problems = _assignment_problems(self)
        if problems:
            raise GridError(problems)

    @property
    def footprint_um(self) -> float:
        """Diameter of the wetted disc, µm."""
        if self.footprint_diameter_um is not None:
            return self.footprint_diameter_um
        return self.pipette_diameter_um

    @property
    def footprint_area_cm2(self) -> float:
        """Area of the wetted disc, π(d/2)², cm²."""
        return disc_area_cm2(self.footprint_um)

    @property
    def pitch_xy_um(self) -> tuple[float, float] | None:
        """(pitch along x, pitch along y), µm; ``None`` for explicit positions."""
        if self.positions is not None:
            return None
        if self.pitch_um is not None:
            return (self.pitch_um, self.pitch_um)
        return (self.pitch_x_um, self.pitch_y_um)

    @property
    def position_count(self) -> int:
        """Number of places on the grid (some may stay empty)."""
        if self.positions is not None:
            return len(self.positions)
        return self.rows * self.cols

    @property
    def spot_count(self) -> int:
        """Number of measurements: the sum of the conditions' repeats."""
        return sum(condition.repeats for condition in self.conditions)


def _layout_problems(grid: Grid) -> list[str]:
    problems = []
    has_rows_cols = grid.rows is not None or grid.cols is not None
    pitches = (grid.pitch_um, grid.pitch_x_um, grid.pitch_y_um)
    if grid.positions is not None:
        if has_rows_cols:
            problems.append("give rows and cols, or positions, not both")
        if any(pitch is not None for pitch in pitches):
            problems.append("pitch_um, pitch_x_um and pitch_y_um apply to rows × cols grids only")
        if grid.traversal.order == "serpentine":
            problems.append(
                "serpentine traversal needs rows × cols; explicit positions are visited in "
                "list order ('raster') or in 'random' order"
            )
        return problems
    if grid.rows is None or grid.cols is None:
        problems.append("give both rows and cols, or a positions list")
    if grid.pitch_um is not None and (grid.pitch_x_um is not None or grid.pitch_y_um is not None):
        problems.append("give pitch_um, or pitch_x_um with pitch_y_um, not both")
    elif grid.pitch_um is None and (grid.pitch_x_um is None or grid.pitch_y_um is None):
        problems.append("a rows × cols grid needs pitch_um, or both pitch_x_um and pitch_y_um")
    return problems


def _assignment_problems(grid: Grid) -> list[str]:
    if grid.assignment.mode != "row_blocks":
        if grid.spot_count > grid.position_count:
            return [
                f"the conditions' repeats add up to {grid.spot_count} spots, more than the "
                f"grid's {grid.position_count} positions"
            ]
        return []
    if grid.positions is not None:
        return ["row_blocks assignment needs rows × cols, not explicit positions"]
    problems = []
    count = len(grid.conditions)
    if grid.rows != count:
        problems.append(
            f"the grid has {grid.rows} rows for {count} conditions; row_blocks runs one "
            f"condition per row"
        )
    for index, condition in enumerate(grid.conditions):
        if condition.repeats > grid.cols:
            problems.append(
                f"conditions[{index}] ({condition.display_label}) has {condition.repeats} "
                f"repeats, more than the {grid.cols} columns of its row"
            )
    return problems
