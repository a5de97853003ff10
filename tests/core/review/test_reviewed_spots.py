from core.review.exclusions import exclude_spot
from core.review.flags import clear_flag, flag_spot
from core.review.reviewed_spots import reviewed_spots
from tests.core.review.actors import OPERATOR


def test_the_worklist_holds_flagged_or_excluded_spots_in_visiting_order(review_run):
    url, (first, second, third) = review_run.url, review_run.spot_ids
    assert reviewed_spots(url, review_run.run_id) == []
    flag_spot(url, OPERATOR, third, "thick_deposit")
    flag_spot(url, OPERATOR, third, "other", note="dark ring")
    exclude_spot(url, OPERATOR, first, "bubble")
    cleared = flag_spot(url, OPERATOR, second, "off_centre")
    clear_flag(url, OPERATOR, cleared)
    flag_spot(url, OPERATOR, review_run.other_spot_id, "other")

    listed = reviewed_spots(url, review_run.run_id)
    assert [spot.spot_id for spot in listed] == [first, third]
    assert listed[0].flags == () and listed[0].exclusion.reason == "bubble"
    assert [f.kind for f in listed[1].flags] == ["thick_deposit", "other"]
    assert listed[1].exclusion is None and listed[1].condition == "1.0 mA/cm² × 5 s"
    assert (listed[1].order, listed[1].row, listed[1].col) == (2, 0, 2)
