"""Acquisition engine benchmarks.

- ``engine_overhead_per_spot``: the engine's own cost per spot (ledger transitions and commit,
  HDF5 write with fsync, bookkeeping) with a zero-latency instrument that hands back a
  prepared measurement. Baseline in the same run: the floor of one spot file write plus one
  ledger commit done directly. Target: at most 50 ms per spot.
- ``engine_1000_spots``: a 1,000-spot grid end to end on the simulated instrument at infinite
  speed (physics simulated per spot, camera off), reported as spots/s; baseline: the same
  spots' physics simulated alone, without the engine.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from core.grid import grid_from_mapping, grid_hash, grid_to_mapping, plan_spots
from core.simulate.galvanostatic import simulate_galvanostatic
from core.storage.db import upgrade_database
from core.storage.ledger import Ledger
from core.storage.spot_files import write_spot_file
from workers.engine import AcquisitionEngine
from workers.instruments.protocols import Approach, Measurement
from workers.instruments.sim import SimInstrument

TARGET_OVERHEAD_S = 0.050


def _grid(rows: int, cols: int) -> dict:
    return {
        "name": "bench", "origin": {"x_um": 0.0, "y_um": 0.0}, "rows": rows, "cols": cols,
        "pitch_um": 11.0, "pipette_diameter_um": 6.0, "retract_um": 8.0,
        "approach_speed_um_s": 2.0, "traversal": "serpentine", "assignment": "interleaved",
        "conditions": [{"technique": "galvanostatic", "current_density_mA_cm2": 0.78,
                        "duration_s": 5.0, "repeats": rows * cols}],
        "camera": {"enabled": False},
    }


def _submitted(folder: Path, rows: int, cols: int) -> tuple[Ledger, int]:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade_database(url)
    ledger = Ledger(url)
    ledger.ensure_instrument("sim")
    grid = grid_from_mapping(_grid(rows, cols))
    spots = [dict(order=s.order, index=s.index, row=s.row, col=s.col, x_um=s.x_um, y_um=s.y_um,
                  block=s.block, condition_index=s.condition, condition=s.condition_label,
                  repeat=s.repeat, technique=s.technique,
                  current_density_mA_cm2=s.current_density_mA_cm2, current_A=s.current_A,
                  duration_s=s.duration_s) for s in plan_spots(grid)]
    run = ledger.submit_run(instrument="sim", name="bench", grid=grid_to_mapping(grid),
                            grid_hash=grid_hash(grid), spots=spots)
    return ledger, run


class PreparedInstrument:
    """Zero latency: every landing makes contact and returns the same prepared record."""

    name = "prepared"

    def __init__(self, measurement: Measurement) -> None:
        self._measurement = measurement
        self.instrument_s = 0.0

    def move_to_um(self, x_um, y_um, *, should_stop):
        should_stop()

    def approach(self, *, speed_um_s, max_travel_um, should_stop):
        return Approach(contact=True, z_um=0.0, travel_um=8.0)

    def measure(self, spot, *, area_cm2, camera, should_stop, on_samples=None):
        return self._measurement

    def retract(self, height_um):
        pass

    def make_safe(self):
        pass

    def is_safe(self):
        return True

    def close(self):
        pass

    def checkpoint(self, phase, site):
        pass


def bench_overhead(quick: bool) -> dict:
    n_spots = 60 if quick else 300
    trace = simulate_galvanostatic(0.78, 5.0, seed=1).trace
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ledger, run = _submitted(folder, n_spots // 10, 10)
        engine = AcquisitionEngine(ledger, PreparedInstrument(Measurement(trace=trace)),
                                   data_dir=folder, holder="bench")
        started = time.perf_counter()
        assert engine.run(run) == "completed"
        per_spot = (time.perf_counter() - started) / n_spots

        floor_ledger, floor_run = _submitted(folder / "floor", 1, 10)
        token = floor_ledger.start_run(floor_run, "bench")
        started = time.perf_counter()
        for spot_index in range(10):
            spot = floor_ledger.next_pending_spot(floor_run)
            digest = write_spot_file(folder / "floor" / f"{spot_index}.h5", trace)
            floor_ledger.move_spot(floor_run, spot.id, "approaching", token)
            floor_ledger.move_spot(floor_run, spot.id, "measuring", token)
            floor_ledger.commit_measurement(floor_run, spot.id, token, path=f"{spot_index}.h5",
                                            sha256=digest, n_samples=len(trace), n_frames=0)
        floor = (time.perf_counter() - started) / 10
    return {
        "figure": per_spot * 1e3, "unit": "ms per spot", "baseline": floor * 1e3,
        "baseline_unit": "ms per spot (file write + 3 ledger writes, done directly)",
        "ratio": per_spot / floor, "target": "≤ 50 ms per spot",
        "ok": per_spot <= TARGET_OVERHEAD_S, "details": {"spots": n_spots, "database": "sqlite"},
    }


def bench_1000_spots(quick: bool) -> dict:
    n_spots = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ledger, run = _submitted(folder, n_spots // 20, 20)
        engine = AcquisitionEngine(ledger, SimInstrument(speed=math.inf), data_dir=folder,
                                   holder="bench")
        started = time.perf_counter()
        assert engine.run(run) == "completed"
        elapsed = time.perf_counter() - started
    sample = min(n_spots, 100)
    started = time.perf_counter()
    for seed in range(sample):
        simulate_galvanostatic(0.78, 5.0, footprint_diameter_um=6.0, seed=seed)
    physics_per_spot = (time.perf_counter() - started) / sample
    return {
        "figure": n_spots / elapsed, "unit": "spots/s",
        "baseline": 1.0 / physics_per_spot, "baseline_unit": "spots/s (twin physics alone)",
        "ratio": (n_spots / elapsed) * physics_per_spot,
        "target": "report (1,000-spot grid end to end, camera off)", "ok": True,
        "details": {"spots": n_spots, "elapsed_s": round(elapsed, 2)},
    }


BENCHMARKS = {"engine_overhead_per_spot": bench_overhead, "engine_1000_spots": bench_1000_spots}
