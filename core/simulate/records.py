"""Containers for simulated records and their ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.traces import Trace


@dataclass(frozen=True)
class SimulatedTrace:
    """A simulated measurement and what the simulator knows to be true about it.

    Attributes
    ----------
    trace : Trace
        The samples, as the instrument would record them (noise included).
    truth : dict
        JSON-serialisable ground truth (noise-free feature values, parameters, seed).
    """

    trace: Trace
    truth: dict = field(default_factory=dict)
