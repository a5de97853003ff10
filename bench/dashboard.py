"""Benchmarks of the review dashboard's two hot paths.

``results_heatmap_10k``: the results page's heatmap callback for a 100 × 100 grid (10,000
spots, each with a galvanostatic analysis, some with two versions, 1 % flagged, 0.5 %
excluded) on SQLite: the query (:func:`core.results.grid_values.metric_grid`), the figure
(:func:`components.heatmap.create_heatmap`) and its JSON as Dash sends it. The figure is the
*cold* request (grid cache emptied first: the first view, or the first after the run
changed); the details add the cached request (same fingerprint), the request after each new
analysis version (``live``: a live run's refresh) and all three again with every core kept
busy by spinning processes ("loaded"). Baseline in the same run: the obvious ORM
loop (load each spot, then its latest analysis, then fill lists). Targets: ≤ 150 ms and a
payload ≤ 1 MB, cold and loaded.

``frame_png``: one IRM frame as PNG from the frame route's function
(:func:`core.results.frames.frame_png`, raw view, 512 × 512 uint16, 200 frames), cold caches
excluded by a warm-up of the display range (computed once per movie). Baseline: reading the
whole movie from the spot file and encoding one frame. Target: ≤ 30 ms. The processed view
(background-subtracted pair of frames, Gaussian σ = 1 µm) is reported in the details.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image
from plotly.io.json import to_json_plotly
from sqlalchemy import func, insert, select

from components.heatmap import create_heatmap
from core.results import grid_values
from core.results.frames import frame_png
from core.results.grid_values import metric_grid
from core.storage.db import session_scope, upgrade_database
from core.storage.ledger import Ledger
from core.storage.models import Analysis, Flag, Spot
from core.storage.spot_files import SpotMovie, read_spot_file, write_spot_file
from core.traces import Trace

HEATMAP_TARGET_S = 0.150
PAYLOAD_TARGET_BYTES = 1_000_000
FRAME_TARGET_S = 0.030


def _median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_grid_database(url: str, side: int, *, seed: int = 0) -> int:
    """A run of side × side galvanostatic spots, all analysed (10 % twice); returns its id."""
    upgrade_database(url)
    ledger = Ledger(url)
    ledger.ensure_instrument("sim")
    densities = np.geomspace(0.2, 3.0, side)
    spots = [dict(order=k, index=k, row=k // side, col=k % side, x_um=11.0 * (k % side),
                  y_um=11.0 * (k // side), condition_index=k // side,
                  condition=f"{densities[k // side]:.2f} mA/cm² × 5 s", repeat=k % side,
                  technique={"technique": "galvanostatic"},
                  current_density_mA_cm2=float(densities[k // side]), duration_s=5.0,
                  state="done")
             for k in range(side * side)]
    run_id = ledger.submit_run(instrument="sim", name=f"bench {side}×{side}",
                               grid={"pitch_um": 11.0}, grid_hash="0" * 64, spots=spots)
    rng = np.random.default_rng(seed)
    with session_scope(url) as session:
        ids = session.scalars(select(Spot.id).where(Spot.run_id == run_id)
                              .order_by(Spot.order)).all()
    e_nuc = -0.05 - 0.2 * rng.random(len(ids))
    rows = [dict(spot_id=spot_id, kind="galvanostatic", version=1, parameters={},
                 results={"nucleated": True, "e_nuc_V": float(e), "t_nuc_s": 1.0,
                          "q_nuc_uAh_cm2": 0.8, "e_growth_V": float(e) + 0.05},
                 software_version="bench")
            for spot_id, e in zip(ids, e_nuc, strict=True)]
    rows += [dict(row, version=2, results={**row["results"], "e_nuc_V": row["results"]
                                           ["e_nuc_V"] - 0.01})
             for row in rows[::10]]
    rows += [dict(spot_id=spot_id, kind="review", version=1, parameters={},
                  results={"excluded": True, "reason": "bench exclusion"},
                  software_version="bench") for spot_id in ids[::200]]
    flags = [dict(run_id=run_id, spot_id=spot_id, kind="thick_deposit", author="bench")
             for spot_id in ids[::100]]
    with session_scope(url) as session:
        session.execute(insert(Analysis), rows)
        session.execute(insert(Flag), flags)
    return run_id


def _spin(stop) -> None:
    while not stop.is_set():
        pass


@contextmanager
def busy_cores(n_processes: int | None = None):
    """Keep ``n_processes`` (default: every core) busy while the block runs."""
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
               for _ in range(n_processes or os.cpu_count() or 1)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join(5)


def heatmap_payload(url: str, run_id: int, metric: str = "e_nuc_V") -> str:
    """What the results callback does: query, figure, JSON (as Dash serialises it)."""
    return to_json_plotly(create_heatmap(metric_grid(url, run_id, metric)))


def naive_heatmap_payload(url: str, run_id: int, metric: str = "e_nuc_V") -> str:
    """Baseline: one ORM object per spot, then a query per spot for its latest analysis."""
    with session_scope(url) as session:
        spots = session.scalars(select(Spot).where(Spot.run_id == run_id)).all()
        n_rows = max(s.row for s in spots) + 1
        n_cols = max(s.col for s in spots) + 1
        z = [[None] * n_cols for _ in range(n_rows)]
        ids = [[-1] * n_cols for _ in range(n_rows)]
        text = [[""] * n_cols for _ in range(n_rows)]
        for spot in spots:
            analysis = session.scalars(
                select(Analysis).where(Analysis.spot_id == spot.id,
                                       Analysis.kind == "galvanostatic")
                .order_by(Analysis.version.desc()).limit(1)).first()
            z[spot.row][spot.col] = None if analysis is None else analysis.results.get(metric)
            ids[spot.row][spot.col] = spot.id
            text[spot.row][spot.col] = spot.condition
    return to_json_plotly({"data": [{"type": "heatmap", "z": z, "customdata": ids,
                                     "text": text}], "layout": {}})


def _cold_payload(url: str, run_id: int) -> str:
    grid_values.clear_cache()
    return heatmap_payload(url, run_id)


def _live_times(url: str, run_id: int, repeats: int) -> float:
    """Median time of the request after each new analysis version (a live run's refresh):
    the version is stored outside the timing."""
    with session_scope(url) as session:
        ids = session.scalars(select(Spot.id).where(Spot.run_id == run_id)
                              .order_by(Spot.order)).all()
    heatmap_payload(url, run_id)
    times = []
    for k in range(repeats):
        with session_scope(url) as session:
            version = session.scalar(select(func.max(Analysis.version)).where(
                Analysis.spot_id == ids[k], Analysis.kind == "galvanostatic"))
            session.add(Analysis(spot_id=ids[k], kind="galvanostatic", version=version + 1,
                                 parameters={}, software_version="bench",
                                 results={"nucleated": True, "e_nuc_V": -0.1 - 0.01 * k}))
        started = time.perf_counter()
        heatmap_payload(url, run_id)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def results_heatmap_10k(quick: bool) -> dict:
    side = 100
    repeats = 3 if quick else 9
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        run_id = build_grid_database(url, side)
        payload = _cold_payload(url, run_id)  # warm: imports, connection pool
        figure_s = _median_time(lambda: _cold_payload(url, run_id), repeats)
        cached_s = _median_time(lambda: heatmap_payload(url, run_id), repeats)
        live_s = _live_times(url, run_id, repeats)
        with busy_cores():
            loaded_s = _median_time(lambda: _cold_payload(url, run_id), repeats)
            loaded_cached_s = _median_time(lambda: heatmap_payload(url, run_id), repeats)
            loaded_live_s = _live_times(url, run_id, repeats)
        baseline_s = _median_time(lambda: naive_heatmap_payload(url, run_id), 1)
    size = len(payload.encode())
    return {
        "figure": figure_s * 1e3, "unit": "ms", "baseline": baseline_s * 1e3,
        "ratio": baseline_s / figure_s,
        "target": f"≤ {HEATMAP_TARGET_S * 1e3:.0f} ms and ≤ 1 MB for {side}×{side} spots "
                  "(cold, also with every core busy)",
        "ok": max(figure_s, loaded_s) <= HEATMAP_TARGET_S and size <= PAYLOAD_TARGET_BYTES,
        "details": {"payload_bytes": size, "spots": side * side,
                    "cached_ms": round(cached_s * 1e3, 2),
                    "live_ms": round(live_s * 1e3, 2),
                    "loaded_cold_ms": round(loaded_s * 1e3, 2),
                    "loaded_cached_ms": round(loaded_cached_s * 1e3, 2),
                    "loaded_live_ms": round(loaded_live_s * 1e3, 2),
                    "busy_processes": os.cpu_count()},
    }


def _movie_file(folder: Path, shape=(200, 512, 512), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n_frames, n_rows, n_cols = shape
    frames = (2000 + rng.normal(0, 30, (1, n_rows, n_cols))
              + np.linspace(0, 200, n_frames)[:, None, None]
              + rng.normal(0, 20, shape)).clip(0, 4095).astype(np.uint16)
    times_s = np.arange(n_frames) * 0.23 - 1.0
    trace = Trace(np.linspace(0, 5, 100), np.zeros(100), np.zeros(100))
    path = folder / "spot.h5"
    write_spot_file(path, trace, movie=SpotMovie(frames, times_s, 40.0))
    return path


def _whole_movie_png(path: Path, index: int) -> bytes:
    """Baseline: read the whole movie from the spot file, then encode one frame."""
    frames = read_spot_file(path).movie.frames
    low, high = np.percentile(frames[[0, -1]], (0.5, 99.5))
    image = np.clip((frames[index] - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def frame_png_512(quick: bool) -> dict:
    n_frames = 100 if quick else 200
    with tempfile.TemporaryDirectory() as folder:
        path = _movie_file(Path(folder), shape=(n_frames, 512, 512))
        for view in ("raw", "processed"):
            frame_png(path, 0, view=view)  # display range: once per movie and view, cached
        indices = iter(range(1, 10_000))
        figure_s = _median_time(lambda: frame_png(path, next(indices) % n_frames), 15)
        processed_s = _median_time(
            lambda: frame_png(path, next(indices) % n_frames, view="processed"), 9)
        baseline_s = _median_time(lambda: _whole_movie_png(path, 50), 3)
        png_bytes = len(frame_png(path, 50))
    return {
        "figure": figure_s * 1e3, "unit": "ms", "baseline": baseline_s * 1e3,
        "ratio": baseline_s / figure_s,
        "target": f"≤ {FRAME_TARGET_S * 1e3:.0f} ms per frame (raw view)",
        "ok": figure_s <= FRAME_TARGET_S,
        "details": {"frame_shape": [512, 512], "frames": n_frames, "png_bytes": png_bytes,
                    "processed_view_ms": round(processed_s * 1e3, 2)},
    }


BENCHMARKS = {"results_heatmap_10k": results_heatmap_10k, "frame_png": frame_png_512}
