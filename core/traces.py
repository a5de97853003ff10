"""The electrochemical record of one measurement: time, potential and current samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Trace:
    """Samples of one measurement, all 1-D float64 arrays of the same length.

    Attributes
    ----------
    time_s : (N,) ndarray
        Seconds from the start of the measurement, strictly increasing.
    potential_V : (N,) ndarray
        Working-electrode potential, V vs Li/Li+ (the QRCE scale of the instrument).
    current_A : (N,) ndarray
        Current in A; cathodic (plating) current is negative.
    metadata : dict
        Free-form provenance (source file, instrument, simulation parameters...).
    """

    time_s: np.ndarray
    potential_V: np.ndarray
    current_A: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.time_s)
        if len(self.potential_V) != n or len(self.current_A) != n:
            raise ValueError(
                f"trace arrays differ in length: time {n}, potential {len(self.potential_V)}, "
                f"current {len(self.current_A)}"
            )

    def __len__(self) -> int:
        return len(self.time_s)
