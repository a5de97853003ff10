import pytest

from core.auth.audit import ALLOWED, DENIED, list_events
from core.auth.guard import NotAuthenticated
from core.results.record import UnknownSpot
from core.review.comments import (
    MAX_COMMENT_CHARS,
    UnknownComment,
    add_comment,
    comment_bodies,
    comment_thread,
)
from core.review.targets import ReviewInputError
from core.storage.ledger import UnknownRun
from tests.core.review.actors import OPERATOR, VIEWER


def test_viewers_comment_and_reply_and_threads_nest_replies_under_their_comment(review_run):
    url, run_id, spot = review_run.url, review_run.run_id, review_run.spot_ids[0]
    first = add_comment(url, VIEWER, run_id, "  Why is row 0 so noisy?  ")
    answer = add_comment(url, OPERATOR, run_id, "Vibration from the pump.", parent_id=first)
    again = add_comment(url, VIEWER, run_id, "Thanks!", parent_id=answer)
    on_spot = add_comment(url, OPERATOR, run_id, "Look at the landing.", spot_id=spot)

    (root,) = comment_thread(url, run_id)
    assert (root.id, root.author, root.body, root.spot_id) == (
        first, "vera", "Why is row 0 so noisy?", None)
    assert root.created_at is not None
    assert [r.id for r in root.replies] == [answer]
    assert [r.id for r in root.replies[0].replies] == [again]
    (spot_root,) = comment_thread(url, run_id, spot_id=spot)
    assert (spot_root.id, spot_root.author, spot_root.replies) == (on_spot, "otto", [])
    assert comment_thread(url, run_id, spot_id=review_run.spot_ids[1]) == []

    events = list_events(url, run_id=run_id, outcome=ALLOWED)
    assert [(e.action, e.actor, e.detail["comment_id"]) for e in reversed(events)] == [
        ("comment", "vera", first), ("reply", "otto", answer), ("reply", "vera", again),
        ("comment", "otto", on_spot)]
    assert events[0].spot_id == spot and events[0].target == f"spot {spot}"
    assert comment_bodies(url, [first, 999]) == {first: "Why is row 0 so noisy?"}


@pytest.mark.parametrize("body", ["", "   \n\t "])
def test_an_empty_comment_is_refused(review_run, body):
    with pytest.raises(ReviewInputError, match="empty"):
        add_comment(review_run.url, VIEWER, review_run.run_id, body)
    assert comment_thread(review_run.url, review_run.run_id) == []


def test_a_comment_over_the_limit_is_refused_with_its_length(review_run):
    url, run_id = review_run.url, review_run.run_id
    add_comment(url, VIEWER, run_id, "x" * MAX_COMMENT_CHARS)
    with pytest.raises(ReviewInputError, match=f"{MAX_COMMENT_CHARS + 1} characters.*limit "
                                               f"is {MAX_COMMENT_CHARS}"):
        add_comment(url, VIEWER, run_id, "x" * (MAX_COMMENT_CHARS + 1))


def test_replies_stay_on_the_run_and_spot_of_their_parent(review_run):
    url, run_id, spot = review_run.url, review_run.run_id, review_run.spot_ids[0]
    elsewhere = add_comment(url, VIEWER, review_run.other_run_id, "other run")
    on_run = add_comment(url, VIEWER, run_id, "on the run")
    with pytest.raises(UnknownComment, match=f"comment {elsewhere} belongs to run "
                                             f"{review_run.other_run_id}"):
        add_comment(url, VIEWER, run_id, "reply", parent_id=elsewhere)
    with pytest.raises(UnknownComment, match=f"a reply must stay on spot {spot}"):
        add_comment(url, VIEWER, run_id, "reply", spot_id=spot, parent_id=on_run)
    with pytest.raises(UnknownComment, match="comment 4242 does not exist"):
        add_comment(url, VIEWER, run_id, "reply", parent_id=4242)
    with pytest.raises(ReviewInputError, match=f"spot {review_run.other_spot_id} is not a "
                                               f"spot of run {run_id}"):
        add_comment(url, VIEWER, run_id, "wrong run", spot_id=review_run.other_spot_id)
    with pytest.raises(UnknownSpot):
        add_comment(url, VIEWER, run_id, "no such spot", spot_id=4242)
    with pytest.raises(UnknownRun):
        add_comment(url, VIEWER, 4242, "no such run")
    assert [c.id for c in comment_thread(url, run_id)] == [on_run]


def test_nobody_logged_in_cannot_comment_and_the_refusal_is_audited(review_run):
    with pytest.raises(NotAuthenticated):
        add_comment(review_run.url, None, review_run.run_id, "anonymous")
    (event,) = list_events(review_run.url, outcome=DENIED)
    assert (event.action, event.run_id, event.actor) == ("comment", review_run.run_id, "")
    assert comment_thread(review_run.url, review_run.run_id) == []
