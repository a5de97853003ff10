"""The simulated instrument: the digital twin behind the instrument protocol.

Physics comes from :mod:`core.simulate` (so tests, demos and the UI see the same spots). With
the camera on, galvanostatic and CV spots are filmed (:mod:`core.simulate.movie`,
:mod:`core.simulate.movie_cv`), frame times on the electrochemistry's clock (0 at the
landing, as the real camera's are once aligned); chronoamperometry is not filmed. Time
is compressed by ``speed`` (simulated seconds per real second; ``math.inf`` for no waiting).
Fault knobs in :class:`SimFaults` reproduce what goes wrong on the real instrument: no contact,
a stage that hangs, a FIFO that stops streaming, dropped camera frames, and a worker killed at
a given phase of a given landing (for reliability tests).
"""

from __future__ import annotations

import math
import os
import signal
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.simulate.physics import ARTICLE_PHYSICS, PlatingPhysics
from core.traces import Trace
from workers.instruments.protocols import (
    POLL_INTERVAL_S,
    Approach,
    Frames,
    Measurement,
    MeasurementError,
    StageError,
    StopCheck,
    Stopped,
    deadline_s,
)

#: distance from the retracted pipette to the surface at a fresh site (µm)
SURFACE_GAP_UM = 8.0
#: lateral move speed of the simulated stage (µm/s)
MOVE_SPEED_UM_S = 50.0
PHASES = ("before_move", "during_approach", "during_measurement", "after_write",
          "after_commit")
#: techniques the simulated camera films (the twin has no movie of chronoamperometry)
FILMED_TECHNIQUES = ("galvanostatic", "cv")
#: frames a CV movie goes on after the last sample, the meniscus still in place
CV_FRAMES_BEFORE_RETRACT = 3


def site_key(x_um: float, y_um: float) -> tuple[float, float]:
    """A landing site as a hashable key, rounded to 0.1 µm."""
    return (round(float(x_um), 1), round(float(y_um), 1))


@dataclass(frozen=True)
class SimFaults:
    """What goes wrong, and where (sites as (x_um, y_um))."""

    no_contact_sites: frozenset = frozenset()
    stage_hang_sites: frozenset = frozenset()
    fifo_timeout_sites: frozenset = frozenset()
    #: fraction of camera frames lost in transfer (their times are lost with them)
    dropped_frame_fraction: float = 0.0
    #: (site, phase): the worker process is SIGKILLed there (reliability tests)
    kill_at: tuple | None = None

    @classmethod
    def from_mapping(cls, data: dict | None) -> SimFaults:
        """Faults from plain JSON-like data (lists of [x, y] sites)."""
        data = data or {}

        def sites(name):
            return frozenset(site_key(*xy) for xy in data.get(name, ()))

        kill = data.get("kill_at")
        if kill is not None and kill[1] not in PHASES:
            raise ValueError(f"kill phase {kill[1]!r} is not one of {PHASES}")
        return cls(
            no_contact_sites=sites("no_contact_sites"),
            stage_hang_sites=sites("stage_hang_sites"),
            fifo_timeout_sites=sites("fifo_timeout_sites"),
            dropped_frame_fraction=float(data.get("dropped_frame_fraction", 0.0)),
            kill_at=None if kill is None else (site_key(*kill[0]), kill[1]),
        )


@dataclass
class SimInstrument:
    """A time-compressed simulated SECCM/IRM instrument."""

    name: str = "sim"
    speed: float = 100.0
    faults: SimFaults = field(default_factory=SimFaults)
    physics: PlatingPhysics = ARTICLE_PHYSICS
    seed: int = 0
    pixel_size_nm: float = 40.0
    movie_margin_um: float = 2.0
    x_um: float = 0.0
    y_um: float = 0.0
    z_gap_um: float = SURFACE_GAP_UM
    outputs_on: bool = False

    # --- motion ---------------------------------------------------------------------------
    def move_to_um(self, x_um: float, y_um: float, *, should_stop: StopCheck) -> None:
        """Move laterally (the pipette must be retracted)."""
        self.checkpoint("before_move", (x_um, y_um))
        distance = math.hypot(x_um - self.x_um, y_um - self.y_um)
        nominal = distance / MOVE_SPEED_UM_S
        if site_key(x_um, y_um) in self.faults.stage_hang_sites:
            self._wait(deadline_s(nominal), should_stop)
            raise StageError(
                f"{self.name}: stage did not reach ({x_um:.1f}, {y_um:.1f}) µm within its "
                f"{deadline_s(nominal):.1f} s deadline"
            )
        self._wait(nominal, should_stop)
        self.x_um, self.y_um = float(x_um), float(y_um)

    def approach(self, *, speed_um_s: float, max_travel_um: float, should_stop: StopCheck):
        """Lower the pipette until the meniscus touches, or the travel runs out."""
        site = site_key(self.x_um, self.y_um)
        contact = site not in self.faults.no_contact_sites and self.z_gap_um <= max_travel_um
        travel = self.z_gap_um if contact else max_travel_um
        self._wait(travel / speed_um_s / 2, should_stop)
        self.checkpoint("during_approach", site)
        self._wait(travel / speed_um_s / 2, should_stop)
        self.z_gap_um -= travel
        return Approach(contact=contact, z_um=-self.z_gap_um, travel_um=travel)

    def retract(self, height_um: float) -> None:
        """Lift the pipette ``height_um`` above the surface (never fails in the sim)."""
        self.outputs_on = False
        self.z_gap_um = max(self.z_gap_um, 0.0) + height_um

    def make_safe(self) -> None:
        """Outputs off and the pipette off the surface."""
        self.outputs_on = False
        if self.z_gap_um < SURFACE_GAP_UM:
            self.z_gap_um = SURFACE_GAP_UM

    def is_safe(self) -> bool:
        return not self.outputs_on and self.z_gap_um > 0

    def close(self) -> None:
        self.make_safe()

    # --- measurement ----------------------------------------------------------------------
    def measure(self, technique: dict, *, area_cm2: float, camera: dict | None,
                should_stop: StopCheck, on_samples: Callable[[Trace], None] | None = None):
        """Run ``technique`` at the current site, filming it when ``camera`` is given."""
        site = site_key(self.x_um, self.y_um)
        seed = self._site_seed(site)
        footprint_um = 2e4 * math.sqrt(area_cm2 / math.pi)
        simulated = self._simulate(technique, footprint_um, seed)
        trace = simulated.trace
        self.outputs_on = True
        duration = float(trace.time_s[-1])
        fifo_fails = site in self.faults.fifo_timeout_sites
        self._stream(trace, duration * (0.5 if fifo_fails else 1.0), should_stop, on_samples,
                     site)
        if fifo_fails:
            self.outputs_on = False
            raise MeasurementError(
                f"{self.name}: FPGA_To_Host_FIFO timed out at t = {duration / 2:.2f} s "
                f"(no samples for {deadline_s(0.1):.1f} s)"
            )
        self.outputs_on = False
        movie = None
        if camera is not None and technique["technique"] in FILMED_TECHNIQUES:
            movie = self._film(technique, footprint_um, seed, simulated, camera)
        return Measurement(trace=trace, movie=movie,
                           metadata={"simulated": True, "sim_seed": seed,
                                     "sim_truth": simulated.truth})

    def _simulate(self, technique: dict, footprint_um: float, seed: int):
        # each simulator is imported when first used: the CV one pulls in scipy.signal and
        # scipy.stats (seconds of start-up for a worker that may only ever plate)
        kind = technique["technique"]
        if kind == "galvanostatic":
            from core.simulate.galvanostatic import simulate_galvanostatic

            return simulate_galvanostatic(
                technique["current_density_mA_cm2"], technique["duration_s"],
                footprint_diameter_um=footprint_um, physics=self.physics, seed=seed)
        if kind == "cv":
            from core.simulate.cv import simulate_cv

            return simulate_cv(
                cycles=technique["cycles"], upper_V=technique["upper_V"],
                lower_V=technique["lower_V"], scan_rate_V_s=technique["scan_rate_V_s"],
                start_V=technique.get("start_V"), footprint_diameter_um=footprint_um,
                physics=self.physics, seed=seed)
        if kind == "chronoamperometry":
            from core.simulate.chronoamperometry import simulate_chronoamperometry

            return simulate_chronoamperometry(
                potential_V=technique["potential_V"], duration_s=technique["duration_s"],
                footprint_diameter_um=footprint_um, physics=self.physics, seed=seed)
        raise MeasurementError(f"{self.name}: unknown technique {kind!r}")

    def _film(self, technique, footprint_um, seed, simulated, camera) -> Frames:
        """The IRM movie of the measurement just simulated, times shifted so that the landing
        frame is at t = 0 (the trace's clock), less any frames the faults drop."""
        side_px = math.ceil((footprint_um + 2 * self.movie_margin_um) * 1e3
                            / self.pixel_size_nm)
        common = dict(footprint_diameter_um=footprint_um, pixel_size_nm=self.pixel_size_nm,
                      shape=(side_px, side_px), frame_interval_s=camera.get("interval_s", 0.23),
                      seed=seed)
        if technique["technique"] == "cv":
            from core.simulate.movie_cv import simulate_irm_cv_movie

            # the camera stops at the retract, a few frames after the CV's last sample, so
            # the last cycle's end lies within the movie (otherwise it ends up to a frame
            # early, and the pair-averaged movie up to 2.5 frames early: its last cycle out)
            movie = simulate_irm_cv_movie(cv=simulated, post_frames=CV_FRAMES_BEFORE_RETRACT,
                                          retract_after_run=False, **common)
        else:
            from core.simulate.movie import simulate_irm_movie

            truth = simulated.truth
            movie = simulate_irm_movie(
                current_density_mA_cm2=technique["current_density_mA_cm2"],
                duration_s=technique["duration_s"], physics=self.physics,
                t_nuc_s=truth.get("spot_t_nuc_s", truth.get("t_nuc_s")), **common)
        landing_time = movie.times_s[movie.truth["landing_frame"]]
        times = movie.times_s - landing_time  # on the electrochemistry's clock
        frames = movie.frames
        dropped = 0
        if self.faults.dropped_frame_fraction > 0:
            keep = np.random.default_rng(seed).random(len(frames)) >= (
                self.faults.dropped_frame_fraction)
            dropped = int((~keep).sum())
            frames, times = frames[keep], times[keep]
        return Frames(frames=frames, times_s=times, pixel_size_nm=self.pixel_size_nm,
                      dropped=dropped)

    def _stream(self, trace, until_s, should_stop, on_samples, site) -> None:
        """Play the measurement out in compressed time, handing samples out as they come."""
        started = time.monotonic()
        halfway_done = False
        while True:
            if math.isinf(self.speed):
                elapsed = until_s
            else:
                elapsed = (time.monotonic() - started) * self.speed
            if not halfway_done and elapsed >= until_s / 2:
                halfway_done = True
                self.checkpoint("during_measurement", site)
            if on_samples is not None:
                n = int(np.searchsorted(trace.time_s, min(elapsed, until_s), side="right"))
                on_samples(Trace(trace.time_s[:n], trace.potential_V[:n], trace.current_A[:n]))
            if elapsed >= until_s:
                return
            if should_stop():
                self.outputs_on = False
                raise Stopped(f"{self.name}: measurement stopped at t = {elapsed:.2f} s")
            time.sleep(min(POLL_INTERVAL_S, (until_s - elapsed) / self.speed))

    # --- helpers --------------------------------------------------------------------------
    def checkpoint(self, phase: str, site) -> None:
        """Where the reliability tests kill the worker: SIGKILL, no clean-up at all."""
        if self.faults.kill_at is not None and self.faults.kill_at == (site_key(*site), phase):
            os.kill(os.getpid(), signal.SIGKILL)

    def _wait(self, simulated_s: float, should_stop: StopCheck) -> None:
        """Sleep ``simulated_s`` of instrument time, compressed by ``speed``, stoppably."""
        if simulated_s <= 0 or math.isinf(self.speed):
            if should_stop():
                raise Stopped(f"{self.name}: stopped")
            return
        end = time.monotonic() + simulated_s / self.speed
        while (left := end - time.monotonic()) > 0:
            if should_stop():
                raise Stopped(f"{self.name}: stopped")
            time.sleep(min(POLL_INTERVAL_S, left))

    def _site_seed(self, site) -> int:
        return zlib.crc32(f"{self.seed}:{site[0]}:{site[1]}".encode())
