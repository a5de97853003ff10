"""Configuration of the nifpga backend, loaded from YAML: bitfile, names, layout and scaling.

Everything the backend knows about the lab's FPGA card and its analog front end is here.
Registers and FIFOs are mapped from logical names (``external_stop``) to the names compiled
into the bitfile (``"External Stop"``) and addressed by that name, never by offset. The
defaults describe the WEC-SPM bitfile family as published by an open-source host of the same
bitfiles; every one of them must be checked against the lab's ``.lvbitx``
(:func:`workers.instruments.fpga.contract.check_bitfile` does the names and types) and the
lab's LabVIEW host VIs (sample layout, scaling, action codes) before the first landing.

Sign conventions: scale factors are signed. ``current_A_per_V`` turns the amplifier's output
volts into amperes with the sign the trace uses (cathodic negative); if the amplifier reads
plating current as positive volts, make it negative. Likewise ``potential_command_V_per_V``
(working-electrode potential per volt on AO3: -1 where the bias is applied to the pipette's
QRCE and the substrate is grounded) and ``galvanostat_A_per_V``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import MeniscusError
from workers.instruments.fpga.protocol import CLOCK_HZ, SampleLayout, volts_to_counts

DataTypeName = Literal["Bool", "I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "Sgl",
                       "Dbl", "Fxp"]
#: sample channels the backend knows; a layout may name any subset
CHANNELS = ("x_command", "y_command", "z_command", "v1", "v2", "x_readback", "y_readback",
            "z_readback", "current_1", "current_2")
FeedbackSource = Literal["current_1", "current_2"]


class FpgaConfigError(MeniscusError):
    """The nifpga configuration is missing, malformed or out of the hardware's range."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RegisterSpec(_Model):
    """A front-panel control or indicator of the FPGA VI, as compiled into the bitfile."""

    name: str
    type: DataTypeName
    indicator: bool = False

    @model_validator(mode="before")
    @classmethod
    def _labview_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "Boolean":
            data = {**data, "type": "Bool"}  # the bitfile's XML says Boolean, nifpga says Bool
        return data


def _reg(name: str, type_: str, indicator: bool = False) -> RegisterSpec:
    return RegisterSpec(name=name, type=type_, indicator=indicator)


class Registers(_Model):
    """Logical register → bitfile register. In YAML a bare string renames a register and
    keeps its default type; a mapping may override ``name``, ``type`` and ``indicator``."""

    external_stop: RegisterSpec = _reg("External Stop", "Bool")
    external_pause: RegisterSpec = _reg("External Pause", "Bool")
    feedback_type: RegisterSpec = _reg("FeedBackType", "U8")
    feedback_threshold: RegisterSpec = _reg("Feedback_Threshold", "I32")
    greater_than: RegisterSpec = _reg("GreaterThan", "Bool")
    feedback_type_2: RegisterSpec = _reg("FeedBackType 2", "U8")
    feedback_threshold_2: RegisterSpec = _reg("Feedback_Threshold 2", "I32")
    greater_than_2: RegisterSpec = _reg("GreaterThan 2", "Bool")
    velocity_exponent: RegisterSpec = _reg("2^(-n)", "I16")
    applied_x: RegisterSpec = _reg("Applied X", "I16", True)
    applied_y: RegisterSpec = _reg("Applied Y", "I16", True)
    applied_z: RegisterSpec = _reg("Applied Z", "I16", True)
    measured_current: RegisterSpec = _reg("MeasuredCurrent", "I16", True)
    line_number: RegisterSpec = _reg("LineNumber", "U64", True)
    waiting_for_waypoints: RegisterSpec = _reg("WaitingForWayPoints", "Bool", True)

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = {}
        for key, value in data.items():
            default = cls.model_fields[key].default if key in cls.model_fields else None
            if default is None:
                merged[key] = value  # unknown key: let validation name it
            elif isinstance(value, str):
                merged[key] = {**default.model_dump(), "name": value}
            elif isinstance(value, dict):
                merged[key] = {**default.model_dump(), **value}
            else:
                merged[key] = value
        return merged


class FifoSpec(_Model):
    """A DMA FIFO: its bitfile name, the host buffer depth to request, and (for the contract
    check) the depth compiled into the target."""

    name: str
    host_depth: int = Field(gt=0)
    target_depth: int | None = Field(default=None, gt=0)


class Fifos(_Model):
    waypoints: FifoSpec = FifoSpec(name="Host_To_FPGA_Positions", host_depth=8197 * 4,
                                   target_depth=8197)
    samples: FifoSpec = FifoSpec(name="FPGA_To_Host_FIFO", host_depth=32767 * 8,
                                 target_depth=32767)


class Samples(_Model):
    """Where each channel sits in the 14-word sample frame (word index per channel)."""

    channels: dict[str, int] = {
        "x_command": 0, "y_command": 1, "z_command": 2, "v1": 3, "v2": 4,
        "x_readback": 5, "y_readback": 6, "z_readback": 7, "current_1": 8, "current_2": 9,
    }
    timestamp_high: int = 12
    timestamp_low: int = 13
    timestamp_encoding: Literal["offset_binary", "twos_complement"] = "offset_binary"
    #: nominal time between samples (256 averages of 10 µs + one transfer iteration)
    period_s: float = Field(default=2.57e-3, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Samples:
        unknown = sorted(set(self.channels) - set(CHANNELS))
        if unknown:
            raise ValueError(f"sample channels {unknown} are unknown; known: {list(CHANNELS)}")
        self.layout()  # index range and duplicates
        return self

    def layout(self, clock_hz: float = CLOCK_HZ) -> SampleLayout:
        return SampleLayout(channels=dict(self.channels), timestamp_high=self.timestamp_high,
                            timestamp_low=self.timestamp_low,
                            timestamp_encoding=self.timestamp_encoding, clock_hz=clock_hz)


class Piezo(_Model):
    """The X/Y/Z piezo: µm = (output V − zero_V) × um_per_V, within 0..travel_um."""

    um_per_V: float = Field(default=10.0, gt=0)
    zero_V: float = 0.0
    travel_um: float = Field(default=100.0, gt=0)
    #: whether a larger Z output lowers the pipette towards the sample
    z_lowers_with_counts: bool = True


class Motion(_Model):
    move_speed_um_s: float = Field(default=20.0, gt=0)
    retract_speed_um_s: float = Field(default=10.0, gt=0)
    #: how far make_safe() lifts the pipette above the last contact, µm
    safe_lift_um: float = Field(default=8.0, gt=0)


class Cell(_Model):
    """The electrochemical front end: electrometer (potential control) or galvanostat."""

    mode: Literal["potentiostat", "galvanostat"] = "potentiostat"
    #: V vs Li/Li+ = (potential on the QRCE scale) + reference_offset_V
    reference_offset_V: float = 0.0
    #: potentiostat: working-electrode potential (QRCE scale) per volt on AO3 (V1)
    potential_command_V_per_V: float = 1.0
    current_channel: FeedbackSource = "current_1"
    #: amperes per volt at the current channel (amplifier gain; 1e-9 = 1 nA/V)
    current_A_per_V: float = 1e-9
    #: galvanostat: amperes per volt on AO3 (V1)
    galvanostat_A_per_V: float = 1e-9
    potential_channel: FeedbackSource = "current_2"
    #: potential (QRCE scale) per volt at the galvanostat's potential readback
    potential_V_per_V: float = 1.0
    #: AO3 (V1) and AO4 (V2) outputs at rest, V
    rest_V1_V: float = 0.0
    rest_V2_V: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> Cell:
        for key in ("potential_command_V_per_V", "current_A_per_V", "galvanostat_A_per_V",
                    "potential_V_per_V"):
            if getattr(self, key) == 0:
                raise ValueError(f"{key} must not be 0")
        for key in ("rest_V1_V", "rest_V2_V"):
            volts_to_counts(getattr(self, key), what=key)
        return self


class Contact(_Model):
    """How the FPGA recognises the meniscus touching the surface."""

    #: potentiostat: potential applied during the approach (V vs Li/Li+) and the |current|
    #: above which the meniscus has landed
    hold_potential_V: float = 1.47
    current_threshold_A: float = Field(default=5e-12, gt=0)
    #: galvanostat: its potential reading in air (overload) and the drop that means contact
    overload_V: float = 10.0
    drop_V: float = Field(default=5.0, gt=0)
    #: galvanostat: AO3 output during the approach (the setpoint that drives it to overload)
    approach_command_V: float = 0.0
    #: feedback-source codes of the FeedBackType registers
    source_codes: dict[FeedbackSource, int] = {"current_1": 1, "current_2": 2}
    #: line-type codes: a plain waypoint, and "stop current move on setpoint"
    plain_action: int = 0
    stop_on_contact_action: int = 2
    #: settling waypoint before every approach (applies the hold, refreshes the comparators)
    settle_s: float = Field(default=0.05, ge=0)


class Timing(_Model):
    #: one count of the waypoint hold timer, s (µs on the WEC-SPM target)
    hold_unit_s: float = Field(default=1e-6, gt=0)
    #: position-loop wait word of every waypoint
    position_loop_wait: int = Field(default=0, ge=0, le=32767)
    #: no sample for this long during a measurement is a FIFO failure, s
    fifo_timeout_s: float = Field(default=1.0, gt=0)
    #: wait after the program ends for the last samples to arrive, s
    final_drain_s: float = Field(default=0.02, ge=0)
    #: largest single read of the sample FIFO, frames
    max_read_frames: int = Field(default=8192, gt=0)


class FpgaConfig(_Model):
    """Everything the nifpga backend needs to drive the WEC-SPM FPGA."""

    bitfile: Path
    resource: str = "RIO0"
    clock_hz: float = Field(default=CLOCK_HZ, gt=0)
    registers: Registers = Registers()
    fifos: Fifos = Fifos()
    samples: Samples = Samples()
    piezo: Piezo = Piezo()
    motion: Motion = Motion()
    cell: Cell = Cell()
    contact: Contact = Contact()
    timing: Timing = Timing()

    @model_validator(mode="after")
    def _check(self) -> FpgaConfig:
        cell, channels = self.cell, self.samples.channels
        needed = {"v1", "z_command"} | (
            {cell.current_channel} if cell.mode == "potentiostat" else {cell.potential_channel}
        )
        missing = sorted(needed - set(channels))
        if missing:
            raise ValueError(f"the sample layout lacks channels {missing} ({cell.mode} mode)")
        # the contact thresholds must be codes the comparator can actually see
        from workers.instruments.fpga.scaling import contact_comparators

        contact_comparators(self)
        return self

    def layout(self) -> SampleLayout:
        return self.samples.layout(self.clock_hz)


def config_from_mapping(data: object, *, source: object = None,
                        base_dir: Path | None = None) -> FpgaConfig:
    """Build a :class:`FpgaConfig` from parsed YAML; a relative bitfile path is taken
    relative to ``base_dir``. Raises :class:`FpgaConfigError` naming ``source``."""
    where = f"{source}: " if source is not None else ""
    if not isinstance(data, dict):
        raise FpgaConfigError(f"{where}an nifpga config is a mapping, not {type(data).__name__}")
    data = dict(data)
    if base_dir is not None and "bitfile" in data and not Path(data["bitfile"]).is_absolute():
        data["bitfile"] = str(base_dir / data["bitfile"])
    try:
        return FpgaConfig.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise FpgaConfigError(f"{where}{problems}") from error


def load_config(path: str | Path) -> FpgaConfig:
    """Read an nifpga config YAML file (see ``examples/fpga_wec_spm.yaml``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FpgaConfigError(f"{path}: cannot read the nifpga config ({error})") from error
    return config_from_mapping(data, source=path, base_dir=path.parent)
