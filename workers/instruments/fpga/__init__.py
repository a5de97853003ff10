"""The ``nifpga`` backend: a WEC-SPM FPGA (NI R-series) driven through ``nifpga.Session``.

Modules: :mod:`.config` (YAML mapping of registers, FIFOs, sample layout and scaling),
:mod:`.protocol` (pure waypoint encoding and sample decoding), :mod:`.scaling` and
:mod:`.programs` (physical units to counts, waypoint programs), :mod:`.contract` (offline
bitfile check) and :mod:`.backend` (the :class:`~.backend.FpgaInstrument`).

Imported only when an instrument with this backend is built, so no other process loads
nifpga.
"""

from __future__ import annotations

from pathlib import Path

from workers.instruments.protocols import Camera


def open_instrument(config_path: str | Path, *, name: str = "nifpga",
                    camera: Camera | None = None):
    """Load the config at ``config_path``, check the bitfile and open the instrument."""
    from workers.instruments.fpga.backend import FpgaInstrument
    from workers.instruments.fpga.config import load_config

    return FpgaInstrument(load_config(config_path), name=name, camera=camera).open()
