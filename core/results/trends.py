"""Per-condition statistics of a run: mean ± sd over the repeats of each condition.

Only spots that were measured (state ``done``) and not excluded in review count; a metric's
``n`` says how many of them had a value (spots that never nucleated have no E_nuc). The
steady-state transport limit j_lim of the run's pipette (Anderson & Edwards, via
:mod:`core.analysis.transport`) is returned with them, so plots can mark where the applied
current density exceeds what diffusion can supply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from core.analysis.transport import exceeds_transport_limit, lab_limiting_current_density_mA_cm2
from core.results.metrics import METRICS
from core.results.spot_table import spot_table
from core.storage.db import session_scope
from core.storage.ledger import UnknownRun
from core.storage.models import Run, Spot
from core.storage.states import SpotState


@dataclass(frozen=True)
class Stat:
    """Mean and sample sd (ddof = 1; None below two values) of ``n`` values."""

    mean: float | None
    sd: float | None
    n: int


@dataclass(frozen=True)
class ConditionTrend:
    """One condition of the run with the statistics of its repeats.

    ``n_spots`` counts all its spots, ``n_measured`` those done and kept, ``n_excluded``
    those excluded in review; ``stats`` maps each metric key to its :class:`Stat`.
    """

    condition_index: int
    condition: str
    technique: str
    current_density_mA_cm2: float | None
    n_spots: int
    n_measured: int
    n_excluded: int
    stats: dict[str, Stat]
    above_transport_limit: bool = False


@dataclass(frozen=True)
class Trends:
    """All conditions of a run, in condition order, and the run's transport limit (mA/cm²)."""

    run_id: int
    conditions: list[ConditionTrend]
    j_lim_mA_cm2: float | None
    pipette_diameter_um: float | None

    def galvanostatic(self) -> list[ConditionTrend]:
        """Conditions with a current density, by increasing density."""
        found = [c for c in self.conditions if c.current_density_mA_cm2 is not None]
        return sorted(found, key=lambda c: c.current_density_mA_cm2)

    def has_values(self, metric: str) -> bool:
        """True when some condition has a mean for ``metric``."""
        return any(c.stats[metric].mean is not None for c in self.conditions)


def condition_trends(url: str, run_id: int) -> Trends:
    """Mean ± sd of every metric per condition of run ``run_id``."""
    with session_scope(url) as session:
        grid = session.scalar(select(Run.grid).where(Run.id == run_id))
        if grid is None:
            raise UnknownRun(f"run {run_id} does not exist")
        conditions = session.execute(
            select(Spot.condition_index, Spot.condition, Spot.technique,
                   Spot.current_density_mA_cm2)
            .where(Spot.run_id == run_id).order_by(Spot.condition_index, Spot.order)
        ).all()
    table = spot_table(url, run_id)
    pipette_um = grid.get("pipette_diameter_um")
    j_lim = float(lab_limiting_current_density_mA_cm2(pipette_um)) if pipette_um else None

    described: dict[int, tuple] = {}
    for index, label, technique, density in conditions:
        described.setdefault(index, (label, (technique or {}).get("technique", ""), density))
    spot_condition = np.array([row["condition_index"] for row in table], dtype=np.int64)
    kept = np.array([row["state"] == SpotState.DONE.value and not row["excluded"]
                     for row in table], dtype=bool)
    excluded = np.array([row["excluded"] for row in table], dtype=bool)
    values = {key: np.array([np.nan if row[key] is None else row[key] for row in table],
                            dtype=np.float64) for key in METRICS}

    trends = []
    for index, (label, technique, density) in sorted(described.items()):
        mine = spot_condition == index
        used = mine & kept
        trends.append(ConditionTrend(
            condition_index=index, condition=label, technique=technique,
            current_density_mA_cm2=density, n_spots=int(mine.sum()),
            n_measured=int(used.sum()), n_excluded=int((mine & excluded).sum()),
            stats={key: _stat(column[used]) for key, column in values.items()},
            above_transport_limit=bool(
                density is not None and j_lim is not None
                and exceeds_transport_limit(density, j_lim)),
        ))
    return Trends(run_id=run_id, conditions=trends, j_lim_mA_cm2=j_lim,
                  pipette_diameter_um=pipette_um)


def _stat(values: np.ndarray) -> Stat:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Stat(None, None, 0)
    sd = float(finite.std(ddof=1)) if finite.size > 1 else None
    return Stat(float(finite.mean()), sd, int(finite.size))
