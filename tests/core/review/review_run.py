"""A small run to review, built with core only.

Run "Review screen": one condition (1.0 mA/cm² × 5 s), three measured repeats whose E_nuc
is −0.100, −0.120 and −0.500 V (the last one an outlier a reviewer will exclude). A second
run ("Other") holds one spot, for replies and flags that must not cross runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from core.results.record import record_analysis
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Spot

E_NUC_V = (-0.100, -0.120, -0.500)

@dataclass(frozen=True)
class ReviewRun:
    url: str
    run_id: int
    spot_ids: tuple[int, ...]
    other_run_id: int
    other_spot_id: int


def _spot(order: int) -> dict:
    return dict(order=order, index=order, row=0, col=order, x_um=10.0 * order, y_um=0.0,
                condition_index=0, condition="1.0 mA/cm² × 5 s", repeat=order,
                technique={"technique": "galvanostatic", "current_density_mA_cm2": 1.0,
                           "duration_s": 5.0},
                current_density_mA_cm2=1.0, duration_s=5.0)


def build_review_run(database_url: str) -> ReviewRun:
    """Write the runs of the module docstring into the (migrated, empty) database."""
    ledger = Ledger(database_url)
    ledger.ensure_instrument("sim")
    ledger.ensure_instrument("rig-2")
    run_id = ledger.submit_run(instrument="sim", name="Review screen", grid={},
                               grid_hash="0" * 64, spots=[_spot(k) for k in range(3)],
                               operator="otto")
    other = ledger.submit_run(instrument="rig-2", name="Other", grid={}, grid_hash="1" * 64,
                              spots=[_spot(0)], operator="otto")
    with session_scope(database_url) as session:
        session.execute(update(Spot).where(Spot.run_id == run_id).values(state="done"))
        spot_ids = tuple(session.scalars(
            select(Spot.id).where(Spot.run_id == run_id).order_by(Spot.order)))
        other_spot_id = session.scalar(select(Spot.id).where(Spot.run_id == other))
    for spot_id, e_nuc in zip(spot_ids, E_NUC_V, strict=True):
        record_analysis(database_url, spot_id, "galvanostatic", parameters={},
                        results={"nucleated": True, "e_nuc_V": e_nuc})
    return ReviewRun(database_url, run_id, spot_ids, other, other_spot_id)
