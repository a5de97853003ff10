"""Helpers for the worker tests: small grids, direct submission, and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.grid import Grid, grid_from_mapping, grid_hash, grid_to_mapping, plan_spots
from core.settings import Settings
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Measurement, Spot

ROOT = Path(__file__).resolve().parents[2]
#: environment variables a test deployment sets itself (the developer's are dropped)
OWN_VARIABLES = ("MENISCUS_DATA_DIR", "DATABASE_URL", "MENISCUS_DATABASE_URL",
                 "CELERY_BROKER_URL", "MENISCUS_CELERY_BROKER_URL", "MENISCUS_BROKER_PREFIX",
                 "MENISCUS_EMBEDDED_IDLE_EXIT_S")


def grid_mapping(*, rows=2, cols=3, duration_s=0.5, current_density_mA_cm2=0.78,
                 camera=False, **overrides) -> dict:
    """A small serpentine grid, 11 µm pitch, one galvanostatic condition on every spot."""
    data = {
        "name": "test grid",
        "origin": {"x_um": 10.0, "y_um": 10.0},
        "rows": rows,
        "cols": cols,
        "pitch_um": 11.0,
        "pipette_diameter_um": 6.0,
        "retract_um": 8.0,
        "approach_speed_um_s": 2.0,
        "traversal": "serpentine",
        "assignment": "interleaved",
        "conditions": [{"technique": "galvanostatic",
                        "current_density_mA_cm2": current_density_mA_cm2,
                        "duration_s": duration_s, "repeats": rows * cols}],
        "camera": {"enabled": camera, "exposure_ms": 100.0, "interval_s": 0.23},
    }
    data.update(overrides)
    return data


def small_grid(**options) -> Grid:
    return grid_from_mapping(grid_mapping(**options))


def sites(grid: Grid) -> list[tuple[float, float]]:
    """(x_um, y_um) of each spot in visiting order."""
    return [(spot.x_um, spot.y_um) for spot in plan_spots(grid)]


def submit_direct(ledger: Ledger, grid: Grid, *, speed=float("inf"), instrument="sim") -> int:
    """Submit ``grid`` straight to the ledger (no broker, no worker)."""
    from workers.submit import ledger_spot

    ledger.ensure_instrument(instrument)
    return ledger.submit_run(
        instrument=instrument, name=grid.name, grid=grid_to_mapping(grid),
        grid_hash=grid_hash(grid), spots=[ledger_spot(spot) for spot in plan_spots(grid)],
        operator="test", speed=speed,
    )


def spot_table(url: str, run_id: int) -> list[dict]:
    """Every spot of a run in order: order, state, error, and its measurement if committed."""
    with session_scope(url) as session:
        rows = session.execute(
            Spot.__table__.select().where(Spot.run_id == run_id).order_by(Spot.order)
        ).mappings().all()
        measurements = {
            m.spot_id: m for m in session.query(Measurement)
            .join(Spot).where(Spot.run_id == run_id)
        }
        return [
            {"id": row["id"], "order": row["order"], "state": row["state"],
             "error": row["error"], "x_um": row["x_um"], "y_um": row["y_um"],
             "path": measurements[row["id"]].path if row["id"] in measurements else None,
             "sha256": measurements[row["id"]].sha256 if row["id"] in measurements else None}
            for row in rows
        ]


def wait_until(predicate, *, timeout_s: float, what: str, interval_s: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class Deployment:
    """A data folder, a database and a broker, with real worker processes started on it."""

    broker: str  # "embedded" or "redis"
    data_dir: Path
    database_url: str
    variables: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in OWN_VARIABLES}
        env.update(self.variables)
        env["PYTHONPATH"] = str(ROOT)
        return env

    def settings(self) -> Settings:
        """Settings as the processes see them (the test process has the same environment)."""
        return Settings()

    def start_worker(self, *role: str) -> subprocess.Popen:
        """``python -m workers worker *role`` in the background, output to a log file.

        With the embedded broker, returns once the worker holds its queue's lock (so a
        submission does not start a second one).
        """
        log = self.data_dir / f"worker-{'-'.join(role)}-{len(self.processes)}.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "workers", "worker", *role, "--loglevel", "INFO"],
                cwd=self.data_dir, env=self.env, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        process.log_path = log
        self.processes.append(process)
        if self.broker == "embedded":
            from workers.celery_app import instrument_queue
            from workers.embedded import running_pid

            queue = instrument_queue(role[1]) if role[0] == "instrument" else "analysis"
            wait_until(lambda: process.poll() is not None
                       or running_pid(self.settings(), queue) == process.pid,
                       timeout_s=60, what=f"the {queue} worker's lock")
            assert process.poll() is None, log_tail(process)
        return process

    def cli(self, *args, timeout_s: float = 60) -> subprocess.CompletedProcess:
        """``python -m workers *args`` as a user runs it."""
        return subprocess.run(
            [sys.executable, "-m", "workers", *map(str, args)], cwd=self.data_dir, env=self.env,
            capture_output=True, text=True, timeout=timeout_s,
        )

    def stop(self, timeout_s: float = 1.5) -> None:
        """Stop every process started here: SIGTERM, then SIGKILL. (Celery's warm shutdown
        on the file broker waits out two 2 s polls; tests need not wait for it.)"""
        running = [p for p in self.processes if p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def log_tail(process: subprocess.Popen, n_chars: int = 3000) -> str:
    try:
        return Path(process.log_path).read_text(errors="replace")[-n_chars:]
    except (AttributeError, OSError):
        return "(no log)"
