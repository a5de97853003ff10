"""FPGA programs (lists of waypoints) for each thing the instrument does. Pure: no hardware.

A :class:`Program` is described first and executed second: it carries its waypoints, its
nominal duration (from travel and sweep time: the deadline is computed from it) and, for an
approach, where the stop-on-feedback move ends. Every value is range-checked when the
program is built or encoded, before anything is written to the FPGA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.protocol import (
    Waypoint,
    choose_velocity_exponent,
    counts_to_volts,
    encode_waypoint,
    split_hold,
    volts_to_counts,
)
from workers.instruments.fpga.scaling import Scaling


@dataclass(frozen=True)
class Program:
    """Waypoints to run, what they are for, and how long they should take (s)."""

    waypoints: tuple[Waypoint, ...]
    nominal_s: float
    description: str
    #: the Z counts where the stop-on-feedback move ends without contact (approach only)
    approach_end_z: int | None = None
    #: measurements: V1 counts of the closing rest waypoint (see measurement_window)
    rest_v1: int | None = None

    def __len__(self) -> int:
        return len(self.waypoints)

    def encode(self) -> tuple[np.ndarray, int]:
        """``(frames, velocity_exponent)``: (N, 14) int16 words and the program's n."""
        speeds = [abs(v) for wp in self.waypoints for v in wp.velocities.values()]
        exponent = choose_velocity_exponent(speeds)
        frames = np.stack([encode_waypoint(wp, velocity_exponent=exponent)
                           for wp in self.waypoints])
        return frames, exponent


class ProgramBuilder:
    """Builds the programs of one configuration."""

    def __init__(self, config: FpgaConfig) -> None:
        self.config = config
        self.scale = Scaling(config)
        self._wait = config.timing.position_loop_wait

    def _rest(self, *, hold_counts: int = 0) -> Waypoint:
        v1, v2 = self.scale.rest_counts()
        return Waypoint(action=self.config.contact.plain_action, targets={"v1": v1, "v2": v2},
                        jump_v1=True, jump_v2=True, hold_counts=hold_counts,
                        loop_wait=self._wait)

    def _holds(self, first: dict, duration_s: float) -> list[Waypoint]:
        """A jump (``first``: targets) followed by a hold of ``duration_s`` split into
        timer-sized pieces: the first piece rides on the jump waypoint."""
        pieces = split_hold(self.scale.hold_counts(duration_s)) or [0]
        plain = self.config.contact.plain_action
        waypoints = [Waypoint(action=plain, targets=first, jump_v1="v1" in first,
                              hold_counts=pieces[0], loop_wait=self._wait)]
        waypoints += [Waypoint(action=plain, hold_counts=p, loop_wait=self._wait)
                      for p in pieces[1:]]
        return waypoints

    # --- motion -------------------------------------------------------------------------
    def move(self, start_um: dict[str, float], target_um: dict[str, float], *,
             speed_um_s: float, description: str, rest_first: bool = False) -> Program:
        """A straight move of the axes in ``target_um`` at ``speed_um_s`` (vector speed)."""
        scale = self.scale
        deltas = {axis: target_um[axis] - start_um[axis] for axis in target_um}
        distance = math.sqrt(sum(d * d for d in deltas.values()))
        waypoints = [self._rest()] if rest_first else []
        if distance > 0:
            targets = {axis: scale.piezo_counts(um, axis=axis) for axis, um in target_um.items()}
            velocities = {axis: scale.piezo_rate(speed_um_s * abs(d) / distance)
                          for axis, d in deltas.items() if d != 0}
            targets = {axis: c for axis, c in targets.items() if axis in velocities}
            waypoints.append(Waypoint(action=self.config.contact.plain_action, targets=targets,
                                      velocities=velocities, loop_wait=self._wait))
        return Program(tuple(waypoints), distance / speed_um_s, description)

    def approach(self, z_from_um: float, z_to_um: float, *, speed_um_s: float) -> Program:
        """Settle at the contact-detection output, then lower Z with stop-on-feedback armed.

        The settle waypoint applies the hold potential (or the galvanostat's approach
        setpoint) and refreshes the comparators before the move; the move ends on contact,
        or holds at ``z_to_um`` (the host then ends it on purpose: see the backend).
        """
        config, scale = self.config, self.scale
        if config.cell.mode == "potentiostat":
            v1 = scale.v1_for_potential(config.contact.hold_potential_V)
        else:
            v1 = volts_to_counts(config.contact.approach_command_V,
                                 what="galvanostat approach output")
        settle = self._holds({"v1": v1}, config.contact.settle_s)
        end = scale.piezo_counts(z_to_um, axis="z")
        move = Waypoint(action=config.contact.stop_on_contact_action, targets={"z": end},
                        velocities={"z": scale.piezo_rate(speed_um_s)}, loop_wait=self._wait)
        travel = abs(z_to_um - z_from_um)
        return Program((*settle, move), config.contact.settle_s + travel / speed_um_s,
                       f"approach {travel:.2f} µm at {speed_um_s:g} µm/s", approach_end_z=end)

    # --- measurements -------------------------------------------------------------------
    def galvanostatic(self, current_A: float, duration_s: float) -> Program:
        """Step the galvanostat to ``current_A`` (signed, cathodic negative), hold, rest."""
        v1 = self.scale.v1_for_current(current_A)
        waypoints = [*self._holds({"v1": v1}, duration_s), self._rest()]
        return Program(tuple(waypoints), duration_s,
                       f"galvanostatic {current_A:.4g} A for {duration_s:g} s",
                       rest_v1=self.scale.rest_counts()[0])

    def chronoamperometry(self, potential_V: float, duration_s: float) -> Program:
        """Step to ``potential_V`` (vs Li/Li+), hold, rest."""
        v1 = self.scale.v1_for_potential(potential_V)
        waypoints = [*self._holds({"v1": v1}, duration_s), self._rest()]
        return Program(tuple(waypoints), duration_s,
                       f"chronoamperometry {potential_V:g} V for {duration_s:g} s",
                       rest_v1=self.scale.rest_counts()[0])

    def cyclic_voltammetry(self, *, upper_V: float, lower_V: float, start_V: float,
                           scan_rate_V_s: float, cycles: int) -> Program:
        """Jump to ``start_V``, then per cycle ramp to ``lower_V``, ``upper_V`` and back to
        ``start_V`` at ``scan_rate_V_s``; rest at the end."""
        if not lower_V < upper_V or not lower_V <= start_V <= upper_V:
            raise ValueError(f"CV needs lower_V ≤ start_V ≤ upper_V and lower_V < upper_V; got "
                             f"{lower_V:g}, {start_V:g}, {upper_V:g} V")
        scale, plain = self.scale, self.config.contact.plain_action
        rate = scale.potential_rate(scan_rate_V_s)
        start = scale.v1_for_potential(start_V)
        vertices = [scale.v1_for_potential(lower_V), scale.v1_for_potential(upper_V), start]
        waypoints = [Waypoint(action=plain, targets={"v1": start}, jump_v1=True,
                              loop_wait=self._wait)]
        previous = start
        for _ in range(cycles):
            for vertex in vertices:
                if vertex != previous:
                    waypoints.append(Waypoint(action=plain, targets={"v1": vertex},
                                              velocities={"v1": rate}, loop_wait=self._wait))
                previous = vertex
        waypoints.append(self._rest())
        sweep_s = cycles * 2.0 * (upper_V - lower_V) / scan_rate_V_s
        return Program(tuple(waypoints), sweep_s,
                       f"CV {lower_V:g} to {upper_V:g} V at {scan_rate_V_s:g} V/s × {cycles}",
                       rest_v1=self.scale.rest_counts()[0])


def measurement_window(samples: dict[str, np.ndarray], rest_v1: int) -> dict[str, np.ndarray]:
    """The samples of the measurement itself: without those after the closing rest waypoint.

    The program ends by stepping V1 to rest, and the stream goes on until the host has seen
    the program complete. Keeps up to the last sample whose V1 output is not the rest value
    (when the measurement's last output is the rest value itself, the samples after it are
    indistinguishable and harmless). Time zero stays at the first sample after the program
    was written, which the target starts at its next loop iteration.

    Parameters
    ----------
    samples : dict of (N,) arrays
        Decoded samples with ``"v1"`` (V).
    rest_v1 : int
        V1 counts at rest.
    """
    active = np.flatnonzero(samples["v1"] != counts_to_volts(rest_v1))
    end = samples["v1"].size if active.size == 0 else int(active[-1]) + 1
    return {key: value[:end] for key, value in samples.items()}
