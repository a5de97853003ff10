import pytest

from core.auth.audit import ALLOWED, Event
from core.auth.guard import PermissionDenied
from core.review.activity import QUOTE_CHARS, describe, run_feed
from core.review.annotations import set_run_notes, set_run_tags
from core.review.comments import add_comment
from core.review.exclusions import exclude_spot, include_spot
from core.review.flags import clear_flag, flag_spot
from tests.core.review.actors import ADMIN, OPERATOR, VIEWER


def test_the_feed_says_who_did_what_newest_first_and_leaves_refusals_out(review_run):
    url, run_id = review_run.url, review_run.run_id
    spot = review_run.spot_ids[2]
    comment = add_comment(url, VIEWER, run_id, "Is spot 3 real?")
    add_comment(url, OPERATOR, run_id, "No: the pipette touched.", parent_id=comment)
    flag_id = flag_spot(url, OPERATOR, spot, "failed_contact", note="no meniscus")
    with pytest.raises(PermissionDenied):
        exclude_spot(url, VIEWER, spot, "viewers cannot")
    exclude_spot(url, OPERATOR, spot, "pipette touched")
    clear_flag(url, ADMIN, flag_id)
    include_spot(url, ADMIN, spot)
    set_run_tags(url, OPERATOR, run_id, ["touch"])
    set_run_notes(url, OPERATOR, run_id, "Checked.")
    add_comment(url, VIEWER, review_run.other_run_id, "elsewhere")

    feed = run_feed(url, run_id)
    assert [(item.actor, item.summary) for item in reversed(feed)] == [
        ("vera", "commented on the run: “Is spot 3 real?”"),
        ("otto", "replied on the run: “No: the pipette touched.”"),
        ("otto", f"flagged spot {spot} as failed contact (no meniscus)"),
        ("otto", f"excluded spot {spot} from trends: pipette touched"),
        ("ada", f"cleared the failed contact flag of spot {spot}"),
        ("ada", f"included spot {spot} in trends again"),
        ("otto", "set the tags to touch (were none)"),
        ("otto", "edited the notes (8 characters)"),
    ]
    assert feed[-1].role == "viewer" and feed[-1].at is not None
    assert [item.spot_id for item in feed[2:6]] == [spot] * 4


def test_long_comments_are_quoted_shortened_and_other_actions_keep_their_target():
    event = Event(at=None, actor="ana", role="operator", action="comment", outcome=ALLOWED,
                  target="run 1", run_id=1, spot_id=None, ip="", detail={"comment_id": 7})
    quoted = describe(event, {7: "word " * 100})
    assert quoted.startswith("commented on the run: “word word")
    assert quoted.endswith("…”") and len(quoted) == len("commented on the run: “”") + QUOTE_CHARS
    assert describe(event, {}) == "commented on the run"
    abort = Event(None, "ana", "operator", "abort_now", ALLOWED, "run 1", 1, None, "", {})
    assert describe(abort) == "abort now run 1"
    launch = Event(None, "ana", "operator", "launch", ALLOWED, "grid 'g' on sim", 1, None, "",
                   {})
    assert describe(launch) == "launched grid 'g' on sim"
