from concurrent.futures import ThreadPoolExecutor

import pytest

from core.storage.ledger import InstrumentBusy, LeaseLost, Ledger, UnknownRun
from core.storage.states import TransitionError


def _spots(n):
    return [dict(order=i, row=i // 4, col=i % 4, x_um=11.0 * (i % 4), y_um=11.0 * (i // 4),
                 condition="j=0.78", technique={"kind": "galvanostatic"},
                 current_density_mA_cm2=0.78, duration_s=5.0) for i in range(n)]


def _submit(ledger, n=4, instrument="sim"):
    return ledger.submit_run(instrument=instrument, name="screen", grid={}, grid_hash="0" * 64,
                             spots=_spots(n), operator="ana")


@pytest.fixture
def ledger(database_url):
    ledger = Ledger(database_url)
    ledger.ensure_instrument("sim")
    return ledger


def test_a_run_goes_spot_by_spot_to_completion(ledger):
    run = _submit(ledger)
    token = ledger.start_run(run, holder="worker-1")
    while (spot := ledger.next_pending_spot(run)) is not None:
        ledger.move_spot(run, spot.id, "approaching", token)
        ledger.move_spot(run, spot.id, "measuring", token)
        ledger.commit_measurement(run, spot.id, token, path=f"{spot.order}.h5", sha256="0" * 64,
                                  n_samples=10, n_frames=2)
    ledger.finish_run(run, "completed", token)
    progress = ledger.progress(run)
    assert (progress.state, progress.total, progress.finished) == ("completed", 4, 4)
    assert progress.by_state == {"done": 4}
    # the lease is free again: a new run can be submitted
    assert _submit(ledger) == run + 1


def test_a_second_run_on_a_busy_instrument_is_refused(ledger):
    run = _submit(ledger)
    with pytest.raises(InstrumentBusy, match=f"instrument 'sim' is busy with run {run}"):
        _submit(ledger)


def test_twenty_concurrent_submissions_make_exactly_one_run(ledger):
    def attempt(_):
        try:
            return _submit(ledger, n=2)
        except InstrumentBusy:
            return None

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert ledger.progress(winners[0]).total == 2


def test_a_stale_fencing_token_cannot_write(ledger):
    run = _submit(ledger)
    old = ledger.start_run(run, holder="worker-1")
    assert ledger.recover_instrument("sim") == [run]
    new = ledger.start_run(run, holder="worker-2")
    assert new > old
    spot = ledger.next_pending_spot(run)
    with pytest.raises(LeaseLost, match="could not move pending → approaching"):
        ledger.move_spot(run, spot.id, "approaching", old)
    ledger.move_spot(run, spot.id, "approaching", new)


def test_recovery_interrupts_the_measuring_spot_and_requeues_the_approaching_one(ledger):
    run = _submit(ledger, n=3)
    token = ledger.start_run(run, holder="w")
    first = ledger.next_pending_spot(run)
    ledger.move_spot(run, first.id, "approaching", token)
    ledger.move_spot(run, first.id, "measuring", token)
    ledger.recover_instrument("sim")
    assert ledger.progress(run).by_state == {"interrupted": 1, "pending": 2}
    token = ledger.start_run(run, holder="w2")
    second = ledger.next_pending_spot(run)
    assert second.order == 1  # the interrupted site is never measured again
    ledger.move_spot(run, second.id, "approaching", token)
    ledger.recover_instrument("sim")
    assert ledger.progress(run).by_state == {"interrupted": 1, "pending": 2}


def test_illegal_spot_transition_is_refused(ledger):
    run = _submit(ledger)
    token = ledger.start_run(run, holder="w")
    spot = ledger.next_pending_spot(run)
    with pytest.raises(TransitionError, match="spot cannot go from pending to done"):
        ledger.move_spot(run, spot.id, "done", token)


def test_abort_requests(ledger):
    run = _submit(ledger)
    token = ledger.start_run(run, holder="w")
    ledger.request_abort(run, "after_spot")
    assert ledger.requests(run) == ("after_spot", False)
    ledger.request_abort(run, "now")
    ledger.request_abort(run, "after_spot")  # "now" is never softened
    assert ledger.requests(run) == ("now", False)
    ledger.finish_run(run, "aborted", token)
    assert ledger.progress(run).by_state == {"skipped": 4}
    with pytest.raises(ValueError, match="abort mode 'later'"):
        ledger.request_abort(run, "later")


def test_aborting_a_queued_run_frees_the_instrument(ledger):
    run = _submit(ledger)
    ledger.request_abort(run)
    assert ledger.progress(run).state == "aborted"
    _submit(ledger)


def test_pause_and_resume(ledger):
    run = _submit(ledger)
    token = ledger.start_run(run, holder="w")
    ledger.request_pause(run)
    assert ledger.requests(run) == (None, True)
    ledger.mark_paused(run, token)
    assert ledger.progress(run).state == "paused"
    ledger.start_run(run, holder="w")
    assert ledger.requests(run) == (None, False)


def test_unknown_run(ledger):
    with pytest.raises(UnknownRun, match="run 999 does not exist"):
        ledger.progress(999)
