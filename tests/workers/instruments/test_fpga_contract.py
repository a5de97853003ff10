"""The offline bitfile contract: a synthetic .lvbitx read by the real nifpga.Bitfile."""

from __future__ import annotations

import nifpga
import pytest

from tests.workers.instruments.fake_nifpga import FakeClock, FakeNiFpga, write_bitfile
from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.contract import check_bitfile, check_session


@pytest.fixture
def config(tmp_path):
    return FpgaConfig(bitfile=tmp_path / "wec.lvbitx")


def test_a_matching_bitfile_has_no_problems(config):
    write_bitfile(config.bitfile, config, extra_registers=(("P", "I32", False),))
    assert check_bitfile(config.bitfile, config) == []
    bitfile = nifpga.Bitfile(str(config.bitfile))  # what the check read: the real parser
    assert str(bitfile.registers["Feedback_Threshold"].datatype) == "I32"
    assert str(bitfile.fifos["FPGA_To_Host_FIFO"].datatype) == "I16"


def test_missing_retyped_and_misrouted_registers_are_named(config):
    write_bitfile(config.bitfile, config, drop=("External Stop",),
                  retype={"Feedback_Threshold": "I16"}, role={"Applied Z": False})
    assert check_bitfile(config.bitfile, config) == [
        "register 'External Stop' (external_stop) is not in the bitfile",
        "register 'Feedback_Threshold' (feedback_threshold) is I16, the config expects I32",
        "register 'Applied Z' (applied_z) is a control, the config expects an indicator",
    ]


def test_fifo_type_direction_and_depth_are_checked(config):
    write_bitfile(config.bitfile, config,
                  fifo_type={"Host_To_FPGA_Positions": "U32"},
                  fifo_direction={"FPGA_To_Host_FIFO": "HostToTarget"},
                  fifo_depth={"FPGA_To_Host_FIFO": 16383})
    assert check_bitfile(config.bitfile, config) == [
        "FIFO 'Host_To_FPGA_Positions' (waypoints) carries U32, expected I16",
        "FIFO 'FPGA_To_Host_FIFO' (samples) runs HostToTarget, expected TargetToHost",
        "FIFO 'FPGA_To_Host_FIFO' (samples) was compiled with 16383 elements, the config "
        "expects 32767",
    ]


def test_a_missing_fifo_and_a_renamed_mapping(config, tmp_path):
    write_bitfile(config.bitfile, config, drop=("Host_To_FPGA_Positions",))
    renamed = config.model_copy(update={"registers": config.registers.model_copy(
        update={"line_number": config.registers.line_number.model_copy(
            update={"name": "Line Number"})})})
    assert check_bitfile(config.bitfile, renamed) == [
        "register 'Line Number' (line_number) is not in the bitfile",
        "FIFO 'Host_To_FPGA_Positions' (waypoints) is not in the bitfile",
    ]


def test_an_unreadable_bitfile_is_one_problem(config, tmp_path):
    config.bitfile.write_text("<Bitfile><Nothing/></Bitfile>")
    [problem] = check_bitfile(config.bitfile, config)
    assert problem.startswith(f"{config.bitfile}: not a readable .lvbitx bitfile")
    [problem] = check_bitfile(tmp_path / "absent.lvbitx", config)
    assert "absent.lvbitx: not a readable .lvbitx bitfile" in problem


def test_check_session_names_what_an_open_session_lacks(config):
    write_bitfile(config.bitfile, config, drop=("WaitingForWayPoints", "FPGA_To_Host_FIFO"))
    session = FakeNiFpga(config, FakeClock()).factory(config)
    assert check_session(session, config) == [
        "register 'WaitingForWayPoints' (waiting_for_waypoints) is not in the session",
        "FIFO 'FPGA_To_Host_FIFO' (samples) is not in the session",
    ]
