"""Check a grid against the instrument before anything moves (a dry run of every target).

``validate_grid`` returns every problem found, one sentence each naming the value, the limit and
the unit; ``check_grid`` raises them together as one :class:`GridError`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from core.grid.errors import GridError
from core.grid.layout import grid_layout, too_many_positions
from core.grid.limits import LAB_LIMITS, InstrumentLimits
from core.grid.model import (
    Condition,
    CyclicVoltammetry,
    Galvanostatic,
    Grid,
)
from core.grid.plan import plan_spots
from core.grid.text import current_text
from core.units import current_A_from_density


def validate_grid(grid: Grid, limits: InstrumentLimits = LAB_LIMITS) -> list[str]:
    """Every way ``grid`` exceeds ``limits``; an empty list when it can run.

    Checks the position count, spacing against the footprint, retract, speeds, x/y travel
    (piezo alone or piezo plus coarse stage), each condition's current, potentials and
    duration.
    """
    count_problem = too_many_positions(grid, limits)
    if count_problem:
        # the per-spot checks would build arrays as large as the mistake
        return [count_problem, *_motion_problems(grid, limits), *_condition_problems(grid, limits)]
    return [
        *_spacing_problems(grid, limits),
        *_motion_problems(grid, limits),
        *_travel_problems(grid, limits),
        *_condition_problems(grid, limits),
    ]


def check_grid(grid: Grid, limits: InstrumentLimits = LAB_LIMITS) -> None:
    """Raise :class:`GridError` listing every problem :func:`validate_grid` finds."""
    problems = validate_grid(grid, limits)
    if problems:
        raise GridError(problems)


def _footprint_with_margin(grid: Grid, limits: InstrumentLimits) -> str:
    return f"the footprint {grid.footprint_um:.1f} µm + {limits.pitch_margin_um:.1f} µm margin"


def _spacing_problems(grid: Grid, limits: InstrumentLimits) -> list[str]:
    needed_um = grid.footprint_um + limits.pitch_margin_um
    if grid.positions is None:
        pitch_x_um, pitch_y_um = grid.pitch_xy_um
        if grid.pitch_um is not None:
            axes = [("pitch", grid.pitch_um, grid.rows > 1 or grid.cols > 1)]
        else:
            axes = [("pitch_x", pitch_x_um, grid.cols > 1), ("pitch_y", pitch_y_um, grid.rows > 1)]
        return [
            f"{name} {pitch_um:.1f} µm is smaller than {_footprint_with_margin(grid, limits)}"
            for name, pitch_um, used in axes
            if used and pitch_um < needed_um
        ]
    if len(grid.positions) < 2:
        return []
    layout = grid_layout(grid)
    points = np.column_stack([layout.x_um, layout.y_um])
    distance_um, neighbour = cKDTree(points).query(points, k=2)
    nearest_um, nearest = distance_um[:, 1], neighbour[:, 1]
    crowded = np.flatnonzero(nearest_um < needed_um)
    if crowded.size == 0:
        return []
    worst = crowded[np.argmin(nearest_um[crowded])]
    first, second = sorted((int(worst), int(nearest[worst])))
    return [
        f"positions {first} and {second} are {nearest_um[worst]:.1f} µm apart, closer than "
        f"{_footprint_with_margin(grid, limits)} ({crowded.size} positions too close to a "
        f"neighbour)"
    ]


def _motion_problems(grid: Grid, limits: InstrumentLimits) -> list[str]:
    problems = []
    ratio_um = limits.min_retract_footprint_ratio * grid.footprint_um
    if grid.retract_um < max(ratio_um, limits.min_retract_um):
        if ratio_um >= limits.min_retract_um:
            needed = (
                f"{ratio_um:.1f} µm ({limits.min_retract_footprint_ratio:g} × the "
                f"{grid.footprint_um:.1f} µm footprint)"
            )
        else:
            needed = f"the {limits.min_retract_um:.1f} µm minimum"
        problems.append(
            f"retract {grid.retract_um:.1f} µm is less than {needed} needed to lift the "
            f"meniscus clear"
        )
    if grid.retract_um > limits.piezo_z_travel_um:
        problems.append(
            f"retract {grid.retract_um:.1f} µm is beyond the piezo's "
            f"{limits.piezo_z_travel_um:.1f} µm z travel"
        )
    if grid.approach_speed_um_s > limits.max_approach_speed_um_s:
        problems.append(
            f"approach speed {grid.approach_speed_um_s:g} µm/s is above the "
            f"{limits.max_approach_speed_um_s:g} µm/s at which the contact stop is safe"
        )
    for name, speed_um_s in (("move", grid.move_speed_um_s), ("retract", grid.retract_speed_um_s)):
        if speed_um_s > limits.max_move_speed_um_s:
            problems.append(
                f"{name} speed {speed_um_s:g} µm/s is above the piezo's "
                f"{limits.max_move_speed_um_s:g} µm/s limit"
            )
    return problems


def _travel_problems(grid: Grid, limits: InstrumentLimits) -> list[str]:
    spots = plan_spots(grid, limits=limits)
    x_um = np.array([spot.x_um for spot in spots])
    y_um = np.array([spot.y_um for spot in spots])
    problems = []
    for axis, coords_um in (("x", x_um), ("y", y_um)):
        low_um, high_um = float(coords_um.min()), float(coords_um.max())
        if not limits.has_coarse_xy:
            if low_um < 0 or high_um > limits.piezo_travel_um:
                problems.append(
                    f"grid spans {axis} {low_um:.1f} to {high_um:.1f} µm, outside the piezo's "
                    f"0 to {limits.piezo_travel_um:.1f} µm travel, and the instrument has no "
                    f"coarse x/y stage"
                )
        elif high_um - low_um > limits.coarse_xy_travel_um:
            problems.append(
                f"grid spans {high_um - low_um:.1f} µm in {axis}, beyond the coarse stage's "
                f"{limits.coarse_xy_travel_um:.1f} µm travel"
            )
    return problems


def _condition_problems(grid: Grid, limits: InstrumentLimits) -> list[str]:
    problems = []
    for number, condition in enumerate(grid.conditions):
        where = f"conditions[{number}] ({condition.display_label})"
        problems.extend(f"{where}: {text}" for text in _technique_problems(grid, condition, limits))
        if condition.measurement_s > limits.max_measurement_s:
            problems.append(
                f"{where}: measurement {condition.measurement_s:g} s is longer than the "
                f"{limits.max_measurement_s:g} s limit"
            )
    return problems


def _technique_problems(grid: Grid, condition: Condition, limits: InstrumentLimits) -> list[str]:
    if isinstance(condition, Galvanostatic):
        return _current_problems(grid, condition, limits)
    if isinstance(condition, CyclicVoltammetry):
        potentials = [("upper_V", condition.upper_V), ("lower_V", condition.lower_V)]
        if condition.start_V is not None:
            potentials.append(("start_V", condition.start_V))
    else:
        potentials = [("potential_V", condition.potential_V)]
    return [
        f"{name} {value:g} V is outside the electrochemical window {limits.window_lower_V:g} to "
        f"{limits.window_upper_V:g} V vs Li/Li+"
        for name, value in potentials
        if not limits.window_lower_V <= value <= limits.window_upper_V
    ]


def _current_problems(grid: Grid, condition: Galvanostatic, limits: InstrumentLimits) -> list[str]:
    density = condition.current_density_mA_cm2
    current_A = current_A_from_density(density, grid.footprint_area_cm2)
    gives = (
        f"current density {density:g} mA/cm² gives {current_text(current_A)} over the "
        f"{grid.footprint_um:.1f} µm footprint"
    )
    if current_A > limits.galvanostat_max_current_A:
        limit = current_text(limits.galvanostat_max_current_A)
        return [f"{gives}, beyond the galvanostat's ±{limit} range"]
    if current_A < limits.galvanostat_min_current_A:
        limit = current_text(limits.galvanostat_min_current_A)
        return [f"{gives}, below the galvanostat's {limit} minimum"]
    return []
