from dash import ALL

from components.review_comments import REPLY_BODY, REPLY_SEND, new_comment_ids
from pages._review_common import comment_dependencies, comment_target


def _reply_id(parent: int, kind: str = REPLY_BODY) -> dict:
    return {"type": kind, "scope": "spot", "parent": parent}


def test_the_post_button_targets_a_new_comment_with_the_main_box():
    _, send = new_comment_ids("run")
    assert comment_target(send, "New", ["ignored"], [_reply_id(4)]) == (None, "New")


def test_a_reply_button_targets_its_parent_with_that_reply_box():
    trigger = _reply_id(7, REPLY_SEND)
    bodies, ids = ["to four", "to seven"], [_reply_id(4), _reply_id(7)]
    assert comment_target(trigger, "main box", bodies, ids) == (7, "to seven")


def test_the_dependencies_follow_the_callback_arguments_of_their_scope():
    outputs_inputs_states = comment_dependencies(
        "spot", alert_id="alert", version_store="version", target_store="spot-store")
    described = [(d.component_id, d.component_property) for d in outputs_inputs_states]
    body, send = new_comment_ids("spot")
    reply = {"scope": "spot", "parent": ALL}
    assert described == [
        ("alert", "children"), ("version", "data"), (body, "value"), (send, "n_clicks"),
        ({"type": REPLY_SEND, **reply}, "n_clicks"), (body, "value"),
        ({"type": REPLY_BODY, **reply}, "value"), ({"type": REPLY_BODY, **reply}, "id"),
        ("spot-store", "data"), ("version", "data")]
