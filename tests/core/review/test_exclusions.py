import numpy as np
import pytest

from core.auth.audit import ALLOWED, DENIED, list_events
from core.auth.guard import PermissionDenied
from core.results.spot_table import spot_table
from core.results.trends import condition_trends
from core.review.exclusions import (
    MAX_REASON_CHARS,
    current_decision,
    decision_history,
    exclude_spot,
    include_spot,
    run_exclusions,
)
from core.review.targets import ReviewInputError
from tests.core.review.actors import ADMIN, OPERATOR, VIEWER
from tests.core.review.review_run import E_NUC_V


def _e_nuc(review_run):
    (condition,) = condition_trends(review_run.url, review_run.run_id).conditions
    return condition


def test_an_excluded_spot_leaves_the_statistics_and_comes_back_when_included(review_run):
    url, outlier = review_run.url, review_run.spot_ids[2]
    before = _e_nuc(review_run)
    assert before.stats["e_nuc_V"].mean == pytest.approx(np.mean(E_NUC_V))
    assert (before.n_measured, before.n_excluded) == (3, 0)

    assert exclude_spot(url, OPERATOR, outlier, "  pipette touched the substrate ") == 1
    after = _e_nuc(review_run)
    assert after.stats["e_nuc_V"].mean == pytest.approx(np.mean(E_NUC_V[:2]))
    assert after.stats["e_nuc_V"].sd == pytest.approx(np.std(E_NUC_V[:2], ddof=1))
    assert (after.n_measured, after.n_excluded, after.stats["e_nuc_V"].n) == (2, 1, 2)
    row = spot_table(url, review_run.run_id)[2]
    assert (row["excluded"], row["exclusion_reason"]) == (True, "pipette touched the substrate")

    assert include_spot(url, ADMIN, outlier, "the touch was on another spot") == 2
    again = _e_nuc(review_run)
    assert again.stats["e_nuc_V"].mean == pytest.approx(np.mean(E_NUC_V))
    assert again.n_excluded == 0
    history = decision_history(url, outlier)
    assert [(d.version, d.excluded, d.reviewer, d.reason) for d in history] == [
        (1, True, "otto", "pipette touched the substrate"),
        (2, False, "ada", "the touch was on another spot")]
    assert current_decision(url, outlier) == history[-1]
    assert run_exclusions(url, review_run.run_id) == {}

    events = list_events(url, run_id=review_run.run_id, outcome=ALLOWED)
    assert [(e.action, e.actor, e.spot_id, e.detail["reason"]) for e in events] == [
        ("include", "ada", outlier, "the touch was on another spot"),
        ("exclude", "otto", outlier, "pipette touched the substrate")]


def test_the_latest_exclusion_counts_and_run_exclusions_name_it(review_run):
    url, spot = review_run.url, review_run.spot_ids[0]
    exclude_spot(url, OPERATOR, spot, "first reason")
    exclude_spot(url, ADMIN, spot, "second look: thick deposit")
    (decision,) = run_exclusions(url, review_run.run_id).values()
    assert (decision.spot_id, decision.version, decision.reviewer, decision.reason) == (
        spot, 2, "ada", "second look: thick deposit")
    assert current_decision(url, review_run.spot_ids[1]) is None


def test_excluding_needs_a_reason_of_bounded_length_and_including_a_kept_spot_is_refused(
        review_run):
    url, spot = review_run.url, review_run.spot_ids[0]
    with pytest.raises(ReviewInputError, match="the reason for excluding is empty"):
        exclude_spot(url, OPERATOR, spot, "   ")
    with pytest.raises(ReviewInputError, match=f"{MAX_REASON_CHARS + 1} characters long; "
                                               f"the limit is {MAX_REASON_CHARS}"):
        exclude_spot(url, OPERATOR, spot, "r" * (MAX_REASON_CHARS + 1))
    with pytest.raises(ReviewInputError, match=f"spot {spot} is not excluded"):
        include_spot(url, OPERATOR, spot)
    assert decision_history(url, spot) == []


def test_a_viewer_cannot_exclude_or_include_and_the_refusals_are_audited(review_run):
    url, spot = review_run.url, review_run.spot_ids[1]
    with pytest.raises(PermissionDenied):
        exclude_spot(url, VIEWER, spot, "looks odd")
    exclude_spot(url, OPERATOR, spot, "looks odd")
    with pytest.raises(PermissionDenied):
        include_spot(url, VIEWER, spot)
    denied = list_events(url, outcome=DENIED)
    assert [(e.action, e.actor, e.spot_id, e.detail["permission"]) for e in denied] == [
        ("include", "vera", spot, "review"), ("exclude", "vera", spot, "review")]
    assert [d.reviewer for d in decision_history(url, spot)] == ["otto"]
