"""Analysis of a measured spot: the idempotent job behind the ``analyse_spot`` task.

Each *kind* of analysis is a :class:`SpotAnalysis` in :data:`ANALYSES`: which spots it applies
to, the function that turns the spot's file into JSON-able results, and its default keyword
options. ``galvanostatic``, ``cv``, the IRM movie pipeline of filmed galvanostatic spots
(``irm``) and CE(IRM) of filmed CV spots (``ce_irm``) are registered here; other kinds
register themselves with :func:`register_analysis`. Options people may change are checked
against their limits in :mod:`core.analysis.parameters`. The SEM analysis of an imported image
(``sem``) runs only when asked for by kind, with the image in its options
(:mod:`core.results.sem_analysis`).

A kind with companion kinds (:data:`core.analysis.parameters.COMPANION_KINDS`: ``irm_maps``,
``ce_irm_maps``, ``sem_outlines``) is one computation stored as several kinds, the arrays apart
from the scalars: asking for any of them runs the computation once and stores each of its
kinds that is not up to date, all with the same options.

Versioning: every stored :class:`~core.storage.models.Analysis` row records the full options it
ran with (defaults filled in) and the software version. Running a kind again with the same
options and software as its latest version stores nothing; anything else stores version + 1
and keeps the earlier versions. Two workers racing on one spot cannot both add a version: the
``(spot, kind, version)`` unique key refuses the second, which then finds its result stored.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import core
from core.analysis.parameters import (
    default_parameters,
    parameter_errors,
    scalar_kind,
    stored_together,
)
from core.errors import AnalysisError, MeniscusError
from core.storage.db import session_scope
from core.storage.models import Analysis, Measurement, Spot
from core.storage.spot_files import SpotRecord, file_sha256, read_spot_file

log = logging.getLogger(__name__)

_STORE_ATTEMPTS = 3


class SpotAnalysisError(MeniscusError):
    """A spot cannot be analysed: no committed data, a damaged file, or bad options."""


@dataclass(frozen=True)
class SpotInfo:
    """What an analysis may need to know about the spot beyond its file."""

    spot_id: int
    run_id: int
    order: int
    technique: dict
    current_density_mA_cm2: float | None
    current_A: float | None
    duration_s: float | None
    n_frames: int = 0
    #: where the ledger and the data folder are, for analyses that read more than the spot's
    #: file (an imported SEM image)
    database_url: str = ""
    data_dir: Path | None = None

    @property
    def technique_name(self) -> str:
        return str(self.technique.get("technique", ""))


@dataclass(frozen=True)
class SpotAnalysis:
    """One kind of analysis of a spot's file.

    Attributes
    ----------
    kind : str
        Name stored in ``Analysis.kind`` (at most 32 characters); with its companion kinds
        (:func:`core.analysis.parameters.stored_together`) when it has any.
    applies : callable(SpotInfo) -> bool
        Whether this kind runs on a spot (e.g. on galvanostatic spots only).
    run : callable(SpotRecord, SpotInfo, dict) -> dict
        The analysis: file contents, spot, full options → JSON-able results; for a kind with
        companion kinds, ``{stored kind: results}`` for each of :attr:`stored_kinds`.
    defaults : dict or callable() -> dict
        Default keyword options (a callable is asked on first use, so heavy analysis modules
        load only in the workers that run them); given options are checked against these.
    needs_frames : bool
        Whether ``run`` needs the movie frames loaded (they can be large).
    explicit_only : bool
        Runs only when asked for by ``kind`` (e.g. after an SEM import, with the image to
        analyse in its options), never among a spot's default analyses.
    """

    kind: str
    applies: Callable[[SpotInfo], bool]
    run: Callable[[SpotRecord, SpotInfo, dict], dict]
    defaults: dict | Callable[[], dict] = field(default_factory=dict)
    needs_frames: bool = False
    explicit_only: bool = False

    @property
    def stored_kinds(self) -> tuple[str, ...]:
        """The kinds this computation stores: its own, then its companion kinds."""
        return stored_together(self.kind)

    def default_options(self) -> dict:
        """The default keyword options."""
        return dict(self.defaults() if callable(self.defaults) else self.defaults)


#: scalar kind → its analysis (a companion kind is found through its scalar kind)
ANALYSES: dict[str, SpotAnalysis] = {}


def register_analysis(analysis: SpotAnalysis) -> None:
    """Add (or replace) a kind of spot analysis (a scalar kind, not a companion kind)."""
    for kind in analysis.stored_kinds:
        if not 0 < len(kind) <= 32:
            raise ValueError(f"analysis kind {kind!r} must have 1 to 32 characters")
    if scalar_kind(analysis.kind) != analysis.kind:
        raise ValueError(f"{analysis.kind!r} is a companion kind: register "
                         f"{scalar_kind(analysis.kind)!r}, which stores it")
    ANALYSES[analysis.kind] = analysis


def _galvanostatic(record: SpotRecord, spot: SpotInfo, options: dict) -> dict:
    from core.analysis.galvanostatic import analyse_galvanostatic

    result = analyse_galvanostatic(
        record.trace.time_s, record.trace.potential_V,
        current_density_mA_cm2=spot.current_density_mA_cm2, **options,
    )
    return asdict(result)


def _cv(record: SpotRecord, spot: SpotInfo, options: dict) -> dict:
    from core.analysis.cv import analyse_cv

    result = analyse_cv(record.trace.time_s, record.trace.potential_V, record.trace.current_A,
                        **options)
    return {**result.to_dict(), "bounds": [list(bounds) for bounds in result.bounds]}


def _irm(record: SpotRecord, spot: SpotInfo, options: dict) -> dict[str, dict]:
    """``irm`` and ``irm_maps`` (:func:`core.results.movie_analysis.analyse_movie`).

    t_nuc(echem) bounds the optical search; it is taken from the same record's E–t curve with
    the default galvanostatic options. The expected footprint diameter follows from the
    spot's current and current density (area = I / j). The record's trace is passed too, so
    α of I = α·V_M·Q/(n·F) is fitted.
    """
    from core.analysis.galvanostatic import analyse_galvanostatic
    from core.results.movie_analysis import analyse_movie

    if record.movie is None or len(record.movie.times_s) < 2:
        raise AnalysisError("no IRM movie was recorded for this spot")
    echem = analyse_galvanostatic(record.trace.time_s, record.trace.potential_V,
                                  current_density_mA_cm2=spot.current_density_mA_cm2)
    stored = analyse_movie(record.movie, t_nuc_echem_s=echem.t_nuc_s,
                           footprint_diameter_um=_footprint_diameter_um(spot),
                           trace=record.trace)
    return {kind: results for kind, (_parameters, results) in stored.items()}


def _ce_irm(record: SpotRecord, spot: SpotInfo, options: dict) -> dict[str, dict]:
    """``ce_irm`` and ``ce_irm_maps`` of a filmed CV
    (:func:`core.results.movie_analysis.analyse_cv_movie`)."""
    from core.results.movie_analysis import analyse_cv_movie

    stored = analyse_cv_movie(record.movie, record.trace,
                              footprint_diameter_um=_footprint_diameter_um(spot), **options)
    return {kind: results for kind, (_parameters, results) in stored.items()}


def _footprint_diameter_um(spot: SpotInfo) -> float | None:
    """Diameter of the disc of area I / j, µm (None when the spot has no current or j)."""
    if not (spot.current_A and spot.current_density_mA_cm2):
        return None
    area_cm2 = abs(spot.current_A) / (abs(spot.current_density_mA_cm2) * 1e-3)
    return 2e4 * math.sqrt(area_cm2 / math.pi)


def _filmed_cv(spot: SpotInfo) -> bool:
    return spot.technique_name == "cv" and spot.n_frames >= 2


def _sem(record: SpotRecord, spot: SpotInfo, options: dict) -> dict[str, dict]:
    """``sem`` and ``sem_outlines`` of the imported image named in the options
    (:func:`core.results.sem_analysis.analyse_sem_image`); the spot's file is not read."""
    from core.results.sem_analysis import SemSpot, analyse_sem_image

    return analyse_sem_image(spot.database_url, spot.data_dir, spot.spot_id, options,
                             SemSpot(spot.current_A, spot.current_density_mA_cm2,
                                     spot.duration_s))


def _sem_defaults() -> dict:
    from core.results.sem_analysis import sem_defaults

    return sem_defaults()


def _filmed_galvanostatic(spot: SpotInfo) -> bool:
    return (spot.technique_name == "galvanostatic" and bool(spot.current_density_mA_cm2)
            and bool(spot.current_A) and spot.n_frames >= 2)


def _register_builtin_analyses() -> None:
    register_analysis(SpotAnalysis(
        kind="galvanostatic",
        applies=lambda spot: (spot.technique_name == "galvanostatic"
                              and spot.current_density_mA_cm2 is not None),
        run=_galvanostatic, defaults=partial(default_parameters, "galvanostatic"),
    ))
    register_analysis(SpotAnalysis(
        kind="cv", applies=lambda spot: spot.technique_name == "cv", run=_cv,
        defaults=partial(default_parameters, "cv"),
    ))
    register_analysis(SpotAnalysis(kind="irm", applies=_filmed_galvanostatic, run=_irm,
                                   needs_frames=True))
    register_analysis(SpotAnalysis(kind="sem", applies=lambda spot: True, run=_sem,
                                   defaults=_sem_defaults, explicit_only=True))
    register_analysis(SpotAnalysis(kind="ce_irm", applies=_filmed_cv, run=_ce_irm,
                                   defaults=partial(default_parameters, "ce_irm"),
                                   needs_frames=True))


_register_builtin_analyses()


@dataclass(frozen=True)
class Outcome:
    """What analysing one kind did: the version holding the result, and whether it is new."""

    kind: str
    version: int
    created: bool


def analyse_spot(
    url: str,
    data_dir: str | Path,
    spot_id: int,
    parameters: Mapping | None = None,
    *,
    kind: str | None = None,
) -> list[Outcome]:
    """Analyse a spot's committed file and store the results (idempotent).

    Parameters
    ----------
    url : database URL of the ledger.
    data_dir : root the measurement's relative path is resolved against.
    spot_id : the spot (its measurement must be committed).
    parameters : options for ``kind`` (defaults filled in); None for the defaults.
    kind : the analysis to run (a companion kind runs its scalar kind's computation, storing
        both); default every registered kind that applies to the spot and is not
        ``explicit_only``, with ``parameters`` going to the spot technique's own kind.

    Returns
    -------
    list of Outcome, one per stored kind, in registration order (companions after theirs).
    """
    spot, path, sha256 = _committed_spot(url, data_dir, spot_id)
    analyses = _analyses_for(spot, kind)
    if parameters is not None and kind is None:
        kind = spot.technique_name
        if kind not in analyses:
            raise SpotAnalysisError(
                f"spot {spot_id}: parameters given but no {kind!r} analysis applies to it"
            )
    asked = None if kind is None else scalar_kind(kind)
    outcomes, to_run = [], []
    for analysis in analyses.values():
        options = _full_options(analysis, parameters if analysis.kind == asked else None)
        stale = []
        for stored_kind in analysis.stored_kinds:
            latest = _latest(url, spot_id, stored_kind)
            if _same(latest, options):
                outcomes.append(Outcome(stored_kind, latest.version, created=False))
            else:
                stale.append(stored_kind)
        if stale:
            to_run.append((analysis, options, stale))
    if to_run:
        load_frames = any(analysis.needs_frames for analysis, _, _ in to_run)
        record = _read_checked(path, sha256, spot_id, load_frames)
    for analysis, options, stale in to_run:
        results = _run(analysis, record, spot, options)
        for stored_kind in stale:
            outcomes.append(_store(url, spot_id, stored_kind, options,
                                   json_safe(results[stored_kind])))
    order = [stored_kind for analysis in analyses.values() for stored_kind in
             analysis.stored_kinds]
    return sorted(outcomes, key=lambda outcome: order.index(outcome.kind))


def _run(analysis: SpotAnalysis, record: SpotRecord, spot: SpotInfo,
         options: dict) -> dict[str, dict]:
    """Stored kind → results of one computation; a failure's reason in each of them."""
    try:
        results = analysis.run(record, spot, dict(options))
    except AnalysisError as error:
        # deterministic: the same data and options fail the same way, so store the reason
        log.warning("spot %s: %s analysis failed: %s", spot.spot_id, analysis.kind, error)
        return {kind: {"error": str(error)} for kind in analysis.stored_kinds}
    if len(analysis.stored_kinds) == 1:
        return {analysis.kind: results}
    missing = [kind for kind in analysis.stored_kinds if kind not in results]
    if missing:
        raise SpotAnalysisError(f"spot {spot.spot_id}: the {analysis.kind} analysis gave no "
                                f"results for {missing} (it stores {analysis.stored_kinds})")
    return results


def _committed_spot(url: str, data_dir, spot_id: int) -> tuple[SpotInfo, Path, str]:
    with session_scope(url) as session:
        spot = session.get(Spot, spot_id)
        if spot is None:
            raise SpotAnalysisError(f"spot {spot_id} does not exist")
        measurement = session.scalar(select(Measurement).where(Measurement.spot_id == spot_id))
        if measurement is None:
            raise SpotAnalysisError(
                f"spot {spot_id} (run {spot.run_id}, order {spot.order}) has no committed "
                f"measurement (state {spot.state})"
            )
        info = SpotInfo(spot_id=spot.id, run_id=spot.run_id, order=spot.order,
                        technique=dict(spot.technique),
                        current_density_mA_cm2=spot.current_density_mA_cm2,
                        current_A=spot.current_A, duration_s=spot.duration_s,
                        n_frames=measurement.n_frames, database_url=url,
                        data_dir=Path(data_dir))
        return info, Path(data_dir) / measurement.path, measurement.sha256


def _analyses_for(spot: SpotInfo, kind: str | None) -> dict[str, SpotAnalysis]:
    """Scalar kind → analysis to run: ``kind``'s (checked to apply), or by default every
    one that applies and is not ``explicit_only``."""
    if kind is not None:
        analysis = ANALYSES.get(scalar_kind(kind))
        if analysis is None:
            known = sorted(stored for registered in ANALYSES.values()
                           for stored in registered.stored_kinds)
            raise SpotAnalysisError(f"analysis kind {kind!r} is not one of {known}")
        if not analysis.applies(spot):
            raise SpotAnalysisError(
                f"spot {spot.spot_id}: {kind} analysis does not apply to a "
                f"{spot.technique_name or 'spot without technique'} measurement"
            )
        return {analysis.kind: analysis}
    return {name: analysis for name, analysis in ANALYSES.items()
            if not analysis.explicit_only and analysis.applies(spot)}


def _full_options(analysis: SpotAnalysis, parameters: Mapping | None) -> dict:
    given = dict(parameters or {})
    defaults = analysis.default_options()
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SpotAnalysisError(
            f"{analysis.kind} analysis has no options {unknown}; it accepts {sorted(defaults)}"
        )
    errors = parameter_errors(analysis.kind, given)
    if errors:
        raise SpotAnalysisError(f"{analysis.kind} analysis options refused: "
                                + "; ".join(errors))
    # through JSON, so the comparison with stored options sees what the database sees
    return json.loads(json.dumps({**defaults, **given}, sort_keys=True))


def _latest(url: str, spot_id: int, kind: str) -> Analysis | None:
    with session_scope(url) as session:
        return session.scalar(
            select(Analysis).where(Analysis.spot_id == spot_id, Analysis.kind == kind)
            .order_by(Analysis.version.desc()).limit(1)
        )


def _same(latest: Analysis | None, options: dict) -> bool:
    return (latest is not None and latest.parameters == options
            and latest.software_version == core.__version__)


def _read_checked(path: Path, sha256: str, spot_id: int, load_frames: bool) -> SpotRecord:
    if not path.is_file():
        raise SpotAnalysisError(f"{path}: the data file of spot {spot_id} is missing")
    actual = file_sha256(path)
    if actual != sha256:
        raise SpotAnalysisError(
            f"{path}: SHA-256 {actual[:12]}… does not match the ledger's {sha256[:12]}… "
            f"(file changed after it was committed)"
        )
    return read_spot_file(path, load_frames=load_frames)


def _store(url: str, spot_id: int, kind: str, options: dict, results: dict) -> Outcome:
    for _attempt in range(_STORE_ATTEMPTS):
        try:
            # check and insert in one transaction: on SQLite it holds the write lock from its
            # start; on PostgreSQL the unique key refuses a version another worker just took
            with session_scope(url) as session:
                latest = session.scalar(
                    select(Analysis).where(Analysis.spot_id == spot_id, Analysis.kind == kind)
                    .order_by(Analysis.version.desc()).limit(1)
                )
                if _same(latest, options):
                    return Outcome(kind, latest.version, created=False)
                version = 1 if latest is None else latest.version + 1
                session.add(Analysis(spot_id=spot_id, kind=kind, version=version,
                                     parameters=options, results=results,
                                     software_version=core.__version__))
            return Outcome(kind, version, created=True)
        except IntegrityError:
            continue  # another worker stored this version meanwhile: look again
    raise SpotAnalysisError(
        f"spot {spot_id}: could not store the {kind} analysis after {_STORE_ATTEMPTS} attempts "
        f"(other workers kept adding versions)"
    )


def json_safe(value):
    """``value`` with numpy types made plain and non-finite floats (NaN, ±inf) made None.

    JSON has no NaN; PostgreSQL's JSON type refuses it.
    """
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def spots_awaiting_analysis(url: str, run_id: int) -> list[int]:
    """Committed spots of a run with no stored analysis of a kind that applies to them."""
    with session_scope(url) as session:
        rows = session.execute(
            select(Spot, func.count(Analysis.id))
            .join(Measurement, Measurement.spot_id == Spot.id)
            .outerjoin(Analysis, Analysis.spot_id == Spot.id)
            .where(Spot.run_id == run_id)
            .group_by(Spot.id)
            .order_by(Spot.order)
        ).all()
        waiting = []
        for spot, n_analyses in rows:
            info = SpotInfo(spot.id, spot.run_id, spot.order, dict(spot.technique),
                            spot.current_density_mA_cm2, spot.current_A, spot.duration_s)
            if n_analyses == 0 and _analyses_for(info, None):
                waiting.append(spot.id)
        return waiting
