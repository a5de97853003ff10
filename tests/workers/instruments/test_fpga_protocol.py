"""The WEC-SPM wire format: waypoint words and flags, range checks, sample frames, timestamps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from workers.instruments.fpga.protocol import (
    CLOCK_HZ,
    MAX_VELOCITY_EXPONENT,
    SAMPLE_WORDS,
    Flag,
    FrameAssembler,
    OutOfRangeError,
    SampleLayout,
    TickUnwrapper,
    Waypoint,
    choose_velocity_exponent,
    counts_to_volts,
    decode_samples,
    decode_waypoint,
    encode_timestamp,
    encode_waypoint,
    rate_to_counts_per_tick,
    split_hold,
    timestamp_ticks,
    velocity_word,
    volts_to_counts,
)
from workers.instruments.protocols import InstrumentError

# --- waypoints ---------------------------------------------------------------------------------


def test_flag_bits_are_the_documented_positions():
    assert [f.value for f in Flag] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert [f.name for f in Flag] == ["MOVE_X", "MOVE_Y", "MOVE_Z", "MOVE_V", "JUMP_V", "HOLD",
                                      "MOVE_V2", "JUMP_V2", "HOLD_FEEDBACK"]


def test_a_stop_on_feedback_z_move_encodes_word_by_word():
    # 2 µm/s on a 10 µm/V piezo: 0.2 V/s = 655.36 counts/s = 1.6384e-5 counts per tick
    speed = rate_to_counts_per_tick(0.2)
    assert speed == pytest.approx(1.6384e-5)
    waypoint = Waypoint(action=2, targets={"z": 3932}, velocities={"z": speed}, loop_wait=7)
    words = encode_waypoint(waypoint, velocity_exponent=30)
    expected = np.zeros(14, dtype=np.int16)
    expected[0] = 2
    expected[3] = round(1.6384e-5 * 2**30)  # 17592
    expected[8] = 3932
    expected[11] = 7
    expected[13] = Flag.MOVE_Z
    assert words.dtype == np.int16
    assert_array_equal(words, expected)
    assert words[3] == 17592


def test_jumps_holds_and_feedback_set_their_own_bits_only():
    waypoint = Waypoint(targets={"v1": -1000, "v2": 5}, jump_v1=True, jump_v2=True,
                        hold_counts=32767, hold_feedback=True)
    words = encode_waypoint(waypoint, velocity_exponent=0)
    assert Flag(int(words[13])) == Flag.JUMP_V | Flag.JUMP_V2 | Flag.HOLD | Flag.HOLD_FEEDBACK
    assert words[9] == -1000 and words[10] == 5 and words[12] == 32767
    assert not words[1:6].any()  # jumped axes carry no velocity
    ramp = Waypoint(targets={"x": 1, "y": 2, "v1": 3, "v2": 4},
                    velocities={"x": 1.0, "y": 1.0, "v1": 1.0, "v2": 1.0})
    flags = Flag(int(encode_waypoint(ramp, velocity_exponent=0)[13]))
    assert flags == Flag.MOVE_X | Flag.MOVE_Y | Flag.MOVE_V | Flag.MOVE_V2


axes = st.sampled_from(["x", "y", "z", "v1", "v2"])


@settings(max_examples=60, deadline=None)
@given(
    targets=st.dictionaries(axes, st.integers(-32768, 32767), max_size=5),
    speeds=st.lists(st.floats(1e-6, 1e-2), min_size=5, max_size=5),
    jumps=st.tuples(st.booleans(), st.booleans()),
    hold=st.integers(0, 32767), action=st.integers(0, 9), hold_feedback=st.booleans(),
)
def test_waypoints_round_trip(targets, speeds, jumps, hold, action, hold_feedback):
    velocities = {axis: speeds[i] for i, axis in enumerate(["x", "y", "z", "v1", "v2"])
                  if axis in targets and not (axis == "v1" and jumps[0])
                  and not (axis == "v2" and jumps[1])}
    waypoint = Waypoint(action=action, targets=targets, velocities=velocities,
                        jump_v1=jumps[0] and "v1" in targets, jump_v2=jumps[1] and "v2" in targets,
                        hold_counts=hold, hold_feedback=hold_feedback)
    exponent = choose_velocity_exponent(list(velocities.values()))
    back = decode_waypoint(encode_waypoint(waypoint, velocity_exponent=exponent),
                           velocity_exponent=exponent)
    assert back.targets == waypoint.targets
    assert (back.jump_v1, back.jump_v2, back.hold_counts, back.action, back.hold_feedback) == (
        waypoint.jump_v1, waypoint.jump_v2, hold, action, hold_feedback)
    assert set(back.velocities) == set(velocities)
    for axis, speed in velocities.items():  # quantised to 2**-n counts/tick, n ≥ 21 here
        assert back.velocities[axis] == pytest.approx(speed, abs=2.0**-exponent / 2 + 1e-18)


def test_velocity_exponent_is_the_finest_that_fits():
    assert choose_velocity_exponent([1000.0]) == 5  # 1000·2^5 = 32000 ≤ 32767 < 64000
    assert velocity_word(1000.0, 5, what="x") == 32000
    assert choose_velocity_exponent([1.6e-5, 2e-6]) == MAX_VELOCITY_EXPONENT
    assert choose_velocity_exponent([]) == MAX_VELOCITY_EXPONENT
    with pytest.raises(OutOfRangeError, match="exceeds the I16 velocity word"):
        choose_velocity_exponent([40000.0])


def test_velocities_that_cannot_be_represented_are_refused_not_rounded_to_zero():
    with pytest.raises(OutOfRangeError, match="below the resolution at velocity exponent 10"):
        velocity_word(1e-5, 10, what="z")
    with pytest.raises(OutOfRangeError, match="exceeds the I16 word"):
        velocity_word(1.0, 16, what="x")
    with pytest.raises(OutOfRangeError, match="zero velocity"):
        encode_waypoint(Waypoint(targets={"z": 10}), velocity_exponent=30)


def test_targets_holds_and_exponents_outside_their_words_are_refused():
    with pytest.raises(OutOfRangeError, match="z target \\(counts\\) 32768 is outside"):
        encode_waypoint(Waypoint(targets={"z": 32768}, velocities={"z": 1e-3}),
                        velocity_exponent=20)
    with pytest.raises(OutOfRangeError, match="hold timer \\(counts\\) 40000"):
        encode_waypoint(Waypoint(hold_counts=40000), velocity_exponent=0)
    with pytest.raises(OutOfRangeError, match="negative"):
        encode_waypoint(Waypoint(hold_counts=-1), velocity_exponent=0)
    with pytest.raises(OutOfRangeError, match="velocity exponent 31"):
        encode_waypoint(Waypoint(), velocity_exponent=31)
    with pytest.raises(ValueError, match="unknown waypoint axes \\['w'\\]"):
        encode_waypoint(Waypoint(targets={"w": 1}), velocity_exponent=0)


def test_split_hold_keeps_the_total_in_i16_pieces():
    assert split_hold(100_000) == [32767, 32767, 32767, 1699]
    assert split_hold(32767) == [32767]
    assert split_hold(0) == []


# --- voltages ----------------------------------------------------------------------------------


def test_voltages_map_onto_the_converter_codes():
    assert volts_to_counts(-10.0, what="v") == -32768
    assert volts_to_counts(5.0, what="v") == 16384
    assert volts_to_counts(9.9996, what="v") == 32767
    assert_allclose(counts_to_volts([-32768, 0, 16384]), [-10.0, 0.0, 5.0])


@pytest.mark.parametrize("volts", [10.0, -10.001, 12.5, float("nan"), float("inf")])
def test_voltages_outside_the_converter_range_are_rejected_not_coerced(volts):
    with pytest.raises(OutOfRangeError, match="contact threshold") as caught:
        volts_to_counts(volts, what="contact threshold")
    assert isinstance(caught.value, InstrumentError)
    assert isinstance(caught.value, ValueError)


def test_the_range_message_gives_the_value_and_the_limits():
    with pytest.raises(OutOfRangeError) as caught:
        volts_to_counts(12.5, what="contact threshold")
    assert str(caught.value) == (
        "contact threshold 12.5 V is outside the ±10 V converter range (-10 to 9.9997 V)")


# --- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["offset_binary", "twos_complement"])
def test_timestamps_round_trip_through_the_two_words(encoding):
    ticks = np.array([0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x89ABCDEF, 2**32 - 1])
    high, low = encode_timestamp(ticks, encoding=encoding)
    assert high.dtype == np.int16
    assert_array_equal(timestamp_ticks(high, low, encoding=encoding), ticks)


def test_timestamp_encodings_by_hand():
    # offset binary: the half is word + 32768; two's complement: the word's bit pattern
    assert timestamp_ticks([-32768], [-32768], encoding="offset_binary")[0] == 0
    assert timestamp_ticks([0], [1], encoding="offset_binary")[0] == (32768 << 16) | 32769
    assert timestamp_ticks([-1], [-1], encoding="twos_complement")[0] == 2**32 - 1
    assert timestamp_ticks([1], [-32768], encoding="twos_complement")[0] == 0x18000


def test_ticks_unwrap_across_a_rollover_even_between_reads():
    unwrap = TickUnwrapper()
    first = unwrap(np.array([2**32 - 300, 2**32 - 200, 2**32 - 100]))
    second = unwrap(np.array([0, 100]))
    third = unwrap(np.array([200, 2**31 + 100, 5]))  # a long step, then a second rollover
    assert_array_equal(np.diff(np.concatenate([first, second])), [100] * 4)
    assert_array_equal(third, [2**32 + 200, 2**32 + 2**31 + 100, 2 * 2**32 + 5])


# --- sample frames -----------------------------------------------------------------------------

LAYOUT = SampleLayout(channels={"v1": 3, "current_1": 8, "current_2": 9}, timestamp_high=12,
                      timestamp_low=13, timestamp_encoding="twos_complement")


def _frames(ticks, *, v1, current):
    """Hand-built sample frames: v1 and current_1 counts, a timestamp per frame."""
    frames = np.zeros((len(ticks), SAMPLE_WORDS), dtype=np.int16)
    frames[:, 3], frames[:, 8], frames[:, 9] = v1, current, -7
    frames[:, 12], frames[:, 13] = encode_timestamp(ticks, encoding="twos_complement")
    return frames.reshape(-1)


def test_decode_samples_gives_volts_and_seconds():
    ticks = np.array([1000, 103_800, 206_600])  # 2.57 ms apart at 40 MHz
    block = decode_samples(_frames(ticks, v1=[16384, -16384, 0], current=[1, 2, 3]), LAYOUT)
    assert_allclose(block["time_s"], [0.0, 2.57e-3, 5.14e-3])
    assert_allclose(block["v1"], [5.0, -5.0, 0.0])
    assert_allclose(block["current_1"], np.array([1, 2, 3]) * 10 / 32768)
    assert_allclose(block["current_2"], -7 * 10 / 32768)
    assert_array_equal(block["ticks"], ticks)


def test_decode_samples_refuses_a_partial_frame():
    with pytest.raises(ValueError, match="30 words is not a whole number of 14-word"):
        decode_samples(np.zeros(30, dtype=np.int16), LAYOUT)


def test_a_layout_cannot_use_a_word_twice_or_leave_the_frame():
    with pytest.raises(ValueError, match="uses a word twice"):
        SampleLayout(channels={"v1": 12})
    with pytest.raises(ValueError, match="outside 0..13"):
        SampleLayout(channels={"v1": 14})


@pytest.mark.parametrize("chunks", [[5, 23, 14, 1, 13, 224], [14] * 20, [1] * 280, [139, 141]])
def test_frame_assembler_keeps_partial_frames_and_unwraps_a_rollover(chunks):
    period = 102_800
    ticks = (2**32 - 5 * period + np.arange(20) * period) % 2**32  # rolls over at frame 5
    v1 = np.arange(20) * 100 - 1000
    stream = _frames(ticks, v1=v1, current=0)
    assembler = FrameAssembler(LAYOUT)
    blocks, position = [], 0
    for size in chunks:
        piece = stream[position:position + size]
        position += piece.size
        blocks.append(assembler.push(piece))
        assert assembler.pending_words == position % SAMPLE_WORDS
    time_s = np.concatenate([b["time_s"] for b in blocks])
    assert_allclose(time_s, np.arange(20) * period / CLOCK_HZ, rtol=0, atol=1e-12)
    assert_allclose(np.concatenate([b["v1"] for b in blocks]), v1 * 10 / 32768)
    assert assembler.pending_words == 0
