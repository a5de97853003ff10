from datetime import UTC, datetime

from components.review_exclusion import (
    EXCLUDE_ID,
    INCLUDE_ID,
    create_exclusion_banner,
    create_exclusion_control,
    create_exclusion_status,
    exclusion_buttons_disabled,
)
from core.review.exclusions import Decision
from tests.components.tree import find_one, text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_kept_spot_offers_exclude_and_an_excluded_one_include_again():
    kept = create_exclusion_control(None, enabled=True)
    assert "Kept in trends" in text(kept)
    assert not find_one(kept, id=EXCLUDE_ID).disabled and find_one(kept, id=INCLUDE_ID).disabled
    excluded = create_exclusion_control(Decision(5, 2, True, "bubble", "ana", AT), enabled=True)
    assert " ".join(text(excluded).split()) == (
        "excluded bubble (ana, 2026-03-01 09:30 UTC) Exclude Include again")
    assert find_one(excluded, id=EXCLUDE_ID).disabled
    assert not find_one(excluded, id=INCLUDE_ID).disabled


def test_an_included_again_spot_says_by_whom_and_viewers_get_disabled_buttons():
    back = Decision(5, 3, False, "fine", "bo", AT)
    assert text(create_exclusion_status(back)) == (
        "Kept in trends (included again by bo, 2026-03-01 09:30 UTC: fine)")
    control = create_exclusion_control(back, enabled=False)
    assert find_one(control, id=EXCLUDE_ID).disabled and find_one(control, id=INCLUDE_ID).disabled
    assert exclusion_buttons_disabled(back, enabled=True) == (False, True)
    assert exclusion_buttons_disabled(None, enabled=False) == (True, True)


def test_the_page_top_banner_shows_only_while_the_spot_is_excluded():
    assert create_exclusion_banner(None) is None
    assert create_exclusion_banner(Decision(5, 3, False, "fine", "bo", AT)) is None
    banner = create_exclusion_banner(Decision(5, 2, True, "bubble", "ana", AT))
    assert " ".join(text(banner).split()) == (
        "Excluded in review: bubble (ana, 2026-03-01 09:30 UTC). Left out of trends and "
        "statistics.")
