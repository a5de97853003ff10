from datetime import UTC, datetime

from components.review_spots import create_reviewed_spots_table
from core.review.exclusions import Decision
from core.review.flags import FlagView
from core.review.reviewed_spots import ReviewedSpot
from tests.components.tree import find, text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_rows_link_their_spot_with_flags_and_exclusion():
    flag = FlagView(1, 1, 7, "off_centre", "", "ana", AT, None, None)
    table = create_reviewed_spots_table([
        ReviewedSpot(7, 4, 1, 1, "2.92 mA/cm²", (flag,), None),
        ReviewedSpot(9, 8, None, None, "CV", (), Decision(9, 1, True, "bubble", "bo", AT)),
    ])
    assert text(table) == ("Spot Place Condition Flags Excluded spot 7 row 1, col 1 "
                           "2.92 mA/cm² off-centre landing — spot 9 visit 9 CV bubble (bo)")
    assert [link.href for link in find(table) if getattr(link, "href", None)] == [
        "/spot/7", "/spot/9"]
    assert "No spot is flagged" in text(create_reviewed_spots_table([]))
