"""Checks on the lab's real FPGA card. Run only when MENISCUS_HW_FPGA names an nifpga config
file (never in CI): they open the bitfile on the card, move nothing laterally and never
approach; the pipette must be retracted and clear of the sample.

    MENISCUS_HW_FPGA=/path/to/fpga.yaml python -m pytest tests/workers/instruments -k hardware
"""

from __future__ import annotations

import os

import pytest

from workers.instruments.fpga.backend import FpgaInstrument
from workers.instruments.fpga.config import load_config
from workers.instruments.fpga.contract import check_bitfile

CONFIG = os.environ.get("MENISCUS_HW_FPGA")
pytestmark = pytest.mark.skipif(
    not CONFIG or bool(os.environ.get("CI")),
    reason="real FPGA tests need MENISCUS_HW_FPGA=<config.yaml> (and never run in CI)",
)


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG)


def test_the_lab_bitfile_matches_the_config(config):
    assert check_bitfile(config.bitfile, config) == []


def test_the_card_opens_streams_and_rests(config):
    instrument = FpgaInstrument(config, name="hardware-test").open()
    try:
        assert instrument.is_safe()
        x, y, _ = instrument.position_um()
        assert 0 <= x <= config.piezo.travel_um and 0 <= y <= config.piezo.travel_um
        instrument.retract(config.motion.safe_lift_um)  # lifts only: never lowers
        assert instrument.is_safe()
    finally:
        instrument.close()
