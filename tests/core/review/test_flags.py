import pytest

from core.auth.audit import ALLOWED, DENIED, list_events
from core.auth.guard import PermissionDenied
from core.results.record import UnknownSpot
from core.review.flags import (
    FLAG_KINDS,
    MAX_FLAG_NOTE_CHARS,
    UnknownFlag,
    check_flag_kind,
    clear_flag,
    flag_spot,
    run_flags,
    spot_flags,
)
from core.review.targets import ReviewInputError
from tests.core.review.actors import ADMIN, OPERATOR, VIEWER


def test_the_four_kinds_of_the_issue_are_offered_with_labels():
    assert FLAG_KINDS == {
        "off_centre": "off-centre landing",
        "thick_deposit": "thick deposit / contrast inversion",
        "failed_contact": "failed contact",
        "other": "other",
    }


def test_an_operator_flags_a_spot_and_clearing_keeps_the_flag_with_who_cleared_it(review_run):
    url, spot = review_run.url, review_run.spot_ids[1]
    flag_id = flag_spot(url, OPERATOR, spot, "off_centre", note="  landed on the edge ")
    (flag,) = spot_flags(url, spot)
    assert (flag.id, flag.kind, flag.label, flag.note, flag.author, flag.active) == (
        flag_id, "off_centre", "off-centre landing", "landed on the edge", "otto", True)
    assert [f.id for f in run_flags(url, review_run.run_id)] == [flag_id]

    clear_flag(url, ADMIN, flag_id)
    (flag,) = spot_flags(url, spot)
    assert not flag.active and flag.cleared_by == "ada" and flag.cleared_at is not None
    assert spot_flags(url, spot, active_only=True) == []
    assert run_flags(url, review_run.run_id) == []
    assert len(run_flags(url, review_run.run_id, active_only=False)) == 1
    with pytest.raises(UnknownFlag, match=f"flag {flag_id} was already cleared by ada"):
        clear_flag(url, ADMIN, flag_id)

    events = list_events(url, run_id=review_run.run_id, outcome=ALLOWED)
    assert [(e.action, e.actor, e.spot_id, e.detail["kind"]) for e in events] == [
        ("clear flag", "ada", spot, "off_centre"), ("flag", "otto", spot, "off_centre")]


def test_a_kind_flagged_again_after_clearing_is_a_new_flag(review_run):
    url, spot = review_run.url, review_run.spot_ids[0]
    first = flag_spot(url, OPERATOR, spot, "thick_deposit")
    with pytest.raises(ReviewInputError, match="already flagged 'thick deposit / contrast "
                                               "inversion' by otto"):
        flag_spot(url, ADMIN, spot, "thick_deposit")
    flag_spot(url, ADMIN, spot, "other", note="bubble")
    clear_flag(url, OPERATOR, first)
    second = flag_spot(url, ADMIN, spot, "thick_deposit")
    assert second != first
    assert [(f.kind, f.active) for f in spot_flags(url, spot)] == [
        ("thick_deposit", False), ("other", True), ("thick_deposit", True)]


def test_unknown_kinds_and_long_notes_are_refused_naming_what_is_allowed(review_run):
    url, spot = review_run.url, review_run.spot_ids[0]
    with pytest.raises(ReviewInputError, match=r"unknown flag kind 'bubble'; the kinds are: "
                                               r"off_centre \(off-centre landing\), "):
        flag_spot(url, OPERATOR, spot, "bubble")
    with pytest.raises(ReviewInputError, match=f"limit is {MAX_FLAG_NOTE_CHARS}"):
        flag_spot(url, OPERATOR, spot, "other", note="n" * (MAX_FLAG_NOTE_CHARS + 1))
    with pytest.raises(UnknownSpot):
        flag_spot(url, OPERATOR, 4242, "other")
    with pytest.raises(UnknownFlag, match="flag 4242 does not exist"):
        clear_flag(url, OPERATOR, 4242)
    assert check_flag_kind("failed_contact") == "failed_contact"
    assert spot_flags(url, spot) == []


def test_a_viewer_can_neither_flag_nor_clear_and_each_refusal_is_audited(review_run):
    url, spot = review_run.url, review_run.spot_ids[2]
    flag_id = flag_spot(url, OPERATOR, spot, "failed_contact")
    with pytest.raises(PermissionDenied, match="vera is viewer; this needs operator"):
        flag_spot(url, VIEWER, spot, "other")
    with pytest.raises(PermissionDenied):
        clear_flag(url, VIEWER, flag_id)
    denied = list_events(url, outcome=DENIED)
    assert [(e.action, e.actor, e.run_id, e.spot_id) for e in denied] == [
        ("clear flag", "vera", review_run.run_id, spot),
        ("flag", "vera", review_run.run_id, spot)]
    assert [(f.kind, f.active) for f in spot_flags(url, spot)] == [("failed_contact", True)]
