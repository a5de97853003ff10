"""What the review page and the spot page's review panel share: which button was pressed,
the comment callback's dependencies, and posting a comment or a reply.

A module starting with ``_`` is not a page of its own. Each page still declares its comment
callback itself (``@callback(*comment_dependencies(...))`` then ``@requires(...)``), so the
permission stays visible where the callback lives.
"""

from __future__ import annotations

from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State
from dash.dependencies import DashDependency
from dash.exceptions import PreventUpdate

from components.feedback import create_error
from components.review_comments import REPLY_BODY, REPLY_SEND, new_comment_ids
from core.errors import MeniscusError
from core.review.comments import add_comment
from pages._access import current_actor
from pages._context import database_url


def clicked() -> dict | str:
    """The id of the button that was pressed; a button that merely appeared (``n_clicks``
    still empty) stops the callback with ``PreventUpdate``."""
    trigger = dash.ctx.triggered_id
    if trigger is None or not dash.ctx.triggered[0].get("value"):
        raise PreventUpdate
    return trigger


def comment_dependencies(scope: str, *, alert_id: str, version_store: str,
                         target_store: str) -> list[DashDependency]:
    """Outputs (alert, version, new-comment box), inputs (Post, every Reply) and states
    (new-comment text, reply texts and ids, ``target_store``, version) of the comment
    callback of ``scope``; the callback's arguments come in that order."""
    body_id, send_id = new_comment_ids(scope)
    reply = {"scope": scope, "parent": ALL}
    return [
        Output(alert_id, "children", allow_duplicate=True),
        Output(version_store, "data", allow_duplicate=True),
        Output(body_id, "value"),
        Input(send_id, "n_clicks"),
        Input({"type": REPLY_SEND, **reply}, "n_clicks"),
        State(body_id, "value"),
        State({"type": REPLY_BODY, **reply}, "value"),
        State({"type": REPLY_BODY, **reply}, "id"),
        State(target_store, "data"),
        State(version_store, "data"),
    ]


def comment_target(trigger: dict, body: str | None, reply_bodies: list,
                   reply_ids: list[dict]) -> tuple[int | None, str | None]:
    """(parent comment id or None for a new comment, its text) for the button ``trigger``."""
    if trigger.get("type") != REPLY_SEND:
        return None, body
    parent = trigger["parent"]
    texts = dict(zip([i["parent"] for i in reply_ids], reply_bodies, strict=True))
    return parent, texts.get(parent)


def outcome(action: Callable[[], object], done: str, version: int | None, *cleared,
            failed: str = "Not saved"):
    """Run ``action``; (success alert ``done``, version + 1, *cleared) or, when the service
    refuses, (its error titled ``failed``, no update, no update for each of ``cleared``)."""
    try:
        action()
    except MeniscusError as error:
        return (create_error(str(error), title=failed), dash.no_update,
                *(dash.no_update for _ in cleared))
    return success_alert(done), (version or 0) + 1, *cleared


def success_alert(message: str) -> dbc.Alert:
    """A green alert that closes itself after 4 s."""
    return dbc.Alert(message, color="success", duration=4000, className="py-2")


def post_comment_action(run_id: int, body: str | None, parent: int | None,
                        version: int | None, *, spot_id: int | None = None):
    """(alert, version, new-comment box) after posting ``body`` on run ``run_id`` (on its
    spot ``spot_id`` when given; a reply to ``parent`` when given). The new-comment box is
    emptied only after a new comment: a reply leaves it as typed."""
    return outcome(
        lambda: add_comment(database_url(), current_actor(), run_id, body or "",
                            spot_id=spot_id, parent_id=parent),
        "Reply posted." if parent is not None else "Comment posted.", version,
        dash.no_update if parent is not None else "", failed="Not posted")
