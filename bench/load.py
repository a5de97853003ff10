"""Load on loopback: 20 viewers browse results and movie frames while a sim run acquires.

    python bench/load.py [--seconds 30] [--viewers 20] [--think-ms 250]
                         [--server gunicorn|werkzeug] [--processes 2] [--json]
    python bench/run.py load                      (the same, as a topic of bench/run.py)

The real app (:func:`app.create_app` on a temporary data folder, SQLite and the file broker)
runs in its own process on 127.0.0.1 and a random port: gunicorn with 2 gthread workers × 8
threads, as in shared use (``--server werkzeug``: ``python app.py``'s threaded server). The
workers are started before the window, as on a running server. Each viewer is a user
of its own (role viewer) who logs in through ``/login`` with the form's CSRF token, then
loops until the time is up, pausing ``--think-ms`` between rounds. One round:

- ``heatmap``: the Results page's heatmap callback, POST ``/_dash-update-component`` (the
  body built from the app's callback map, JSON, same-origin ``Origin``);
- ``frame`` ×4: GET ``/frames/<spot>/<i>.png`` of spots measured so far (no browser cache);
- ``csv``: GET ``/runs/<id>/spots.csv``.

Meanwhile the embedded instrument worker acquires a 6 × 6 grid (36 galvanostatic spots, camera
on) on the sim, submitted with :func:`workers.submit.submit_grid` at a speed that spreads it
over about 80 % of the window, and the analysis worker analyses each spot. Afterwards the
run must have every spot done exactly once (one measurement each), each spot file's SHA-256
equal to the ledger's, and no spot in any other state.

Figure: p95 latency of all requests under load. Baseline, in the same run: one viewer alone
on the idle app after the run (the same rounds, ``--baseline-seconds``). Target: p95 ≤ 1 s
with no request failing and no acquisition data lost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from core.auth.users import add_user  # noqa: E402
from core.grid import estimate_duration_s, grid_from_mapping  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.storage.db import session_scope  # noqa: E402
from core.storage.models import Measurement, Run, Spot  # noqa: E402

P95_TARGET_S = 1.0
#: threads per gunicorn worker process
GUNICORN_THREADS = 8
#: longest wait for the app to answer after its start, s
SERVER_START_TIMEOUT_S = 60.0
#: frames asked per round (a viewer scrubbing a movie)
FRAMES_PER_ROUND = 4
#: the password of the bench's viewer accounts (a throwaway database)
PASSWORD = "bench-viewer-password"
#: the acquired grid: 6 × 6 galvanostatic spots, the IRM camera filming each
GRID = {
    "name": "load bench 6x6", "origin": {"x_um": 10.0, "y_um": 10.0}, "rows": 6, "cols": 6,
    "pitch_um": 11.0, "pipette_diameter_um": 6.0, "retract_um": 8.0,
    "approach_speed_um_s": 2.0, "move_speed_um_s": 2.0, "retract_speed_um_s": 2.0,
    "traversal": "serpentine", "assignment": "row_blocks",
    "conditions": [{"technique": "galvanostatic", "current_density_mA_cm2": j,
                    "duration_s": 5.0, "repeats": 6}
                   for j in (0.22, 0.39, 0.72, 1.31, 1.78, 2.92)],
    "camera": {"enabled": True, "exposure_ms": 100.0, "interval_s": 0.23},
}


@dataclass
class Tally:
    """Latencies (s) and failures per request kind, shared by the viewer threads."""

    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=lambda: defaultdict(int))
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if problem is not None:
                self.errors[kind] += 1
                if len(self.failures) < 5:
                    self.failures.append(f"{kind}: {problem}")

    def summary(self, wall_s: float) -> dict:
        """p50/p95/max (ms), count and errors per kind and overall; requests/s."""
        every = [s for values in self.latencies.values() for s in values]
        table = {kind: _stats(values, self.errors[kind])
                 for kind, values in sorted(self.latencies.items())}
        table["all"] = _stats(every, sum(self.errors.values()))
        return {"kinds": table, "requests_per_s": len(every) / wall_s if wall_s else 0.0,
                "failures": list(self.failures)}


def _stats(values: list[float], errors: int) -> dict:
    if not values:
        return {"n": 0, "errors": errors, "p50_ms": None, "p95_ms": None, "max_ms": None}
    array = np.asarray(values) * 1000
    return {"n": int(array.size), "errors": errors,
            "p50_ms": round(float(np.percentile(array, 50)), 1),
            "p95_ms": round(float(np.percentile(array, 95)), 1),
            "max_ms": round(float(array.max()), 1)}


class Viewer:
    """One logged-in browser: a ``requests`` session with its session cookie."""

    def __init__(self, base: str, name: str, run_id: int, heatmap_body) -> None:
        self.base, self.name, self.run_id = base, name, run_id
        self.heatmap_body = heatmap_body
        self.http = requests.Session()
        self.rounds = 0

    def log_in(self) -> None:
        form = self.http.get(f"{self.base}/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if token is None:
            raise RuntimeError(f"no CSRF token in the login form (HTTP {form.status_code})")
        answer = self.http.post(f"{self.base}/login", allow_redirects=False, timeout=30,
                                data={"name": self.name, "password": PASSWORD, "next": "/",
                                      "csrf_token": token.group(1)})
        if answer.status_code != 303 or "meniscus_session" not in self.http.cookies:
            raise RuntimeError(f"{self.name} could not log in: HTTP {answer.status_code}")

    def browse(self, tally: Tally, deadline: float, think_s: float, frames) -> None:
        """Rounds of heatmap, frames and CSV until ``deadline`` (``time.monotonic``)."""
        rng = random.Random(self.name)
        while time.monotonic() < deadline:
            self.rounds += 1
            self._timed(tally, "heatmap", "post", "/_dash-update-component",
                        json=self.heatmap_body(self.rounds), headers={"Origin": self.base},
                        expect='"results-heatmap"')
            for spot_id, index in frames.pick(rng, FRAMES_PER_ROUND):
                self._timed(tally, "frame", "get", f"/frames/{spot_id}/{index}.png")
            self._timed(tally, "csv", "get", f"/runs/{self.run_id}/spots.csv")
            time.sleep(think_s)

    def _timed(self, tally: Tally, kind: str, method: str, path: str, *, expect: str = "",
               **options) -> None:
        """One request, timed; a failure is an exception, a status other than 200, or a body
        without ``expect``."""
        started = time.perf_counter()
        problem = None
        try:
            response = self.http.request(method, self.base + path, timeout=60, **options)
            if response.status_code != 200:
                problem = f"HTTP {response.status_code} for {path}: {response.text[:120]!r}"
            elif expect and expect not in response.text:
                problem = f"{path} answered without {expect}: {response.text[:120]!r}"
        except requests.RequestException as error:
            problem = f"{type(error).__name__} for {path}: {error}"
        tally.add(kind, time.perf_counter() - started, problem)


class MeasuredFrames:
    """(spot id, frame count) of the spots measured so far, refreshed from the ledger."""

    def __init__(self, url: str, run_id: int) -> None:
        self.url, self.run_id = url, run_id
        self.spots: list[tuple[int, int]] = []

    def refresh(self) -> None:
        with session_scope(self.url) as session:
            self.spots = [tuple(row) for row in session.execute(
                select(Measurement.spot_id, Measurement.n_frames).join(Spot)
                .where(Spot.run_id == self.run_id, Measurement.n_frames > 0))]

    def pick(self, rng: random.Random, count: int) -> list[tuple[int, int]]:
        spots = self.spots
        if not spots:
            return []
        return [(spot_id, rng.randrange(n_frames))
                for spot_id, n_frames in (rng.choice(spots) for _ in range(count))]


def heatmap_request(dependencies: list[dict], run_id: int):
    """A function of the round number giving the Results heatmap callback's request body,
    built from the callback map the app serves at ``/_dash-dependencies``."""
    spec = next((d for d in dependencies if "results-heatmap.figure" in d["output"]), None)
    if spec is None:
        raise RuntimeError("the app has no callback with output results-heatmap.figure")
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
               for part in spec["output"].strip(".").split("...")]
    values = {("results-metric", "value"): "e_nuc_V", ("results-run", "data"): run_id}

    def body(round_number: int) -> dict:
        known = {**values, ("results-refresh", "n_intervals"): round_number}
        try:
            inputs = [{**item, "value": known[(item["id"], item["property"])]}
                      for item in spec["inputs"]]
            state = [{**item, "value": known[(item["id"], item["property"])]}
                     for item in spec.get("state", [])]
        except KeyError as missing:
            raise RuntimeError(
                f"the heatmap callback needs {missing}, unknown to the bench") from None
        return {"output": spec["output"], "outputs": outputs, "inputs": inputs,
                "state": state, "changedPropIds": ["results-refresh.n_intervals"]}

    return body


def check_acquisition(url: str, data_dir: Path, run_id: int, planned: int) -> dict:
    """Every spot done once, its file's SHA-256 the ledger's, no spot in another state."""
    with session_scope(url) as session:
        state = session.scalar(select(Run.state).where(Run.id == run_id))
        by_state = dict(session.execute(select(Spot.state, func.count())
                                        .where(Spot.run_id == run_id).group_by(Spot.state))
                        .all())
        files = session.execute(select(Measurement.spot_id, Measurement.path,
                                       Measurement.sha256).join(Spot)
                                .where(Spot.run_id == run_id)).all()
    mismatched = [spot_id for spot_id, path, sha256 in files
                  if hashlib.sha256((data_dir / path).read_bytes()).hexdigest() != sha256]
    measured_once = len({spot_id for spot_id, _, _ in files}) == len(files) == planned
    return {"run_state": state, "spots_planned": planned, "spots_by_state": by_state,
            "measurements": len(files), "sha256_mismatches": len(mismatched),
            "ok": (state == "completed" and by_state == {"done": planned} and measured_once
                   and not mismatched)}


def serve(data_dir: Path, server: str, processes: int) -> subprocess.Popen:
    """Start the app on 127.0.0.1 in a process of its own (so the viewers' threads do not
    share its interpreter): gunicorn (``processes`` × :data:`GUNICORN_THREADS` threads, as in
    shared use) or werkzeug's threaded server (``python app.py``). Returns the process once it
    answers, with ``process.base`` its URL."""
    port = _free_port()
    env = {**os.environ, "MENISCUS_DATA_DIR": str(data_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    if server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(processes),
                   "-k", "gthread", "--threads", str(GUNICORN_THREADS),
                   "-b", f"127.0.0.1:{port}", "app:server"]
    else:
        command = [sys.executable, str(ROOT / "app.py"), "--data-dir", str(data_dir),
                   "--port", str(port)]
    log_path = data_dir / "app.log"
    with log_path.open("ab") as log:
        # started in the data folder, where no .env can point it at another database
        process = subprocess.Popen(command, cwd=data_dir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    process.base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{process.base}/login", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the app did not start within {SERVER_START_TIMEOUT_S:g} s; its log "
                       f"ends: {log_path.read_text(errors='replace')[-800:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browse(viewers: list[Viewer], frames: MeasuredFrames, seconds: float,
           think_s: float, *, while_running=None) -> dict:
    """All ``viewers`` browse for ``seconds``; frames are refreshed every 0.5 s."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    stop = threading.Event()

    def keep_frames_fresh() -> None:
        while not stop.wait(0.5):
            frames.refresh()

    refresher = threading.Thread(target=keep_frames_fresh, daemon=True)
    refresher.start()
    threads = [threading.Thread(target=v.browse, args=(tally, deadline, think_s, frames),
                                name=v.name) for v in viewers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if while_running is not None:
        while_running()
    for thread in threads:
        thread.join()
    wall_s = time.monotonic() - started
    stop.set()
    refresher.join()
    return tally.summary(wall_s)


def run_load(seconds: float = 30.0, viewers: int = 20, think_ms: float = 250.0,
             baseline_seconds: float = 8.0, server: str = "gunicorn",
             processes: int = 2) -> dict:
    """The whole bench in a temporary data folder; returns the figures (see module doc)."""
    from workers.embedded import ensure_workers, stop_workers
    from workers.submit import submit_grid, wait_for_run

    for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "MENISCUS_CELERY_BROKER_URL"):
        os.environ.pop(variable, None)  # embedded: SQLite and the file broker in the folder
    with tempfile.TemporaryDirectory(prefix="meniscus-load-") as folder:
        data_dir = Path(folder)
        os.environ["MENISCUS_DATA_DIR"] = str(data_dir)
        settings = Settings(data_dir=data_dir)
        url = settings.resolved_database_url
        app_process = serve(data_dir, server, processes)
        base = app_process.base
        try:
            for number in range(viewers):
                add_user(url, f"viewer{number:02d}", "viewer", PASSWORD)
            ensure_workers(settings)  # started before the window, as on a running server
            grid = grid_from_mapping(GRID)
            speed = estimate_duration_s(grid) / (0.8 * seconds)
            submission = submit_grid(grid, settings=settings, speed=speed, operator="bench")
            run_id = submission.run_id
            crowd = [Viewer(base, f"viewer{n:02d}", run_id, None) for n in range(viewers)]
            for viewer in crowd:
                viewer.log_in()
            dependencies = crowd[0].http.get(f"{base}/_dash-dependencies", timeout=30).json()
            body = heatmap_request(dependencies, run_id)
            for viewer in crowd:
                viewer.heatmap_body = body
            frames = MeasuredFrames(url, run_id)
            loaded = browse(crowd, frames, seconds, think_ms / 1000)
            final = wait_for_run(run_id, settings=settings, timeout_s=300)
            acquisition = check_acquisition(url, data_dir, run_id, submission.spot_count)
            acquisition["final_state"] = final
            frames.refresh()
            alone = browse(crowd[:1], frames, baseline_seconds, think_ms / 1000)
        finally:
            app_process.terminate()
            app_process.wait(timeout=30)
            stop_workers(settings, timeout_s=20)
    return {"server": f"{server} ({processes} processes)" if server == "gunicorn" else server,
            "viewers": viewers, "seconds": seconds, "think_ms": think_ms,
            "speed": round(speed, 2), "spots": submission.spot_count, "loaded": loaded,
            "alone": alone, "acquisition": acquisition}


def load_20_viewers(quick: bool) -> dict:
    """bench/run.py entry: 20 viewers for 30 s (10 s with ``quick``)."""
    result = run_load(seconds=10.0 if quick else 30.0,
                      baseline_seconds=4.0 if quick else 8.0)
    p95 = result["loaded"]["kinds"]["all"]["p95_ms"] / 1000
    baseline = result["alone"]["kinds"]["all"]["p95_ms"] / 1000
    errors = result["loaded"]["kinds"]["all"]["errors"]
    return {"figure": p95, "unit": "s (p95, 20 viewers during acquisition)",
            "baseline": baseline, "baseline_unit": "s (p95, one viewer, idle)",
            "ratio": p95 / baseline if baseline else float("inf"),
            "target": f"p95 ≤ {P95_TARGET_S:g} s, no errors, no data lost",
            "ok": p95 <= P95_TARGET_S and errors == 0 and result["acquisition"]["ok"],
            "details": result}


BENCHMARKS = {"load_20_viewers": load_20_viewers}


def print_report(result: dict) -> None:
    """Latency table per request kind, throughput, and the acquisition check."""
    print(f"load: {result['viewers']} viewers × {result['seconds']:g} s on {result['server']} "
          f"(think {result['think_ms']:g} ms) while {result['spots']} spots acquire at "
          f"speed ×{result['speed']:g}")
    for label, part in (("under load", result["loaded"]), ("one viewer, idle", result["alone"])):
        print(f"  {label}: {part['requests_per_s']:.1f} requests/s")
        for kind, row in part["kinds"].items():
            print(f"    {kind:8s} n={row['n']:5d}  p50 {row['p50_ms']} ms  p95 {row['p95_ms']}"
                  f" ms  max {row['max_ms']} ms  errors {row['errors']}")
        for failure in part["failures"]:
            print(f"    failure: {failure}")
    check = result["acquisition"]
    print(f"  acquisition: run {check['run_state']}, spots {check['spots_by_state']} of "
          f"{check['spots_planned']}, {check['measurements']} measurements, "
          f"{check['sha256_mismatches']} SHA-256 mismatches → "
          f"{'no data lost' if check['ok'] else 'DATA CHECK FAILED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="browsing time (s)")
    parser.add_argument("--viewers", type=int, default=20, help="simulated viewers")
    parser.add_argument("--think-ms", type=float, default=250.0,
                        help="pause between a viewer's rounds (ms)")
    parser.add_argument("--baseline-seconds", type=float, default=8.0,
                        help="one viewer alone after the run (s)")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn",
                        help="gunicorn (as in shared use) or werkzeug (python app.py)")
    parser.add_argument("--processes", type=int, default=2,
                        help=f"gunicorn worker processes (each {GUNICORN_THREADS} threads)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run_load(args.seconds, args.viewers, args.think_ms, args.baseline_seconds,
                      args.server, args.processes)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_report(result)
    loaded = result["loaded"]["kinds"]["all"]
    ok = (loaded["p95_ms"] is not None and loaded["p95_ms"] / 1000 <= P95_TARGET_S
          and loaded["errors"] == 0 and result["acquisition"]["ok"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
