"""Store analyses of spots: each call adds the next version of one kind for one spot.

Results go to JSON columns, so values are made JSON-safe first: numpy scalars and arrays
become Python numbers and lists, and NaN/inf become ``None`` (PostgreSQL's JSON rejects them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from sqlalchemy import func, select

import core
from core.errors import MeniscusError
from core.results.metrics import REVIEW
from core.storage.db import session_scope
from core.storage.models import Analysis, Spot


class UnknownSpot(MeniscusError):
    """No spot with that id."""


def json_safe(value):
    """``value`` with numpy types converted and non-finite floats replaced by ``None``."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record_analysis(
    url: str,
    spot_id: int,
    kind: str,
    *,
    parameters: dict,
    results: dict,
    software_version: str = core.__version__,
) -> int:
    """Add the next version of ``kind`` for ``spot_id``; return that version (1, 2, ...).

    Raises :class:`UnknownSpot` when the spot does not exist.
    """
    with session_scope(url) as session:
        if session.get(Spot, spot_id) is None:
            raise UnknownSpot(f"spot {spot_id} does not exist")
        newest = session.scalar(
            select(func.max(Analysis.version))
            .where(Analysis.spot_id == spot_id, Analysis.kind == kind)
        )
        version = (newest or 0) + 1
        session.add(Analysis(
            spot_id=spot_id, kind=kind, version=version, parameters=json_safe(parameters),
            results=json_safe(results), software_version=software_version,
        ))
        return version


def set_excluded(
    url: str, spot_id: int, *, excluded: bool = True, reason: str = "", reviewer: str = ""
) -> int:
    """Record a review decision: leave the spot out of trends (or take it back in).

    Stored as the next ``review`` analysis of the spot, so the history of decisions is kept.
    """
    return record_analysis(
        url, spot_id, REVIEW, parameters={"reviewer": reviewer},
        results={"excluded": bool(excluded), "reason": reason},
    )
