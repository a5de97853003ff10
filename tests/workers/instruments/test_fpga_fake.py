"""The fake card behaves like nifpga 22 where the backend relies on it."""

from __future__ import annotations

import nifpga
import pytest

from tests.workers.instruments.fake_nifpga import FakeClock, FakeNiFpga, write_bitfile
from workers.instruments.fpga.config import FpgaConfig


@pytest.fixture
def card(tmp_path):
    config = FpgaConfig(bitfile=tmp_path / "wec.lvbitx")
    write_bitfile(config.bitfile, config)
    clock = FakeClock()
    return FakeNiFpga(config, clock), config, clock


def test_a_read_that_cannot_be_met_raises_the_real_fifo_timeout_and_consumes_nothing(card):
    fake, config, clock = card
    with fake.Session(str(config.bitfile), "RIO0") as session:
        fifo = session.fifos["FPGA_To_Host_FIFO"]
        fifo.configure(14 * 100)
        fifo.start()
        clock.sleep(3 * 2.57e-3)
        assert fifo.read(0, timeout_ms=0).elements_remaining == 3 * 14
        with pytest.raises(nifpga.FifoTimeoutError) as caught:
            fifo.read(14 * 10, timeout_ms=5)
        assert isinstance(caught.value, nifpga.ErrorStatus)
        assert caught.value.get_code() == -50400
        assert clock.now == pytest.approx(3 * 2.57e-3 + 5e-3)  # it waited out its timeout
        values = fifo.read(14 * 4, timeout_ms=100)  # a blocking read that can be met
        assert len(values.data) == 56 and values.elements_remaining == 0


def test_registers_convert_like_ctypes_and_closed_sessions_refuse_calls(card):
    fake, config, _ = card
    session = fake.Session(str(config.bitfile), "RIO0", no_run=True)
    assert not fake.target.running
    threshold = session.registers["Feedback_Threshold"]
    threshold.write(2**31 + 5)  # an I32 silently wraps, as through the real API
    assert threshold.read() == -(2**31) + 5
    session.registers["External Stop"].write(1)
    assert session.registers["External Stop"].read() is True
    session.close()
    with pytest.raises(nifpga.InvalidSessionError):
        session.registers  # noqa: B018


def test_fifo_directions_and_resources_are_enforced(card):
    fake, config, _ = card
    with pytest.raises(nifpga.InvalidResourceNameError):
        fake.Session(str(config.bitfile), "RIO7")
    session = fake.Session(str(config.bitfile), "RIO0")
    with pytest.raises(nifpga.InvalidParameterError):
        session.fifos["Host_To_FPGA_Positions"].read(1)
    with pytest.raises(nifpga.InvalidParameterError):
        session.fifos["FPGA_To_Host_FIFO"].write([1])
    waypoints = session.fifos["Host_To_FPGA_Positions"]
    waypoints.configure(28)
    assert waypoints.write([0] * 28, timeout_ms=0) == 0
    with pytest.raises(nifpga.FifoTimeoutError):
        waypoints.write([0] * 14, timeout_ms=0)
