"""The nifpga configuration: defaults, YAML loading, renames and range checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workers.instruments.fpga.config import (
    FpgaConfig,
    FpgaConfigError,
    RegisterSpec,
    config_from_mapping,
    load_config,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fpga_wec_spm.yaml"


def test_the_example_loads_and_matches_the_documented_defaults():
    config = load_config(EXAMPLE)
    assert config.bitfile == EXAMPLE.parent / "../bitfiles/FPGATarget_WECSPM.lvbitx"
    assert config == FpgaConfig(bitfile=config.bitfile, cell={"mode": "galvanostat"})
    assert config.registers.feedback_threshold == RegisterSpec(name="Feedback_Threshold",
                                                               type="I32")
    assert config.fifos.samples.name == "FPGA_To_Host_FIFO"
    assert config.fifos.waypoints.target_depth == 8197
    layout = config.layout()
    assert (layout.timestamp_high, layout.timestamp_low, layout.clock_hz) == (12, 13, 40e6)


def test_a_bare_string_renames_a_register_and_keeps_its_type():
    config = FpgaConfig(bitfile="x.lvbitx", registers={
        "external_stop": "E-Stop", "applied_z": {"name": "Z out"}})
    assert config.registers.external_stop == RegisterSpec(name="E-Stop", type="Bool")
    assert config.registers.applied_z == RegisterSpec(name="Z out", type="I16", indicator=True)
    labview = FpgaConfig(bitfile="x", registers={"greater_than": {"name": "GT",
                                                                  "type": "Boolean"}})
    assert labview.registers.greater_than.type == "Bool"


def test_a_relative_bitfile_is_taken_from_the_config_folder(tmp_path):
    path = tmp_path / "rig" / "fpga.yaml"
    path.parent.mkdir()
    path.write_text("bitfile: wec.lvbitx\nresource: RIO1\n")
    config = load_config(path)
    assert config.bitfile == tmp_path / "rig" / "wec.lvbitx"
    assert config.resource == "RIO1"


def test_unknown_keys_are_errors_naming_the_file_and_key(tmp_path):
    path = tmp_path / "fpga.yaml"
    path.write_text(yaml.safe_dump({"bitfile": "a.lvbitx", "registers": {"extrnal_stop": "x"}}))
    with pytest.raises(FpgaConfigError, match=r"fpga\.yaml: registers\.extrnal_stop: Extra"):
        load_config(path)


def test_an_unreadable_file_names_itself(tmp_path):
    with pytest.raises(FpgaConfigError, match="missing.yaml: cannot read the nifpga config"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(FpgaConfigError, match="is a mapping, not list"):
        config_from_mapping([1, 2])


def test_a_galvanostat_threshold_beyond_the_adc_range_is_rejected():
    # an overload of 16 V less a 5 V drop asks the comparator for 11 V: never reachable
    with pytest.raises(FpgaConfigError, match=r"config: galvanostat contact threshold "
                                              r"\(overload − drop\) 11 V is outside the ±10 V"):
        config_from_mapping({"bitfile": "a", "cell": {"mode": "galvanostat"},
                             "contact": {"overload_V": 16.0}})


def test_a_current_threshold_beyond_the_adc_range_is_rejected():
    # 5 nA on a 1 pA/V amplifier would need 5000 V at the input
    with pytest.raises(FpgaConfigError, match="contact current threshold 5000 V is outside"):
        config_from_mapping({"bitfile": "a", "cell": {"current_A_per_V": 1e-12},
                             "contact": {"current_threshold_A": 5e-9}})


def test_a_current_threshold_below_one_count_is_rejected():
    with pytest.raises(FpgaConfigError, match="below one converter count"):
        config_from_mapping({"bitfile": "a", "cell": {"current_A_per_V": 1e-6}})


def test_the_layout_must_hold_the_channels_the_cell_uses():
    channels = {"v1": 3, "z_command": 2, "current_1": 8}
    ok = config_from_mapping({"bitfile": "a", "samples": {"channels": channels}})
    assert ok.cell.current_channel == "current_1"
    with pytest.raises(FpgaConfigError, match=r"lacks channels \['current_2'\] \(galvanostat"):
        config_from_mapping({"bitfile": "a", "cell": {"mode": "galvanostat"},
                             "samples": {"channels": channels}})
    with pytest.raises(FpgaConfigError, match="uses a word twice"):
        config_from_mapping({"bitfile": "a", "samples": {"channels": {**channels, "v2": 12}}})
    with pytest.raises(FpgaConfigError, match=r"sample channels \['current_9'\] are unknown"):
        config_from_mapping({"bitfile": "a", "samples": {"channels": {**channels,
                                                                      "current_9": 1}}})


def test_zero_scale_factors_and_unreachable_rest_outputs_are_rejected():
    with pytest.raises(FpgaConfigError, match="current_A_per_V must not be 0"):
        config_from_mapping({"bitfile": "a", "cell": {"current_A_per_V": 0}})
    with pytest.raises(FpgaConfigError, match="rest_V1_V 11 V is outside"):
        config_from_mapping({"bitfile": "a", "cell": {"rest_V1_V": 11}})
