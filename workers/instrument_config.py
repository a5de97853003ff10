"""Instruments as the ledger knows them: name, backend and configuration, and their runs.

Instruments are rows of the ledger's ``instruments`` table: a name (``sim`` is registered on
first use), a backend and a JSON config, checked here against what the backend accepts. This
module never imports an instrument backend, so the web app may use it;
:func:`workers.instruments.registry.build_instrument` turns a record into hardware (or the
twin) in the instrument worker.

``sim`` config keys: ``faults`` (see :meth:`workers.instruments.sim.SimFaults.from_mapping`:
``no_contact_sites``, ``stage_hang_sites``, ``fifo_timeout_sites`` as lists of [x_um, y_um],
``dropped_frame_fraction``, ``kill_at`` = [[x_um, y_um], phase]), ``seed``, ``pixel_size_nm``,
``movie_margin_um``. A run's ``speed`` (simulated seconds per real second) comes from the run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.errors import MeniscusError
from core.storage.db import session_scope
from core.storage.ledger import Ledger
from core.storage.models import Instrument as InstrumentRow
from core.storage.models import Run
from core.storage.states import RunState

DEFAULT_INSTRUMENT = "sim"


class InstrumentConfigError(MeniscusError):
    """An instrument is unknown, or its backend or configuration cannot be used."""


@dataclass(frozen=True)
class BackendOptions:
    """What a backend accepts: its config keys, and whether a speed factor means anything."""

    config_keys: frozenset[str]
    #: only simulated time can run faster than real time
    time_compressed: bool


BACKEND_OPTIONS: dict[str, BackendOptions] = {
    "sim": BackendOptions(
        config_keys=frozenset({"faults", "seed", "pixel_size_nm", "movie_margin_um"}),
        time_compressed=True,
    ),
    # the lab's SECCM: WEC-SPM bitfile on an NI R-series card (config_file: YAML as in
    # examples/fpga_wec_spm.yaml), optionally filmed through Micro-Manager (camera: mapping
    # of MicroManagerCamera options, e.g. config_file, exposure_ms, pixel_size_nm)
    "nifpga": BackendOptions(config_keys=frozenset({"config_file", "camera"}),
                             time_compressed=False),
}


@dataclass(frozen=True)
class InstrumentRecord:
    """An instrument as registered in the ledger."""

    name: str
    backend: str
    config: dict


def check_config(backend: str, config: dict) -> None:
    """Raise :class:`InstrumentConfigError` for an unknown backend or config key."""
    if backend not in BACKEND_OPTIONS:
        raise InstrumentConfigError(f"backend {backend!r} is not one of {sorted(BACKEND_OPTIONS)}")
    accepted = BACKEND_OPTIONS[backend].config_keys
    unknown = sorted(set(config) - accepted)
    if unknown:
        raise InstrumentConfigError(
            f"{backend} config keys {unknown} are unknown; accepted: {sorted(accepted)}"
        )


def check_speed(backend: str, speed: float) -> None:
    """A run's speed must be positive, and other than 1 only on a time-compressed backend."""
    if not speed > 0 or math.isnan(speed):
        raise InstrumentConfigError(f"speed {speed!r} must be a positive number (inf allowed)")
    if speed != 1.0 and not BACKEND_OPTIONS[backend].time_compressed:
        raise InstrumentConfigError(
            f"speed {speed:g}: the {backend} backend runs in real time (speed 1 only)"
        )


def configure_instrument(
    url: str, name: str, *, backend: str = "sim", config: dict | None = None
) -> None:
    """Register ``name`` (if new) and set its backend and config (checked first)."""
    config = dict(config or {})
    check_config(backend, config)
    _register(url, name, backend)
    with session_scope(url) as session:
        row = session.scalar(select(InstrumentRow).where(InstrumentRow.name == name))
        row.backend = backend
        row.config = config


def instrument_record(url: str, name: str) -> InstrumentRecord:
    """The registered instrument ``name``; ``sim`` is registered on first use."""
    if name == DEFAULT_INSTRUMENT:
        _register(url, name, "sim")
    with session_scope(url) as session:
        row = session.scalar(select(InstrumentRow).where(InstrumentRow.name == name))
        if row is None:
            known = sorted(session.scalars(select(InstrumentRow.name)))
            raise InstrumentConfigError(f"instrument {name!r} is not registered (known: {known})")
        return InstrumentRecord(name=row.name, backend=row.backend, config=dict(row.config))


def known_instruments(url: str) -> list[str]:
    """Names of the registered instruments."""
    with session_scope(url) as session:
        return sorted(session.scalars(select(InstrumentRow.name)))


def runs_in_state(url: str, instrument: str, states: Iterable[str]) -> list[int]:
    """Ids of ``instrument``'s runs in one of ``states``, oldest first."""
    with session_scope(url) as session:
        return list(session.scalars(
            select(Run.id).join(InstrumentRow)
            .where(InstrumentRow.name == instrument,
                   Run.state.in_([RunState(state).value for state in states]))
            .order_by(Run.id)
        ))


def _register(url: str, name: str, backend: str) -> None:
    try:
        Ledger(url).ensure_instrument(name, backend=backend)
    except IntegrityError:
        pass  # another process registered it at the same moment
