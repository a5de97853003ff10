"""What the instrument can do: the limits a grid is checked against before anything moves.

The defaults describe the lab's SECCM (PI P-611.3S NanoCube piezo, NI PCIe-7852R FPGA, custom
galvanostat, Au thin film in 50 mM LiPF6/PC). Speeds, overheads and the coarse stage are
planning figures: calibrate them on the instrument and pass an adjusted copy
(``LAB_LIMITS.model_copy(update={...})`` or ``InstrumentLimits(...)``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from core.grid.model import GridModel, PositiveFloat, PositiveInt

NonNegativeFloat = Annotated[float, Field(ge=0)]


class InstrumentLimits(GridModel):
    """Limits and timing figures of one SECCM instrument (units in the names)."""

    error_root: ClassVar[str] = "instrument limits"

    #: x/y travel of the piezo (0 to this), one block of spots must fit in it
    piezo_travel_um: PositiveFloat = 100.0
    #: z travel of the piezo; the retract must fit in it
    piezo_z_travel_um: PositiveFloat = 100.0
    #: x/y travel of the coarse stage that moves between blocks; 0 when there is none, in which
    #: case the whole grid must sit inside the piezo's travel
    coarse_xy_travel_um: NonNegativeFloat = 25_000.0
    coarse_speed_um_s: PositiveFloat = 500.0
    #: settling after a coarse move, before the piezo may approach again
    coarse_settle_s: NonNegativeFloat = 5.0

    #: galvanostat output range (± this), and the smallest current it holds accurately
    galvanostat_max_current_A: PositiveFloat = 10e-9
    galvanostat_min_current_A: PositiveFloat = 1e-12
    #: the FPGA's ±10 V ADC/DAC range; the electrochemical window must sit inside it
    adc_range_V: PositiveFloat = 10.0
    #: potentials a measurement may apply, V vs Li/Li+ (electrolyte and Au film stability)
    window_lower_V: float = -1.0
    window_upper_V: float = 3.0

    max_spots: PositiveInt = 10_000
    #: fastest approach at which the contact stop halts the pipette before it crashes the meniscus
    max_approach_speed_um_s: PositiveFloat = 10.0
    #: fastest lateral or retract move of the piezo with the pipette lifted
    max_move_speed_um_s: PositiveFloat = 50.0
    #: clearance required between neighbouring footprints
    pitch_margin_um: NonNegativeFloat = 2.0
    #: the retract must lift the meniscus clear: at least this, and this fraction of the footprint
    min_retract_um: PositiveFloat = 1.0
    min_retract_footprint_ratio: NonNegativeFloat = 0.5
    #: longest single measurement (the meniscus evaporates, the FPGA program needs a deadline)
    max_measurement_s: PositiveFloat = 600.0

    #: per spot: program upload, ledger commit and file write; camera arm/stop when filming
    spot_overhead_s: NonNegativeFloat = 0.5
    camera_overhead_s: NonNegativeFloat = 1.0

    def _check(self) -> None:
        if self.window_lower_V >= self.window_upper_V:
            raise ValueError(
                f"window_lower_V {self.window_lower_V:g} V must be below "
                f"window_upper_V {self.window_upper_V:g} V"
            )
        if max(abs(self.window_lower_V), abs(self.window_upper_V)) > self.adc_range_V:
            raise ValueError(
                f"the window {self.window_lower_V:g} to {self.window_upper_V:g} V exceeds the "
                f"±{self.adc_range_V:g} V ADC range"
            )
        if self.galvanostat_min_current_A >= self.galvanostat_max_current_A:
            raise ValueError("galvanostat_min_current_A must be below galvanostat_max_current_A")

    @property
    def has_coarse_xy(self) -> bool:
        """Whether a coarse x/y stage can carry the piezo between blocks of spots."""
        return self.coarse_xy_travel_um > 0


#: the lab's instrument with the default figures above
LAB_LIMITS = InstrumentLimits()
