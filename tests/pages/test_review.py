import dash
import dash_bootstrap_components as dbc
import pytest
from dash.development.base_component import Component
from flask import g

from components.review_tags import NOTES_INPUT_ID, SAVE_ID, TAGS_INPUT_ID
from core.auth.audit import DENIED, list_events
from core.auth.guard import PermissionDenied
from core.auth.roles import Actor, Permission, Role
from core.review.annotations import run_annotations
from core.review.comments import add_comment, comment_thread
from core.review.exclusions import exclude_spot
from core.review.flags import flag_spot
from pages._access import PERMISSION_ATTRIBUTE
from tests.components.tree import find, find_one, text

ADMIN = Actor("tester", Role.ADMIN)
VIEWER = Actor("vera", Role.VIEWER)


def test_the_page_shows_tags_comments_reviewed_spots_and_activity(page, small_run):
    url, spot = small_run.url, small_run.spot_ids[(0, 1)]
    question = add_comment(url, VIEWER, small_run.run_id, "Row 1 looks noisy?")
    add_comment(url, ADMIN, small_run.run_id, "Pump vibration.", parent_id=question)
    flag_spot(url, ADMIN, spot, "thick_deposit", note="dark ring")
    exclude_spot(url, ADMIN, spot, "contrast inverted")

    layout = page("review").layout(run_id=str(small_run.run_id))
    words = " ".join(text(layout).split())
    assert "Small screen" in words and "demo, j series" == find_one(layout, id=TAGS_INPUT_ID).value
    assert "Row 1 looks noisy?" in words and "Pump vibration." in words
    assert f"spot {spot}" in words and "thick deposit / contrast inversion" in words
    assert "contrast inverted (tester)" in words
    assert "vera (viewer) commented on the run: “Row 1 looks noisy?”" in words
    assert f"tester (admin) excluded spot {spot} from trends: contrast inverted" in words
    assert f"/spot/{spot}" in {link.href for link in find(layout) if getattr(link, "href", 0)}
    assert "Review" in words and not find_one(layout, id=SAVE_ID).disabled


def test_viewers_see_tags_and_notes_read_only_but_may_comment(page, small_run):
    g.meniscus_actor = VIEWER
    layout = page("review").layout(run_id=str(small_run.run_id))
    assert find_one(layout, id=SAVE_ID).disabled and find_one(layout, id=TAGS_INPUT_ID).disabled
    assert find_one(layout, id=NOTES_INPUT_ID).disabled
    assert "Operators and admins edit tags and notes." in text(layout)
    post = find_one(layout, id=page("review").COMMENT_SEND_ID)
    assert not post.disabled


def test_saving_tags_and_notes_normalises_and_reports(page, small_run):
    review = page("review")
    alert, version, tags, badges = review.save_annotations(
        1, " demo, Outlier ,outlier", "Checked row 1.", small_run.run_id, 3)
    assert isinstance(alert, dbc.Alert) and "saved" in text(alert) and version == 4
    assert tags == "demo, Outlier" and text(badges) == "demo Outlier"
    assert run_annotations(small_run.url, small_run.run_id).notes == "Checked row 1."
    alert, version, tags, _ = review.save_annotations(1, "a/b", "", small_run.run_id, 4)
    assert "Not saved" in text(alert) and "tag 'a/b' contains '/'" in text(alert)
    assert version is dash.no_update and tags is dash.no_update


def test_a_viewer_posting_to_the_save_callback_is_refused_and_audited(page, small_run):
    g.meniscus_actor = VIEWER
    with pytest.raises(PermissionDenied):
        page("review").save_annotations(1, "mine", "", small_run.run_id, 0)
    (event,) = list_events(small_run.url, outcome=DENIED)
    assert event.actor == "vera" and event.action.endswith("save_annotations")
    assert run_annotations(small_run.url, small_run.run_id).tags == ("demo", "j series")


def test_comments_and_replies_are_posted_and_errors_shown_in_the_page(page, small_run):
    review, post = page("review"), page("_review_common").post_comment_action
    alert, version, box = post(small_run.run_id, "First look", None, 0)
    assert "Comment posted." in text(alert) and (version, box) == (1, "")
    (root,) = comment_thread(small_run.url, small_run.run_id)
    alert, version, box = post(small_run.run_id, "Agreed", root.id, 1)
    assert "Reply posted." in text(alert) and version == 2 and box is dash.no_update
    assert [r.body for r in comment_thread(small_run.url, small_run.run_id)[0].replies] == [
        "Agreed"]
    alert, version, _ = post(small_run.run_id, "   ", None, 2)
    assert "Not posted" in text(alert) and "the comment is empty" in text(alert)
    thread, spots, feed = review.refresh(2, small_run.run_id)
    assert "First look" in text(thread) and "bubble in the meniscus (ana)" in text(spots)
    assert "replied on the run: “Agreed”" in text(feed)


def test_every_callback_states_its_permission(page):
    review = page("review")
    assert {name: getattr(getattr(review, name), PERMISSION_ATTRIBUTE) for name in (
        "save_annotations", "post_comment", "refresh")} == {
        "save_annotations": Permission.REVIEW, "post_comment": Permission.COMMENT,
        "refresh": Permission.VIEW}


@pytest.mark.parametrize(("run_id", "message"), [("abc", "'abc' is not a run id"),
                                                 ("999", "run 999 does not exist")])
def test_a_bad_run_is_an_error_in_the_page(page, small_run, run_id, message):
    assert message in text(page("review").layout(run_id=run_id))


def _lists_nested_in_children(node) -> list[str]:
    """Components whose ``children`` list holds another list (React cannot render those)."""
    found = []
    if isinstance(node, (list, tuple)):
        for item in node:
            found += _lists_nested_in_children(item)
    elif isinstance(node, Component):
        children = getattr(node, "children", None)
        if isinstance(children, (list, tuple)) and any(
                isinstance(item, (list, tuple)) for item in children):
            found.append(f"{type(node).__name__} {getattr(node, 'id', '')}")
        found += _lists_nested_in_children(children)
    return found


def test_the_layout_and_refresh_render_in_a_browser_without_nested_lists(page, small_run):
    add_comment(small_run.url, VIEWER, small_run.run_id, "Noisy?")
    flag_spot(small_run.url, ADMIN, small_run.spot_ids[(0, 1)], "other")
    review = page("review")
    assert _lists_nested_in_children(review.layout(run_id=str(small_run.run_id))) == []
    assert _lists_nested_in_children(list(review.refresh(1, small_run.run_id))) == []
    panel = page("_spot_review").review_panel(small_run.spot_ids[(0, 1)], small_run.run_id)
    assert _lists_nested_in_children(panel) == []
