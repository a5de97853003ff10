"""Grid design for combinatorial SECCM screens: describe first, execute second.

- :mod:`~core.grid.model`: the frozen, validated :class:`Grid` and its technique conditions;
- :mod:`~core.grid.limits`: :class:`InstrumentLimits` of the instrument (``LAB_LIMITS``);
- :mod:`~core.grid.plan`: ``plan_spots(grid)``, the ordered spots, pure and deterministic;
- :mod:`~core.grid.validate`: ``validate_grid``/``check_grid`` against the limits;
- :mod:`~core.grid.estimate`: how long a run takes;
- :mod:`~core.grid.io`: YAML/JSON files and ``grid_hash`` for provenance.
"""

from core.grid.errors import GridError
from core.grid.estimate import DurationEstimate, estimate_duration, estimate_duration_s
from core.grid.io import (
    canonical_json,
    grid_from_json,
    grid_from_mapping,
    grid_from_yaml,
    grid_hash,
    grid_to_json,
    grid_to_mapping,
    grid_to_yaml,
    load_grid,
    save_grid,
)
from core.grid.limits import LAB_LIMITS, InstrumentLimits
from core.grid.model import (
    Assignment,
    Camera,
    Chronoamperometry,
    Condition,
    CyclicVoltammetry,
    Galvanostatic,
    Grid,
    Point,
    Position,
    Traversal,
)
from core.grid.plan import Spot, plan_spots
from core.grid.validate import check_grid, validate_grid

__all__ = [
    "LAB_LIMITS",
    "Assignment",
    "Camera",
    "Chronoamperometry",
    "Condition",
    "CyclicVoltammetry",
    "DurationEstimate",
    "Galvanostatic",
    "Grid",
    "GridError",
    "InstrumentLimits",
    "Point",
    "Position",
    "Spot",
    "Traversal",
    "canonical_json",
    "check_grid",
    "estimate_duration",
    "estimate_duration_s",
    "grid_from_json",
    "grid_from_mapping",
    "grid_from_yaml",
    "grid_hash",
    "grid_to_json",
    "grid_to_mapping",
    "grid_to_yaml",
    "load_grid",
    "plan_spots",
    "save_grid",
    "validate_grid",
]
