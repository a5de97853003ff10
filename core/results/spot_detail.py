"""Everything the spot page shows about one spot: ledger row, curves, movie, analyses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from core.results.frames import MovieInfo, movie_info
from core.results.metrics import REVIEW
from core.results.record import UnknownSpot
from core.storage.db import session_scope
from core.storage.models import Analysis, Measurement, Run, Spot
from core.storage.spot_files import read_spot_file
from core.traces import Trace

#: samples kept per curve for display (min/max per bin, so the E_nuc dip is never lost)
DISPLAY_SAMPLES = 4000


@dataclass(frozen=True)
class AnalysisInfo:
    """The latest version of one analysis kind of a spot."""

    kind: str
    version: int
    parameters: dict
    results: dict
    software_version: str
    created_at: datetime


@dataclass(frozen=True)
class SpotDetail:
    """One spot of a run with its data and latest analyses.

    ``trace`` is decimated for display (:func:`decimate_minmax`); ``movie`` describes the
    movie without its pixels (frames are served one at a time). ``previous_id``/``next_id``
    are the neighbouring spots in visiting order.
    """

    spot_id: int
    run_id: int
    run_name: str
    order: int
    row: int | None
    col: int | None
    x_um: float
    y_um: float
    condition: str
    repeat: int
    technique: dict
    current_density_mA_cm2: float | None
    duration_s: float | None
    state: str
    error: str | None
    trace: Trace | None = None
    n_samples: int = 0
    movie: MovieInfo | None = None
    analyses: dict[str, AnalysisInfo] = field(default_factory=dict)
    excluded: str | None = None
    previous_id: int | None = None
    next_id: int | None = None

    def result(self, kind: str, key: str):
        """A value from the latest ``kind`` analysis, or None."""
        info = self.analyses.get(kind)
        return None if info is None else info.results.get(key)


def spot_file(url: str, data_dir: str | Path, spot_id: int) -> Path | None:
    """The spot's data file, or None when it has no measurement."""
    with session_scope(url) as session:
        path = session.scalar(select(Measurement.path).where(Measurement.spot_id == spot_id))
    return None if path is None else Path(data_dir) / path


def spot_detail(url: str, data_dir: str | Path, spot_id: int) -> SpotDetail:
    """Load a spot for its page; raises :class:`~core.results.record.UnknownSpot`."""
    with session_scope(url) as session:
        spot = session.get(Spot, spot_id)
        if spot is None:
            raise UnknownSpot(f"spot {spot_id} does not exist")
        run_name = session.scalar(select(Run.name).where(Run.id == spot.run_id))
        path = session.scalar(select(Measurement.path).where(Measurement.spot_id == spot_id))
        analyses = _latest_analyses(session, spot_id)
        previous_id, next_id = _neighbours(session, spot.run_id, spot.order)
        fields = dict(
            spot_id=spot.id, run_id=spot.run_id, run_name=run_name, order=spot.order,
            row=spot.row, col=spot.col, x_um=spot.x_um, y_um=spot.y_um,
            condition=spot.condition, repeat=spot.repeat, technique=dict(spot.technique),
            current_density_mA_cm2=spot.current_density_mA_cm2, duration_s=spot.duration_s,
            state=spot.state, error=spot.error,
        )
    review = analyses.pop(REVIEW, None)
    excluded = None
    if review is not None and review.results.get("excluded"):
        excluded = str(review.results.get("reason") or "excluded in review")
    trace = movie = None
    n_samples = 0
    if path is not None:
        file_path = Path(data_dir) / path
        record = read_spot_file(file_path, load_frames=False)
        n_samples = len(record.trace.time_s)
        trace = decimate_minmax(record.trace, DISPLAY_SAMPLES)
        if record.movie is not None and len(record.movie.times_s):
            movie = movie_info(file_path)
    return SpotDetail(**fields, trace=trace, n_samples=n_samples, movie=movie,
                      analyses=analyses, excluded=excluded, previous_id=previous_id,
                      next_id=next_id)


@dataclass(frozen=True)
class AnalysisVersion:
    """One stored version of an analysis kind of a spot (what its history table shows)."""

    version: int
    created_at: datetime
    software_version: str
    parameters: dict
    failed: bool


def analysis_versions(url: str, spot_id: int, kind: str) -> list[AnalysisVersion]:
    """Every version of ``kind`` for the spot, newest first (empty when there is none)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(Analysis.version, Analysis.created_at, Analysis.software_version,
                   Analysis.parameters, Analysis.results)
            .where(Analysis.spot_id == spot_id, Analysis.kind == kind)
            .order_by(Analysis.version.desc())
        ).all()
    return [AnalysisVersion(version=version, created_at=created_at,
                            software_version=software, parameters=dict(parameters or {}),
                            failed=bool((results or {}).get("error")))
            for version, created_at, software, parameters, results in rows]


def decimate_minmax(trace: Trace, max_samples: int) -> Trace:
    """At most ``max_samples`` samples: the minimum and maximum potential of equal bins.

    Keeps every extreme a plot would show (the nucleation dip above all), unlike striding.
    """
    n = len(trace.time_s)
    if n <= max_samples:
        return trace
    bins = max_samples // 2
    per_bin = -(-n // bins)
    padded = np.full(bins * per_bin, np.nan)
    padded[:n] = trace.potential_V
    blocks = padded.reshape(bins, per_bin)
    starts = np.arange(bins) * per_bin
    valid = starts < n
    lowest = starts[valid] + np.nanargmin(blocks[valid], axis=1)
    highest = starts[valid] + np.nanargmax(blocks[valid], axis=1)
    keep = np.unique(np.concatenate([lowest, highest]))
    return Trace(time_s=trace.time_s[keep], potential_V=trace.potential_V[keep],
                 current_A=trace.current_A[keep], metadata=dict(trace.metadata))


def _latest_analyses(session, spot_id: int) -> dict[str, AnalysisInfo]:
    newest = (
        select(Analysis.kind, func.max(Analysis.version).label("version"))
        .where(Analysis.spot_id == spot_id).group_by(Analysis.kind).subquery()
    )
    rows = session.scalars(
        select(Analysis).join(newest, (Analysis.kind == newest.c.kind)
                              & (Analysis.version == newest.c.version))
        .where(Analysis.spot_id == spot_id)
    ).all()
    return {
        row.kind: AnalysisInfo(kind=row.kind, version=row.version,
                               parameters=dict(row.parameters), results=dict(row.results),
                               software_version=row.software_version,
                               created_at=row.created_at)
        for row in rows
    }


def _neighbours(session, run_id: int, order: int) -> tuple[int | None, int | None]:
    previous = session.scalar(
        select(Spot.id).where(Spot.run_id == run_id, Spot.order < order)
        .order_by(Spot.order.desc()).limit(1))
    following = session.scalar(
        select(Spot.id).where(Spot.run_id == run_id, Spot.order > order)
        .order_by(Spot.order).limit(1))
    return previous, following
