from datetime import UTC, datetime, timedelta, timezone

from components.review_time import format_moment


def test_moments_are_shown_in_utc_to_the_minute():
    assert format_moment(datetime(2026, 3, 1, 9, 30, 59, tzinfo=UTC)) == "2026-03-01 09:30 UTC"
    paris = timezone(timedelta(hours=1))
    assert format_moment(datetime(2026, 3, 1, 10, 30, tzinfo=paris)) == "2026-03-01 09:30 UTC"
    assert format_moment(datetime(2026, 3, 1, 9, 30)) == "2026-03-01 09:30 UTC"  # naive: UTC
    assert format_moment(None) == "—"
