import pytest

from components.run_live import (
    CONTROL_REFUSED_NOTE,
    CONTROLS,
    controls_disabled,
    create_run_controls,
)
from core.storage.states import RunState
from tests.components.tree import find, find_one

#: run state → the controls an operator may use in it (pause, resume, abort after, abort now)
EXPECTED_ENABLED = {
    RunState.QUEUED: {"run-abort-after", "run-abort-now"},
    RunState.ACTIVE: {"run-pause", "run-abort-after", "run-abort-now"},
    RunState.PAUSED: {"run-resume", "run-abort-after", "run-abort-now"},
    RunState.INTERRUPTED: {"run-resume", "run-abort-after", "run-abort-now"},
    RunState.COMPLETED: set(),
    RunState.ABORTED: set(),
    RunState.FAILED: set(),
}


def test_every_run_state_is_covered():
    assert set(EXPECTED_ENABLED) == set(RunState)


@pytest.mark.parametrize("state", list(RunState))
def test_controls_enabled_only_where_they_apply(state):
    disabled = controls_disabled(state.value, allowed=True)
    assert {key for key, off in zip(CONTROLS, disabled, strict=True) if not off} == (
        EXPECTED_ENABLED[state])


@pytest.mark.parametrize("state", list(RunState))
def test_a_user_without_control_permission_gets_every_control_disabled(state):
    assert controls_disabled(state.value, allowed=False) == [True] * len(CONTROLS)


def test_resume_is_never_offered_for_a_running_or_ended_run():
    resume = list(CONTROLS).index("run-resume")
    for state in ("queued", "active", "completed", "aborted", "failed"):
        assert controls_disabled(state, allowed=True)[resume], state


def test_an_unknown_state_is_an_error_naming_it():
    with pytest.raises(ValueError, match="unknown run state 'running'"):
        controls_disabled("running", allowed=True)


def test_controls_start_disabled_and_look_alike_until_the_first_poll():
    controls = create_run_controls(allowed=True)
    buttons = [find_one(controls, id=key) for key in CONTROLS]
    assert all(button.disabled and button.outline for button in buttons)
    assert find(controls, id="run-controls-note") == []
    refused = create_run_controls(allowed=False)
    assert find_one(refused, id="run-controls-note").children == CONTROL_REFUSED_NOTE
