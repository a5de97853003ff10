import json

import dash
import pytest
from dash._utils import split_callback_id, stringify_id
from flask import g

from components.review_comments import REPLY_BODY, REPLY_SEND
from components.review_exclusion import EXCLUDE_ID, INCLUDE_ID
from components.review_flags import FLAG_ADD, FLAG_CLEAR, FLAG_NOTE_ID
from core.auth.audit import DENIED, list_events
from core.auth.guard import PermissionDenied
from core.auth.roles import Actor, Permission, Role
from core.results.trends import condition_trends
from core.review.comments import add_comment, comment_thread
from core.review.flags import FLAG_KINDS, flag_spot, spot_flags
from pages._access import PERMISSION_ATTRIBUTE
from tests.auth_helpers import callback_output, logged_in_client
from tests.components.tree import find, find_one, text

VIEWER = Actor("vera", Role.VIEWER)


def _spot(small_run, place=(0, 1)) -> dict:
    return {"spot_id": small_run.spot_ids[place], "run_id": small_run.run_id}


def test_the_spot_page_carries_the_review_panel(page, small_run):
    layout = page("spot").layout(spot_id=str(small_run.spot_ids[(1, 2)]))
    words = " ".join(text(layout).split())
    assert "Not flagged." in words and "No comments yet." in words
    assert "excluded bubble in the meniscus (ana," in words
    kinds = [button.id["kind"] for button in find(layout) if isinstance(
        getattr(button, "id", None), dict) and button.id.get("type") == FLAG_ADD]
    assert kinds == list(FLAG_KINDS)
    assert find_one(layout, id=EXCLUDE_ID).disabled and not find_one(layout, id=INCLUDE_ID).disabled


def test_viewers_see_the_panel_with_review_buttons_disabled_but_may_comment(page, small_run):
    flag_spot(small_run.url, Actor("ana", Role.OPERATOR), small_run.spot_ids[(0, 1)], "other")
    g.meniscus_actor = VIEWER
    panel = page("_spot_review").review_panel(small_run.spot_ids[(0, 1)], small_run.run_id)
    assert "other (ana," in " ".join(text(panel).split())
    assert not [b for b in find(panel) if isinstance(getattr(b, "id", None), dict)
                and b.id.get("type") == FLAG_CLEAR]  # no Clear button to fire for a viewer
    *_, refreshed_thread = page("_spot_review").refresh(1, _spot(small_run))
    assert text(refreshed_thread) == "No comments yet."
    flag_buttons = [b for b in find(panel) if isinstance(getattr(b, "id", None), dict)
                    and b.id.get("type") == FLAG_ADD]
    assert flag_buttons and all(button.disabled for button in flag_buttons)
    assert find_one(panel, id=EXCLUDE_ID).disabled
    assert not find_one(panel, id=page("_spot_review").COMMENT_SEND_ID).disabled


def test_flagging_clearing_and_errors_in_the_page(page, small_run):
    review, spot = page("_spot_review"), _spot(small_run)
    alert, version, note = review.flag_action("off_centre", "edge", spot, 0)
    assert "Flagged: off-centre landing." in text(alert) and (version, note) == (1, "")
    alert, version, note = review.flag_action("off_centre", "", spot, 1)
    assert "already flagged 'off-centre landing' by tester" in text(alert)
    assert version is dash.no_update and note is dash.no_update
    (flag,) = spot_flags(small_run.url, spot["spot_id"])
    alert, version = review.clear_action(flag.id, 1)
    assert "Flag cleared." in text(alert) and version == 2
    flags, *_ = review.refresh(2, spot)
    assert "cleared by tester" in text(flags)


def test_excluding_leaves_the_spot_out_of_trends_and_including_brings_it_back(page, small_run):
    review, spot = page("_spot_review"), _spot(small_run)
    alert, _, reason = review.exclusion_action(True, "", spot, 0)
    assert "the reason for excluding is empty" in text(alert) and reason is dash.no_update
    alert, version, reason = review.exclusion_action(True, "off-centre", spot, 0)
    assert "Excluded from trends" in text(alert) and (version, reason) == (1, "")
    low = condition_trends(small_run.url, small_run.run_id).conditions[0]
    assert low.n_excluded == 1 and low.stats["e_nuc_V"].mean == pytest.approx(-0.130)
    _, status, banner, exclude_disabled, include_disabled, _ = review.refresh(1, spot)
    assert "off-centre" in text(status) and (exclude_disabled, include_disabled) == (True, False)
    banner = " ".join(text(banner).split())
    assert "Excluded in review: off-centre (tester," in banner  # the page top, live
    alert, _, _ = review.exclusion_action(False, "was fine", spot, 1)
    assert "Included in trends and statistics again." in text(alert)
    _, status, banner, *_ = review.refresh(2, spot)
    assert "included again by tester" in text(status) and banner is None
    assert condition_trends(small_run.url, small_run.run_id).conditions[0].n_excluded == 0


def test_spot_comments_and_replies(page, small_run):
    review, spot = page("_spot_review"), _spot(small_run)
    post = page("_review_common").post_comment_action
    alert, version, box = post(small_run.run_id, "Halo around it", None, 0,
                               spot_id=spot["spot_id"])
    assert "Comment posted." in text(alert) and (version, box) == (1, "")
    (root,) = comment_thread(small_run.url, small_run.run_id, spot_id=spot["spot_id"])
    alert, _, box = post(small_run.run_id, "Seen on SEM too", root.id, 1, spot_id=spot["spot_id"])
    assert "Reply posted." in text(alert) and box is dash.no_update
    *_, thread = review.refresh(2, spot)
    assert "Halo around it" in text(thread) and "Seen on SEM too" in text(thread)
    assert comment_thread(small_run.url, small_run.run_id) == []  # not on the run itself


def test_a_viewer_calling_review_callbacks_is_refused_and_audited(page, small_run):
    g.meniscus_actor = VIEWER
    review = page("_spot_review")
    with pytest.raises(PermissionDenied):
        review.add_flag([1, None, None, None], "", _spot(small_run), 0)
    with pytest.raises(PermissionDenied):
        review.decide_exclusion(1, None, "no", _spot(small_run), 0)
    assert [e.action.rsplit(".", 1)[-1] for e in list_events(small_run.url, outcome=DENIED)] \
        == ["decide_exclusion", "add_flag"]
    assert spot_flags(small_run.url, small_run.spot_ids[(0, 1)]) == []


def test_every_callback_states_its_permission(page):
    review = page("_spot_review")
    assert {name: getattr(getattr(review, name), PERMISSION_ATTRIBUTE) for name in (
        "add_flag", "remove_flag", "decide_exclusion", "post_spot_comment", "refresh")} == {
        "add_flag": Permission.REVIEW, "remove_flag": Permission.REVIEW,
        "decide_exclusion": Permission.REVIEW, "post_spot_comment": Permission.COMMENT,
        "refresh": Permission.VIEW}


def _dispatch_body(dash_app, name: str, inputs: list, state: list, changed) -> dict:
    """A ``/_dash-update-component`` body as the renderer posts it (dict ids as objects)."""
    output = callback_output(dash_app, "pages._spot_review", name)
    outputs = [{**item, "id": json.loads(item["id"]) if item["id"].startswith("{")
                else item["id"]} for item in split_callback_id(output)]
    return {"output": output, "outputs": outputs, "inputs": inputs,
            "state": state, "changedPropIds": [f"{stringify_id(changed)}.n_clicks"]}


def test_a_reply_posted_through_the_dash_dispatch_lands_on_its_parent(dash_app, page,
                                                                       small_run):
    spot = _spot(small_run)
    root = add_comment(small_run.url, VIEWER, small_run.run_id, "Halo?",
                       spot_id=spot["spot_id"])
    reply_send = {"type": REPLY_SEND, "scope": "spot", "parent": root}
    reply_body = {**reply_send, "type": REPLY_BODY}
    review = page("_spot_review")
    body = _dispatch_body(dash_app, "post_spot_comment", inputs=[
        {"id": review.COMMENT_SEND_ID, "property": "n_clicks", "value": None},
        [{"id": reply_send, "property": "n_clicks", "value": 1}],
    ], state=[
        {"id": review.COMMENT_BODY_ID, "property": "value", "value": "draft, not sent"},
        [{"id": reply_body, "property": "value", "value": "Yes, on SEM too"}],
        [{"id": reply_body, "property": "id", "value": reply_body}],
        {"id": review.SPOT_STORE, "property": "data", "value": spot},
        {"id": review.VERSION_STORE, "property": "data", "value": 0},
    ], changed=reply_send)
    client = logged_in_client(dash_app.server, small_run.url, name="vera", role="viewer")
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    (thread,) = comment_thread(small_run.url, small_run.run_id, spot_id=spot["spot_id"])
    assert [(r.author, r.body) for r in thread.replies] == [("vera", "Yes, on SEM too")]


def test_a_viewer_posting_a_flag_to_the_dash_dispatch_gets_403(dash_app, page, small_run):
    spot, review = _spot(small_run), page("_spot_review")
    add = {"type": FLAG_ADD, "kind": "other"}
    body = _dispatch_body(dash_app, "add_flag", inputs=[
        [{"id": {"type": FLAG_ADD, "kind": kind}, "property": "n_clicks",
          "value": 1 if kind == "other" else None} for kind in FLAG_KINDS],
    ], state=[
        {"id": FLAG_NOTE_ID, "property": "value", "value": ""},
        {"id": review.SPOT_STORE, "property": "data", "value": spot},
        {"id": review.VERSION_STORE, "property": "data", "value": 0},
    ], changed=add)
    client = logged_in_client(dash_app.server, small_run.url, name="vera", role="viewer")
    assert client.post("/_dash-update-component", json=body).status_code == 403
    assert spot_flags(small_run.url, spot["spot_id"]) == []
    operator = logged_in_client(dash_app.server, small_run.url, name="otto", role="operator")
    assert operator.post("/_dash-update-component", json=body).status_code == 200
    assert [(f.kind, f.author) for f in spot_flags(small_run.url, spot["spot_id"])] == [
        ("other", "otto")]
