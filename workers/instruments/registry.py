"""Build an instrument's backend from its ledger record, in the instrument worker.

The record (name, backend, config) and its checks live in :mod:`workers.instrument_config`;
here each backend name maps to the function that builds it. Backends are imported only when
built, so a worker that is only recovering never loads hardware libraries it does not need.
"""

from __future__ import annotations

from collections.abc import Callable

from workers.instrument_config import (
    InstrumentConfigError,
    InstrumentRecord,
    check_config,
    check_speed,
)
from workers.instruments.protocols import Instrument


def _build_sim(record: InstrumentRecord, speed: float) -> Instrument:
    from workers.instruments.sim import SimFaults, SimInstrument

    config = record.config
    try:
        faults = SimFaults.from_mapping(config.get("faults"))
    except (TypeError, ValueError, IndexError) as error:
        raise InstrumentConfigError(
            f"instrument {record.name!r}: faults {config.get('faults')!r} are malformed ({error})"
        ) from error
    options = {key: config[key] for key in ("seed", "pixel_size_nm", "movie_margin_um")
               if key in config}
    return SimInstrument(name=record.name, speed=speed, faults=faults, **options)


def _build_nifpga(record: InstrumentRecord, speed: float) -> Instrument:
    from workers.instruments.fpga import open_instrument

    camera = None
    if record.config.get("camera"):
        from workers.instruments.camera_mm import MicroManagerCamera

        camera = MicroManagerCamera(**record.config["camera"])
    if "config_file" not in record.config:
        raise InstrumentConfigError(
            f"instrument {record.name!r}: the nifpga backend needs config_file (see "
            f"examples/fpga_wec_spm.yaml)")
    return open_instrument(record.config["config_file"], name=record.name, camera=camera)


#: backend name → builder(record, speed); every name here has options in BACKEND_OPTIONS
BUILDERS: dict[str, Callable[[InstrumentRecord, float], Instrument]] = {
    "sim": _build_sim, "nifpga": _build_nifpga,
}


def build_instrument(record: InstrumentRecord, *, speed: float = 1.0) -> Instrument:
    """The backend object for ``record``, running at ``speed`` where time is simulated."""
    check_config(record.backend, record.config)
    check_speed(record.backend, speed)
    return BUILDERS[record.backend](record, speed)
