"""The spot page's review panel: flags by kind, exclusion with a reason, the spot's comments.

Imported by :mod:`pages.spot` (a module starting with ``_`` is not a page of its own), which
places :func:`review_panel` in its layout. Buttons are disabled for roles that may not use
them, but the check that counts is the :mod:`core.review` service behind each callback.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html

from components.feedback import create_error
from components.review_comments import (
    create_comment_box,
    create_comment_thread,
    new_comment_ids,
)
from components.review_exclusion import (
    BANNER_ID,
    EXCLUDE_ID,
    INCLUDE_ID,
    REASON_ID,
    STATUS_ID,
    create_exclusion_banner,
    create_exclusion_control,
    create_exclusion_status,
    exclusion_buttons_disabled,
)
from components.review_flags import (
    FLAG_ADD,
    FLAG_CLEAR,
    FLAG_NOTE_ID,
    create_flag_buttons,
    create_flag_list,
)
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.review.comments import comment_thread
from core.review.exclusions import current_decision, exclude_spot, include_spot
from core.review.flags import FLAG_KINDS, clear_flag, flag_spot, spot_flags
from pages._access import current_actor, requires
from pages._context import database_url
from pages._review_common import (
    clicked,
    comment_dependencies,
    comment_target,
    outcome,
    post_comment_action,
)

SCOPE = "spot"
SPOT_STORE = "spot-review-spot"
VERSION_STORE = "spot-review-version"
ALERT_ID = "spot-review-alert"
FLAGS_ID = "spot-review-flags"
THREAD_ID = "spot-review-thread"
COMMENT_BODY_ID, COMMENT_SEND_ID = new_comment_ids(SCOPE)


def review_panel(spot_id: int, run_id: int) -> html.Div:
    """The compact review panel of one spot (flags, exclusion, comments)."""
    actor = current_actor()
    may_comment = actor is not None and actor.can(Permission.COMMENT)
    may_review = actor is not None and actor.can(Permission.REVIEW)
    try:
        flags, *_, thread = panel_sections(spot_id, run_id)
        exclusion = create_exclusion_control(current_decision(database_url(), spot_id),
                                             enabled=may_review)
    except MeniscusError as error:
        return create_error(str(error), title="Cannot show the review of this spot")
    return html.Div([
        html.H6(["Review ", dcc.Link("(run review)", href=f"/review/{run_id}",
                                     className="small fw-normal")]),
        dcc.Store(id=SPOT_STORE, data={"spot_id": spot_id, "run_id": run_id}),
        dcc.Store(id=VERSION_STORE, data=0),
        html.Div(id=ALERT_ID),
        dbc.Row([
            dbc.Col([
                html.Div("Flags", className="small fw-semibold"),
                html.Div(flags, id=FLAGS_ID, className="mb-1"),
                create_flag_buttons(enabled=may_review),
                html.Div("Trends", className="small fw-semibold mt-2"),
                exclusion,
            ], lg=6),
            dbc.Col([
                html.Div("Comments on this spot", className="small fw-semibold"),
                create_comment_box(SCOPE, enabled=may_comment),
                html.Div(thread, id=THREAD_ID),
            ], lg=6),
        ], className="g-3"),
    ], className="card-panel mt-3")


def exclusion_banner(spot_id: int) -> html.Div:
    """The spot page's "Excluded in review" alert (empty while kept), placed by
    :mod:`pages.spot` at the top; :func:`refresh` updates it with the panel."""
    return html.Div(create_exclusion_banner(current_decision(database_url(), spot_id)),
                    id=BANNER_ID)


def panel_sections(spot_id: int, run_id: int) -> tuple:
    """What a refresh sends for the spot and the current actor: (flag list, exclusion status,
    page-top exclusion alert, Exclude disabled, Include again disabled, comment thread)."""
    url, actor = database_url(), current_actor()
    may_review = actor is not None and actor.can(Permission.REVIEW)
    decision = current_decision(url, spot_id)
    return (
        create_flag_list(spot_flags(url, spot_id), can_clear=may_review),
        create_exclusion_status(decision),
        create_exclusion_banner(decision),
        *exclusion_buttons_disabled(decision, enabled=may_review),
        create_comment_thread(comment_thread(url, run_id, spot_id=spot_id), scope=SCOPE,
                              can_reply=actor is not None and actor.can(Permission.COMMENT)),
    )


@callback(
    Output(ALERT_ID, "children", allow_duplicate=True),
    Output(VERSION_STORE, "data", allow_duplicate=True),
    Output(FLAG_NOTE_ID, "value"),
    Input({"type": FLAG_ADD, "kind": ALL}, "n_clicks"),
    State(FLAG_NOTE_ID, "value"),
    State(SPOT_STORE, "data"),
    State(VERSION_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.REVIEW)
def add_flag(_clicks, note, spot, version):
    """Flag the spot with the kind of the button pressed and the note typed."""
    return flag_action(clicked()["kind"], note, spot, version)


def flag_action(kind: str, note: str | None, spot: dict, version: int | None):
    """(alert, version, note box) after flagging ``spot`` as ``kind``."""
    return outcome(lambda: flag_spot(database_url(), current_actor(), spot["spot_id"], kind,
                                     note or ""),
                   f"Flagged: {FLAG_KINDS.get(kind, kind)}.", version, "")


@callback(
    Output(ALERT_ID, "children", allow_duplicate=True),
    Output(VERSION_STORE, "data", allow_duplicate=True),
    Input({"type": FLAG_CLEAR, "flag": ALL}, "n_clicks"),
    State(VERSION_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.REVIEW)
def remove_flag(_clicks, version):
    """Clear the flag whose Clear button was pressed."""
    return clear_action(clicked()["flag"], version)


def clear_action(flag_id: int, version: int | None):
    """(alert, version) after clearing flag ``flag_id``."""
    return outcome(lambda: clear_flag(database_url(), current_actor(), flag_id),
                   "Flag cleared.", version)


@callback(
    Output(ALERT_ID, "children", allow_duplicate=True),
    Output(VERSION_STORE, "data", allow_duplicate=True),
    Output(REASON_ID, "value"),
    Input(EXCLUDE_ID, "n_clicks"),
    Input(INCLUDE_ID, "n_clicks"),
    State(REASON_ID, "value"),
    State(SPOT_STORE, "data"),
    State(VERSION_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.REVIEW)
def decide_exclusion(_exclude, _include, reason, spot, version):
    """Exclude the spot from trends, or include it again, with the reason typed."""
    return exclusion_action(clicked() == EXCLUDE_ID, reason, spot, version)


def exclusion_action(exclude: bool, reason: str | None, spot: dict, version: int | None):
    """(alert, version, reason box) after excluding (``exclude``) or including ``spot``
    again; the reason box is emptied when it worked."""
    url, actor, spot_id = database_url(), current_actor(), spot["spot_id"]
    if exclude:
        return outcome(lambda: exclude_spot(url, actor, spot_id, reason or ""),
                       "Excluded from trends and statistics.", version, "")
    return outcome(lambda: include_spot(url, actor, spot_id, reason or ""),
                   "Included in trends and statistics again.", version, "")


@callback(*comment_dependencies(SCOPE, alert_id=ALERT_ID, version_store=VERSION_STORE,
                                target_store=SPOT_STORE), prevent_initial_call=True)
@requires(Permission.COMMENT)
def post_spot_comment(_clicks, _reply_clicks, body, reply_bodies, reply_ids, spot, version):
    """Post a comment on the spot, or a reply (whichever button was pressed)."""
    parent, text = comment_target(clicked(), body, reply_bodies, reply_ids)
    return post_comment_action(spot["run_id"], text, parent, version, spot_id=spot["spot_id"])


@callback(
    Output(FLAGS_ID, "children"),
    Output(STATUS_ID, "children"),
    Output(BANNER_ID, "children"),
    Output(EXCLUDE_ID, "disabled"),
    Output(INCLUDE_ID, "disabled"),
    Output(THREAD_ID, "children"),
    Input(VERSION_STORE, "data"),
    State(SPOT_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def refresh(_version, spot):
    """Show the flags, the exclusion (in the panel and at the top of the page) and the
    comments again after a change (the exclusion's buttons only change their ``disabled``
    flags: they are never re-inserted)."""
    return panel_sections(spot["spot_id"], spot["run_id"])
