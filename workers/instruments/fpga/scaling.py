"""Physical units ↔ FPGA converter counts for one configuration, and the contact comparators.

Positions are piezo µm (0..travel), potentials V vs Li/Li+, currents A with cathodic
(plating) current negative. Every conversion to counts goes through
:func:`~workers.instruments.fpga.protocol.volts_to_counts`, so a value outside the ±10 V
converter range is refused, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.traces import Trace
from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.protocol import (
    I16_MAX,
    I16_MIN,
    OutOfRangeError,
    counts_to_volts,
    rate_to_counts_per_tick,
    volts_to_counts,
)


@dataclass(frozen=True)
class Comparator:
    """One FPGA feedback comparator: trips when the source reading (counts) is above
    (``greater_than``) or below the threshold."""

    source: int
    threshold: int
    greater_than: bool

    def trips(self, reading: int) -> bool:
        return reading > self.threshold if self.greater_than else reading < self.threshold


def never_trips(source: int) -> Comparator:
    """A comparator no I16 reading can trip (the threshold is above the largest code)."""
    return Comparator(source, I16_MAX + 1, True)


def always_trips(source: int) -> Comparator:
    """A comparator every I16 reading trips: ends a stop-on-feedback move on purpose."""
    return Comparator(source, I16_MIN - 1, True)


def contact_comparators(config: FpgaConfig) -> tuple[Comparator, Comparator]:
    """The (primary, secondary) comparators that recognise contact.

    Potential control: |current| above the threshold, as two one-sided comparators on the
    current channel (either polarity lands). Current control: the galvanostat's potential
    reading falls more than ``drop_V`` below its overload value; the secondary is disarmed.

    Raises
    ------
    OutOfRangeError
        A threshold outside the ±10 V converter range, or below one converter count.
    """
    cell, contact = config.cell, config.contact
    if cell.mode == "potentiostat":
        source = contact.source_codes[cell.current_channel]
        volts = contact.current_threshold_A / abs(cell.current_A_per_V)
        counts = volts_to_counts(volts, what="contact current threshold")
        if counts < 1:
            raise OutOfRangeError(
                f"contact current threshold {contact.current_threshold_A:.3g} A is "
                f"{volts * 1e3:.3g} mV at the amplifier, below one converter count "
                f"({10 / 32768 * abs(cell.current_A_per_V):.3g} A at "
                f"{abs(cell.current_A_per_V):.3g} A/V)"
            )
        volts_to_counts(-volts, what="contact current threshold")
        return Comparator(source, counts, True), Comparator(source, -counts, False)
    source = contact.source_codes[cell.potential_channel]
    threshold_V = contact.overload_V - contact.drop_V
    counts = volts_to_counts(threshold_V, what="galvanostat contact threshold (overload − drop)")
    return Comparator(source, counts, False), never_trips(source)


class Scaling:
    """Conversions between physical units and converter counts for ``config``."""

    def __init__(self, config: FpgaConfig) -> None:
        self.config = config
        self.clock_hz = config.clock_hz

    # --- piezo ------------------------------------------------------------------------
    def piezo_counts(self, um: float, *, axis: str) -> int:
        """Output counts that put ``axis`` at ``um``; refused outside 0..travel."""
        piezo = self.config.piezo
        if not 0.0 <= um <= piezo.travel_um:
            raise OutOfRangeError(
                f"{axis} = {um:.3f} µm is outside the piezo travel 0 to {piezo.travel_um:g} µm"
            )
        return volts_to_counts(um / piezo.um_per_V + piezo.zero_V, what=f"{axis} piezo output")

    def piezo_um(self, counts) -> np.ndarray | float:
        """Piezo position (µm) for output counts."""
        piezo = self.config.piezo
        um = (counts_to_volts(counts) - piezo.zero_V) * piezo.um_per_V
        return float(um) if np.ndim(um) == 0 else um

    def piezo_rate(self, um_s: float) -> float:
        """A piezo speed in µm/s as counts per clock tick."""
        return rate_to_counts_per_tick(um_s / self.config.piezo.um_per_V,
                                       clock_hz=self.clock_hz)

    # --- electrochemistry ---------------------------------------------------------------
    def v1_for_potential(self, potential_V: float) -> int:
        """AO3 counts that apply ``potential_V`` (vs Li/Li+) in potential control."""
        cell = self.config.cell
        output = (potential_V - cell.reference_offset_V) / cell.potential_command_V_per_V
        return volts_to_counts(output, what=f"V1 output for {potential_V:g} V vs Li/Li+")

    def v1_for_current(self, current_A: float) -> int:
        """AO3 counts that make the galvanostat pass ``current_A`` (signed)."""
        output = current_A / self.config.cell.galvanostat_A_per_V
        return volts_to_counts(output, what=f"galvanostat setpoint for {current_A:.4g} A")

    def potential_rate(self, V_s: float) -> float:
        """A potential sweep rate (V/s) as AO3 counts per clock tick."""
        return rate_to_counts_per_tick(V_s / self.config.cell.potential_command_V_per_V,
                                       clock_hz=self.clock_hz)

    def rest_counts(self) -> tuple[int, int]:
        cell = self.config.cell
        return (volts_to_counts(cell.rest_V1_V, what="rest V1"),
                volts_to_counts(cell.rest_V2_V, what="rest V2"))

    def hold_counts(self, duration_s: float) -> int:
        """Hold-timer counts for ``duration_s``."""
        if duration_s < 0:
            raise OutOfRangeError(f"hold of {duration_s:g} s is negative")
        return round(duration_s / self.config.timing.hold_unit_s)

    # --- samples --------------------------------------------------------------------------
    def trace(self, samples: dict[str, np.ndarray], *, metadata: dict | None = None) -> Trace:
        """A :class:`Trace` from decoded samples (volts per channel plus ``time_s``).

        Potential control: potential from the V1 command, current from the amplifier.
        Current control: current from the V1 setpoint, potential from the readback.
        """
        cell = self.config.cell
        if cell.mode == "potentiostat":
            potential = samples["v1"] * cell.potential_command_V_per_V + cell.reference_offset_V
            current = samples[cell.current_channel] * cell.current_A_per_V
        else:
            potential = (samples[cell.potential_channel] * cell.potential_V_per_V
                         + cell.reference_offset_V)
            current = samples["v1"] * cell.galvanostat_A_per_V
        return Trace(np.asarray(samples["time_s"], dtype=np.float64),
                     np.asarray(potential, dtype=np.float64),
                     np.asarray(current, dtype=np.float64), metadata=dict(metadata or {}))
