from datetime import UTC, datetime

from components.review_activity import create_activity_feed
from core.review.activity import ActivityItem
from tests.components.tree import find, text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_each_line_says_when_who_what_and_links_the_spot():
    feed = create_activity_feed([
        ActivityItem(AT, "ana", "operator", "flag", "flagged spot 7 as other", 7),
        ActivityItem(AT, "bo", "viewer", "comment", "commented on the run", None),
    ])
    assert " ".join(text(feed).split()) == (
        "2026-03-01 09:30 UTC ana (operator) flagged spot 7 as other open spot "
        "2026-03-01 09:30 UTC bo (viewer) commented on the run")
    assert [link.href for link in find(feed) if getattr(link, "href", None)] == ["/spot/7"]
    assert text(create_activity_feed([])) == "Nothing happened on this run yet."
