"""States of runs and spots in the run ledger, and the transitions allowed between them.

Spot life cycle (one landing site)::

    pending ──► approaching ──► measuring ──► done
       │             │               ├──────► failed
       │             ├──► no_contact └──────► interrupted   (surface already changed: never again)
       │             ├──► failed
       │             └──► pending      (recovery: stopped before contact, site untouched)
       └──► skipped                    (run aborted before the spot was reached)

Run life cycle::

    queued ──► active ──► completed | aborted | failed
                 │  ▲
                 ▼  │
               paused
    active ──► interrupted (worker died) ──► active (an operator resumes)
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import MeniscusError


class SpotState(StrEnum):
    PENDING = "pending"
    APPROACHING = "approaching"
    MEASURING = "measuring"
    DONE = "done"
    NO_CONTACT = "no_contact"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"


class RunState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


SPOT_TRANSITIONS: dict[SpotState, frozenset[SpotState]] = {
    SpotState.PENDING: frozenset({SpotState.APPROACHING, SpotState.SKIPPED}),
    SpotState.APPROACHING: frozenset(
        {SpotState.MEASURING, SpotState.NO_CONTACT, SpotState.FAILED, SpotState.PENDING}
    ),
    SpotState.MEASURING: frozenset({SpotState.DONE, SpotState.FAILED, SpotState.INTERRUPTED}),
    SpotState.DONE: frozenset(),
    SpotState.NO_CONTACT: frozenset(),
    SpotState.FAILED: frozenset(),
    SpotState.INTERRUPTED: frozenset(),
    SpotState.SKIPPED: frozenset(),
}

RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.ACTIVE, RunState.ABORTED}),
    RunState.ACTIVE: frozenset(
        {RunState.PAUSED, RunState.INTERRUPTED, RunState.COMPLETED, RunState.ABORTED,
         RunState.FAILED}
    ),
    RunState.PAUSED: frozenset({RunState.ACTIVE, RunState.ABORTED}),
    RunState.INTERRUPTED: frozenset({RunState.ACTIVE, RunState.ABORTED}),
    RunState.COMPLETED: frozenset(),
    RunState.ABORTED: frozenset(),
    RunState.FAILED: frozenset(),
}

#: spot states that end a spot for good (it is accounted for)
FINAL_SPOT_STATES = frozenset(s for s, nxt in SPOT_TRANSITIONS.items() if not nxt)
#: run states after which nothing more happens
FINAL_RUN_STATES = frozenset(s for s, nxt in RUN_TRANSITIONS.items() if not nxt)


class TransitionError(MeniscusError):
    """A ledger change that the state machine does not allow."""


def check_spot_transition(current: str, new: str) -> SpotState:
    """Return ``new`` as a :class:`SpotState` if ``current → new`` is allowed, else raise."""
    return _check(SPOT_TRANSITIONS, SpotState(current), SpotState(new), "spot")


def check_run_transition(current: str, new: str) -> RunState:
    """Return ``new`` as a :class:`RunState` if ``current → new`` is allowed, else raise."""
    return _check(RUN_TRANSITIONS, RunState(current), RunState(new), "run")


def _check(table, current, new, what: str):
    if new not in table[current]:
        allowed = ", ".join(sorted(table[current])) or "nothing (final state)"
        raise TransitionError(
            f"{what} cannot go from {current.value} to {new.value}; allowed: {allowed}"
        )
    return new
