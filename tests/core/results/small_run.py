"""A small run in a fresh database, built with core only (ledger, spot files, analyses).

Grid 3 × 3, pitch 11 µm, raster order (order = 3·row + col)::

    row 0  0.78 mA/cm²  (0,0) E_nuc v1 −0.300 → v2 −0.130   (0,1) −0.146   (0,2) no nucleation
    row 1  2.92 mA/cm²  (1,0) −0.210        (1,1) no contact  (1,2) −0.214, excluded (v2)
    row 2  CV ×3        (2,0) CE .25/.47/.61 (2,1) CE .30/.50/.65   (2,2) pending

The run stays active (one spot pending). Spots (0,0) and (0,1) have simulated movies; the
analyses hold hand-set values so tests can compare against exact numbers. A second, completed
run ("CE screen", operator bo, tag cv) sits beside it for the list filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select, update

from core.results.record import record_analysis, set_excluded
from core.simulate.galvanostatic import simulate_galvanostatic
from core.simulate.movie import simulate_irm_movie
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Run, Spot
from core.storage.spot_files import SpotMovie, write_spot_file
from core.traces import Trace

GRID = {"name": "small", "rows": 3, "cols": 3, "pitch_um": 11.0, "pipette_diameter_um": 6.0,
        "footprint_diameter_um": 3.0}
CONDITIONS = ("0.78 mA/cm² × 5 s", "2.92 mA/cm² × 5 s", "CV -0.27 to 1.47 V × 3")
DENSITIES = (0.78, 2.92, None)
E_NUC = {(0, 0): -0.130, (0, 1): -0.146, (0, 2): None, (1, 0): -0.210, (1, 2): -0.214}
E_GROWTH = {(0, 0): -0.070, (0, 1): -0.073, (1, 0): -0.168, (1, 2): -0.160}
T_NUC = {(0, 0): 3.70, (0, 1): 3.80, (1, 0): 0.97, (1, 2): 1.01}
T_NUC_IRM = {(0, 0): 3.30, (0, 1): 3.20, (1, 0): 0.80}
SEM = {(0, 0): (1.7e9, 41.0), (0, 1): (1.6e9, 43.0), (1, 0): (2.4e9, 48.0),
       (1, 2): (2.6e9, 49.0)}
CE = {(2, 0): (0.25, 0.47, 0.61), (2, 1): (0.30, 0.50, 0.65)}
NO_CONTACT = (1, 1)
PENDING = (2, 2)
EXCLUDED = (1, 2)
WITH_MOVIE = ((0, 0), (0, 1))


@dataclass(frozen=True)
class SmallRun:
    url: str
    data_dir: Path
    run_id: int
    other_run_id: int
    spot_ids: dict  # (row, col) → spot id


@dataclass(frozen=True)
class SpotData:
    trace: Trace
    movie: SpotMovie | None


def simulate_spot_data() -> dict:
    """(row, col) → simulated trace (and movie) of the measured spots (deterministic)."""
    data = {}
    for place in [*E_NUC, *CE]:
        row, _ = place
        if place == NO_CONTACT:
            continue
        seed = 10 * place[0] + place[1]
        if DENSITIES[row] is None:
            time_s = np.linspace(0.0, 6.0, 600)
            potential = 0.6 + 0.87 * np.cos(2 * np.pi * time_s / 2.0)
            data[place] = SpotData(Trace(time_s, potential, -1e-9 * np.sin(time_s)), None)
            continue
        simulated = simulate_galvanostatic(DENSITIES[row], 5.0, seed=seed)
        movie = None
        if place in WITH_MOVIE:
            film = simulate_irm_movie(current_density_mA_cm2=DENSITIES[row], duration_s=5.0,
                                      footprint_diameter_um=3.0, shape=(100, 100), seed=seed,
                                      t_nuc_s=simulated.truth.get("t_nuc_s"))
            landing = film.truth["landing_frame"]
            movie = SpotMovie(film.frames, film.times_s - film.times_s[landing], 40.0)
        data[place] = SpotData(simulated.trace, movie)
    return data


def build_small_run(url: str, data_dir: Path, spot_data: dict) -> SmallRun:
    """Write the runs, spots, files and analyses described in the module docstring."""
    ledger = Ledger(url)
    ledger.ensure_instrument("sim")
    ledger.ensure_instrument("rig-2", backend="nifpga")
    other = ledger.submit_run(instrument="rig-2", name="CE screen", grid={}, grid_hash="1" * 64,
                              spots=[_spot(0, 0, 2)], operator="bo")
    token = ledger.start_run(other, "test")
    ledger.finish_run(other, "aborted", token)
    with session_scope(url) as session:
        session.execute(update(Run).where(Run.id == other).values(
            tags=["cv"], notes="cycling at one spot",
            created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC)))
    spots = [_spot(row, col, row) for row in range(3) for col in range(3)]
    run_id = ledger.submit_run(instrument="sim", name="Small screen", grid=GRID,
                               grid_hash="0" * 64, spots=spots, operator="ana")
    with session_scope(url) as session:
        session.execute(update(Run).where(Run.id == run_id).values(tags=["demo", "j series"]))
        ids = {(row, col): spot_id for spot_id, row, col in session.execute(
            select(Spot.id, Spot.row, Spot.col).where(Spot.run_id == run_id))}
    token = ledger.start_run(run_id, "test")
    for row in range(3):
        for col in range(3):
            _measure(ledger, run_id, token, ids[(row, col)], (row, col), data_dir, spot_data)
    _analyse(url, ids)
    return SmallRun(url, data_dir, run_id, other, ids)


def _spot(row: int, col: int, condition: int) -> dict:
    technique = ({"technique": "cv", "cycles": 3} if DENSITIES[condition] is None
                 else {"technique": "galvanostatic",
                       "current_density_mA_cm2": DENSITIES[condition], "duration_s": 5.0})
    return dict(order=3 * row + col, index=3 * row + col, row=row, col=col, x_um=11.0 * col,
                y_um=11.0 * row, condition_index=condition, condition=CONDITIONS[condition],
                repeat=col, technique=technique,
                current_density_mA_cm2=DENSITIES[condition], duration_s=5.0)


def _measure(ledger, run_id, token, spot_id, place, data_dir: Path, spot_data) -> None:
    if place == PENDING:
        return
    ledger.move_spot(run_id, spot_id, "approaching", token)
    if place == NO_CONTACT:
        ledger.move_spot(run_id, spot_id, "no_contact", token, error="no contact within 12 µm")
        return
    ledger.move_spot(run_id, spot_id, "measuring", token)
    relative = f"runs/{run_id}/spot_{3 * place[0] + place[1]:05d}.h5"
    data = spot_data[place]
    digest = write_spot_file(data_dir / relative, data.trace, movie=data.movie)
    ledger.commit_measurement(run_id, spot_id, token, path=relative, sha256=digest,
                              n_samples=len(data.trace),
                              n_frames=0 if data.movie is None else len(data.movie.frames))


def _analyse(url: str, ids: dict) -> None:
    for place, e_nuc in E_NUC.items():
        results = {"nucleated": e_nuc is not None, "e_nuc_V": e_nuc,
                   "t_nuc_s": T_NUC.get(place), "e_growth_V": E_GROWTH.get(place),
                   "q_nuc_uAh_cm2": None if e_nuc is None
                   else DENSITIES[place[0]] * T_NUC[place] / 3.6}
        if place == (0, 0):  # an older version that the views must ignore
            record_analysis(url, ids[place], "galvanostatic", parameters={"smoothing_s": 0.2},
                            results={**results, "e_nuc_V": -0.300})
        record_analysis(url, ids[place], "galvanostatic",
                        parameters={"smoothing_s": 0.05, "growth_window_fraction": 0.2},
                        results=results)
    for place, t_irm in T_NUC_IRM.items():
        record_analysis(url, ids[place], "irm", parameters={}, results={"t_nuc_irm_s": t_irm})
    for place, (density, diameter) in SEM.items():
        record_analysis(url, ids[place], "sem", parameters={},
                        results={"density_per_cm2": density, "mean_diameter_nm": diameter})
    for place, ces in CE.items():
        cycles = [{"cycle": k + 1, "q_c_C": 1e-9, "q_a_C": ce * 1e-9, "ce": ce}
                  for k, ce in enumerate(ces)]
        record_analysis(url, ids[place], "cv", parameters={}, results={"cycles": cycles})
    set_excluded(url, ids[EXCLUDED], excluded=False, reason="looked fine at first")
    set_excluded(url, ids[EXCLUDED], excluded=True, reason="bubble in the meniscus",
                 reviewer="ana")
