from datetime import UTC, datetime

from components.review_comments import (
    NEW_SEND,
    REPLY_BODY,
    REPLY_SEND,
    create_comment_box,
    create_comment_thread,
    new_comment_ids,
)
from core.review.comments import MAX_COMMENT_CHARS, CommentView
from tests.components.tree import find, find_one, text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _comment(id, body, replies=(), parent=None):
    return CommentView(id, 1, None, parent, "ana", body, AT, list(replies))


def test_replies_nest_under_their_comment_with_a_reply_box_per_comment():
    thread = create_comment_thread(
        [_comment(1, "Noisy?", [_comment(2, "Pump.", parent=1)]), _comment(3, "Later")],
        scope="run", can_reply=True)
    assert text(thread) == ("ana 2026-03-01 09:30 UTC Noisy? Reply ana 2026-03-01 09:30 UTC "
                            "Pump. Reply ana 2026-03-01 09:30 UTC Later Reply")
    sends = [c.id["parent"] for c in find(thread) if getattr(c, "id", None)
             and c.id.get("type") == REPLY_SEND]
    assert sends == [1, 2, 3]
    box = find_one(thread, id={"type": REPLY_BODY, "scope": "run", "parent": 2})
    assert box.maxLength == MAX_COMMENT_CHARS and not box.disabled


def test_empty_threads_and_disabled_boxes():
    assert text(create_comment_thread([], scope="spot", can_reply=False)) == "No comments yet."
    box = create_comment_box("spot", enabled=False)
    body_id, send_id = new_comment_ids("spot")
    assert send_id == {"type": NEW_SEND, "scope": "spot"}
    assert find_one(box, id=body_id).disabled and find_one(box, id=send_id).disabled
