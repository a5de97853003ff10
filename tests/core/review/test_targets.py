import pytest

from core.results.record import UnknownSpot
from core.review.targets import ReviewInputError, checked_text, require_run, run_of_spot
from core.storage.ledger import UnknownRun


def test_checked_text_strips_and_names_the_limit():
    assert checked_text("  hi \n", what="the note", max_chars=2, required=True) == "hi"
    assert checked_text(None, what="the note", max_chars=2, required=False) == ""
    with pytest.raises(ReviewInputError, match="the note is 3 characters long; the limit is 2"):
        checked_text("abc", what="the note", max_chars=2, required=False)
    with pytest.raises(ReviewInputError, match="the note is empty"):
        checked_text(" ", what="the note", max_chars=2, required=True)


def test_runs_and_spots_are_looked_up(review_run):
    assert run_of_spot(review_run.url, review_run.other_spot_id) == review_run.other_run_id
    assert require_run(review_run.url, review_run.run_id) == review_run.run_id
    with pytest.raises(UnknownSpot, match="spot 4242 does not exist"):
        run_of_spot(review_run.url, 4242)
    with pytest.raises(UnknownRun, match="run 4242 does not exist"):
        require_run(review_run.url, 4242)
