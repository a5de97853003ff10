import pytest

from core.auth.audit import ALLOWED, DENIED, list_events
from core.auth.guard import PermissionDenied
from core.review.annotations import (
    MAX_NOTES_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    normalise_tags,
    parse_tags,
    run_annotations,
    set_run_notes,
    set_run_tags,
)
from core.review.targets import ReviewInputError
from core.storage.ledger import UnknownRun
from tests.core.review.actors import OPERATOR, VIEWER


def test_tags_are_stripped_and_deduplicated_ignoring_case_keeping_the_first_spelling():
    assert normalise_tags(["  Li  plating ", "li PLATING", "", "a_b.c-d", "Ünïcode 2"]) == [
        "Li plating", "a_b.c-d", "Ünïcode 2"]
    assert parse_tags("j series, J Series ,, 0.78-mA") == ["j series", "0.78-mA"]
    assert parse_tags(None) == parse_tags("") == []


@pytest.mark.parametrize(("tags", "message"), [
    (["a/b"], "tag 'a/b' contains '/'; tags take letters, digits"),
    (["x" * (MAX_TAG_CHARS + 1)], f"is {MAX_TAG_CHARS + 1} characters long; the limit is "
                                  f"{MAX_TAG_CHARS}"),
    ([f"t{k}" for k in range(MAX_TAGS + 1)], f"{MAX_TAGS + 1} tags; a run takes at most "
                                             f"{MAX_TAGS}"),
])
def test_bad_tags_are_refused_naming_the_tag_and_the_limit(tags, message):
    with pytest.raises(ReviewInputError, match=message):
        normalise_tags(tags)


def test_an_operator_sets_tags_and_notes_and_the_change_is_audited_with_old_and_new(
        review_run):
    url, run_id = review_run.url, review_run.run_id
    assert set_run_tags(url, OPERATOR, run_id, ["Outlier", "j series", "outlier"]) == [
        "Outlier", "j series"]
    set_run_tags(url, OPERATOR, run_id, ["Outlier", "j series"])  # unchanged: not recorded
    set_run_tags(url, OPERATOR, run_id, ["j series"])
    assert set_run_notes(url, OPERATOR, run_id, "  Pump vibration in row 0.\n") == (
        "Pump vibration in row 0.")
    assert run_annotations(url, run_id).tags == ("j series",)
    assert run_annotations(url, run_id).notes == "Pump vibration in row 0."

    events = list_events(url, run_id=run_id, outcome=ALLOWED)
    assert [(e.action, e.actor) for e in events] == [
        ("set notes", "otto"), ("set tags", "otto"), ("set tags", "otto")]
    assert events[1].detail == {"old": ["Outlier", "j series"], "new": ["j series"]}
    assert events[2].detail == {"old": [], "new": ["Outlier", "j series"]}
    assert events[0].detail == {"old_chars": 0, "new_chars": 24}


def test_notes_are_bounded_and_unknown_runs_are_named(review_run):
    url, run_id = review_run.url, review_run.run_id
    set_run_notes(url, OPERATOR, run_id, "n" * MAX_NOTES_CHARS)
    with pytest.raises(ReviewInputError, match=f"limit is {MAX_NOTES_CHARS}"):
        set_run_notes(url, OPERATOR, run_id, "n" * (MAX_NOTES_CHARS + 1))
    with pytest.raises(UnknownRun, match="run 4242 does not exist"):
        set_run_tags(url, OPERATOR, 4242, ["x"])
    with pytest.raises(UnknownRun, match="run 4242 does not exist"):
        run_annotations(url, 4242)


def test_a_viewer_cannot_change_tags_or_notes_and_the_refusals_are_audited(review_run):
    url, run_id = review_run.url, review_run.run_id
    with pytest.raises(PermissionDenied):
        set_run_tags(url, VIEWER, run_id, ["mine"])
    with pytest.raises(PermissionDenied):
        set_run_notes(url, VIEWER, run_id, "my notes")
    assert [(e.action, e.actor, e.run_id) for e in list_events(url, outcome=DENIED)] == [
        ("set notes", "vera", run_id), ("set tags", "vera", run_id)]
    assert run_annotations(url, run_id).tags == () and run_annotations(url, run_id).notes == ""
