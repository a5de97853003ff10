"""Programs and scaling: what each action sends, in counts, and how samples become a Trace."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from workers.instruments.fpga.config import FpgaConfig
from workers.instruments.fpga.programs import ProgramBuilder, measurement_window
from workers.instruments.fpga.protocol import (
    CLOCK_HZ,
    I16_MAX,
    I16_MIN,
    Flag,
    OutOfRangeError,
)
from workers.instruments.fpga.scaling import (
    Comparator,
    Scaling,
    always_trips,
    contact_comparators,
    never_trips,
)


def _config(**overrides) -> FpgaConfig:
    return FpgaConfig(bitfile="wec.lvbitx", **overrides)


def test_a_galvanostatic_program_steps_holds_for_the_duration_and_rests():
    builder = ProgramBuilder(_config(cell={"mode": "galvanostat", "galvanostat_A_per_V": 2e-9}))
    program = builder.galvanostatic(-5e-9, 5.0)  # -2.5 V on AO3
    first, *holds, rest = program.waypoints
    assert first.targets == {"v1": -8192} and first.jump_v1
    assert first.flags == Flag.JUMP_V | Flag.HOLD
    held_s = sum(wp.hold_counts for wp in program.waypoints) * 1e-6
    assert held_s == pytest.approx(5.0, abs=1e-9)
    assert all(wp.hold_counts <= I16_MAX and not wp.targets for wp in holds)
    assert rest.targets == {"v1": 0, "v2": 0} and rest.jump_v1 and rest.jump_v2
    assert program.nominal_s == 5.0 and program.rest_v1 == 0
    frames, _ = program.encode()
    assert frames.shape == (len(program), 14)


def test_a_millisecond_hold_timer_needs_a_single_hold():
    builder = ProgramBuilder(_config(cell={"mode": "galvanostat"}, timing={"hold_unit_s": 1e-3}))
    first, rest = builder.galvanostatic(-1e-9, 5.0).waypoints
    assert first.hold_counts == 5000 and rest.hold_counts == 0


def test_a_setpoint_beyond_the_galvanostat_range_is_refused():
    builder = ProgramBuilder(_config(cell={"mode": "galvanostat"}))
    with pytest.raises(OutOfRangeError, match="galvanostat setpoint for -2e-08 A"):
        builder.galvanostatic(-20e-9, 1.0)


def test_cv_ramps_through_the_vertices_at_the_scan_rate():
    builder = ProgramBuilder(_config())
    program = builder.cyclic_voltammetry(upper_V=1.47, lower_V=-0.27, start_V=1.47,
                                         scan_rate_V_s=0.1, cycles=2)
    jump, *ramps, rest = program.waypoints
    upper, lower = round(1.47 / 10 * 32768), round(-0.27 / 10 * 32768)
    assert jump.targets == {"v1": upper} and jump.jump_v1
    assert [wp.targets["v1"] for wp in ramps] == [lower, upper, lower, upper]
    speed = 0.1 / (10 / 32768) / CLOCK_HZ
    assert all(wp.velocities == {"v1": pytest.approx(speed)} for wp in ramps)
    assert program.nominal_s == pytest.approx(2 * 2 * 1.74 / 0.1)
    assert rest.targets["v1"] == 0


def test_cv_from_the_middle_returns_to_its_start_each_cycle():
    program = ProgramBuilder(_config()).cyclic_voltammetry(
        upper_V=1.0, lower_V=-1.0, start_V=0.5, scan_rate_V_s=1.0, cycles=1)
    targets = [wp.targets["v1"] for wp in program.waypoints[:-1]]
    assert targets == [1638, -3277, 3277, 1638]
    with pytest.raises(ValueError, match="lower_V ≤ start_V ≤ upper_V"):
        ProgramBuilder(_config()).cyclic_voltammetry(upper_V=1, lower_V=0, start_V=2,
                                                     scan_rate_V_s=1, cycles=1)


def test_potentials_go_through_the_reference_offset_and_a_signed_command_scale():
    # the bias is applied to the QRCE (WE potential = -V1) and 0.5 V separates the scales
    scale = Scaling(_config(cell={"potential_command_V_per_V": -1.0,
                                  "reference_offset_V": 0.5}))
    assert scale.v1_for_potential(1.0) == round(-0.5 / 10 * 32768)
    block = {"time_s": np.array([0.0, 1.0]), "v1": np.array([-0.5, 0.2]),
             "current_1": np.array([0.01, -0.02])}
    trace = scale.trace(block)
    assert_allclose(trace.potential_V, [1.0, 0.3])
    assert_allclose(trace.current_A, [1e-11, -2e-11])


def test_galvanostat_traces_take_current_from_the_setpoint_and_potential_from_readback():
    scale = Scaling(_config(cell={"mode": "galvanostat", "galvanostat_A_per_V": -1e-9,
                                  "potential_V_per_V": 2.0}))
    block = {"time_s": np.array([0.0]), "v1": np.array([3.0]), "current_2": np.array([-0.1])}
    trace = scale.trace(block)
    assert_allclose(trace.current_A, [-3e-9])  # an inverting galvanostat: negative scale
    assert_allclose(trace.potential_V, [-0.2])


def test_moves_share_the_speed_so_every_axis_arrives_together():
    builder = ProgramBuilder(_config())
    program = builder.move({"x": 10.0, "y": 10.0}, {"x": 13.0, "y": 14.0}, speed_um_s=5.0,
                           description="move")
    [waypoint] = program.waypoints
    scale = builder.scale
    assert waypoint.velocities["x"] == pytest.approx(scale.piezo_rate(3.0))
    assert waypoint.velocities["y"] == pytest.approx(scale.piezo_rate(4.0))
    assert program.nominal_s == pytest.approx(1.0)
    with pytest.raises(OutOfRangeError, match="x = 101.000 µm is outside the piezo travel"):
        builder.move({"x": 0.0}, {"x": 101.0}, speed_um_s=1, description="too far")


def test_an_approach_settles_then_lowers_with_stop_on_feedback():
    builder = ProgramBuilder(_config(contact={"settle_s": 0.1}))
    program = builder.approach(20.0, 32.0, speed_um_s=2.0)
    *settle, move = program.waypoints
    hold_V1 = round(1.47 / 10 * 32768)
    assert settle[0].targets == {"v1": hold_V1} and settle[0].jump_v1
    assert sum(wp.hold_counts for wp in settle) == 100_000
    assert move.action == 2 and move.flags == Flag.MOVE_Z
    assert move.targets == {"z": round(3.2 / 10 * 32768)} == {"z": program.approach_end_z}
    assert program.nominal_s == pytest.approx(0.1 + 6.0)


def test_contact_comparators_catch_either_polarity_in_potential_control():
    # 5 pA at 1 nA/V is 5 mV: 16 counts, whatever the amplifier's sign
    for gain in (1e-9, -1e-9):
        primary, secondary = contact_comparators(_config(cell={"current_A_per_V": gain}))
        assert primary == Comparator(source=1, threshold=16, greater_than=True)
        assert secondary == Comparator(source=1, threshold=-16, greater_than=False)
    assert [primary.trips(r) or secondary.trips(r) for r in (-17, -16, 0, 16, 17)] == [
        True, False, False, False, True]


def test_contact_in_current_control_is_a_drop_from_overload():
    primary, secondary = contact_comparators(_config(cell={"mode": "galvanostat"}))
    assert primary == Comparator(source=2, threshold=16384, greater_than=False)  # below 5 V
    assert secondary == never_trips(2)
    assert not primary.trips(I16_MAX) and primary.trips(16383)


def test_neutral_and_forced_comparators_over_every_i16_reading():
    readings = np.arange(I16_MIN, I16_MAX + 1)
    assert not any(never_trips(1).trips(int(r)) for r in readings[::97])
    assert all(always_trips(1).trips(int(r)) for r in readings[::97])
    assert never_trips(1).trips(I16_MAX) is False and always_trips(1).trips(I16_MIN) is True


def test_the_measurement_window_ends_before_the_rest_step():
    v1 = np.array([0.5, 0.5, 0.0, 0.7, 0.7, 0.0, 0.0])  # crosses rest mid-sweep, then rests
    samples = {"v1": v1, "time_s": np.arange(7.0)}
    window = measurement_window(samples, rest_v1=0)
    assert_array_equal(window["time_s"], np.arange(5.0))
    resting = {"v1": np.zeros(3), "time_s": np.arange(3.0)}
    assert_array_equal(measurement_window(resting, rest_v1=0)["time_s"], np.arange(3.0))
