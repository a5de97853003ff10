import pytest

from core.storage.states import (
    FINAL_RUN_STATES,
    FINAL_SPOT_STATES,
    RunState,
    SpotState,
    TransitionError,
    check_run_transition,
    check_spot_transition,
)


def test_a_spot_walks_its_happy_path():
    state = SpotState.PENDING
    for nxt in ("approaching", "measuring", "done"):
        state = check_spot_transition(state, nxt)
    assert state is SpotState.DONE


def test_an_interrupted_spot_is_never_measured_again():
    with pytest.raises(TransitionError, match="spot cannot go from interrupted to approaching"):
        check_spot_transition("interrupted", "approaching")


def test_a_measured_spot_cannot_go_back_to_pending():
    with pytest.raises(
        TransitionError,
        match="spot cannot go from measuring to pending; allowed: done, failed, interrupted",
    ):
        check_spot_transition("measuring", "pending")


def test_final_states():
    assert FINAL_SPOT_STATES == {"done", "no_contact", "failed", "interrupted", "skipped"}
    assert FINAL_RUN_STATES == {RunState.COMPLETED, RunState.ABORTED, RunState.FAILED}


def test_runs_pause_and_resume():
    assert check_run_transition("active", "paused") is RunState.PAUSED
    assert check_run_transition("paused", "active") is RunState.ACTIVE
    with pytest.raises(TransitionError, match="final state"):
        check_run_transition("completed", "active")


def test_unknown_state_is_rejected():
    with pytest.raises(ValueError, match="'flying' is not a valid SpotState"):
        check_spot_transition("pending", "flying")
