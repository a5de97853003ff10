"""Review (``/review/<run_id>``): the group's view of one run.

Tags and notes (operators and admins edit them; viewers read them), the run's comment thread
with replies (anyone logged in), the spots someone flagged or excluded (each links to its spot
page, where flags and exclusions are set), and the run's activity feed. Every action goes
through a :mod:`core.review` service, which checks the role again and records the activity.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_error
from components.review_activity import create_activity_feed
from components.review_comments import (
    create_comment_box,
    create_comment_thread,
    new_comment_ids,
)
from components.review_spots import create_reviewed_spots_table
from components.review_tags import (
    NOTES_INPUT_ID,
    SAVE_ID,
    TAGS_INPUT_ID,
    TAGS_VIEW_ID,
    create_tag_badges,
    create_tag_editor,
)
from components.run_header import create_run_header
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.runs import RunRow
from core.review.activity import run_feed
from core.review.annotations import parse_tags, run_annotations, set_run_notes, set_run_tags
from core.review.comments import comment_thread
from core.review.reviewed_spots import reviewed_spots
from pages._access import current_actor, requires
from pages._context import database_url, run_page
from pages._review_common import (
    clicked,
    comment_dependencies,
    comment_target,
    post_comment_action,
    success_alert,
)

dash.register_page(__name__, path_template="/review/<run_id>", name="Review",
                   title="Review · Meniscus")

SCOPE = "run"
RUN_STORE = "review-run-id"
VERSION_STORE = "review-version"
ALERT_ID = "review-alert"
THREAD_ID = "review-thread"
SPOTS_ID = "review-spots"
FEED_ID = "review-feed"
COMMENT_BODY_ID, COMMENT_SEND_ID = new_comment_ids(SCOPE)


def layout(run_id: str | None = None, **_query):
    return run_page(run_id, review_view, title="Cannot show the review")


def review_view(run: RunRow) -> html.Div:
    """The review page of ``run``: tags and notes, comments, reviewed spots, activity."""
    annotations = run_annotations(database_url(), run.id)
    thread, spots, feed = review_sections(run.id)
    actor = current_actor()
    may_review = actor is not None and actor.can(Permission.REVIEW)
    may_comment = actor is not None and actor.can(Permission.COMMENT)
    return html.Div([
        create_run_header(run, current="review"),
        dcc.Store(id=RUN_STORE, data=run.id),
        dcc.Store(id=VERSION_STORE, data=0),
        html.Div(id=ALERT_ID),
        dbc.Row([
            dbc.Col([
                _box("Tags and notes", create_tag_editor(annotations, editable=may_review)),
                _box("Comments on the run", create_comment_box(SCOPE, enabled=may_comment),
                     html.Div(thread, id=THREAD_ID)),
            ], lg=7),
            dbc.Col([
                _box("Flagged and excluded spots", html.Div(spots, id=SPOTS_ID)),
                _box("Activity", html.Div(feed, id=FEED_ID)),
            ], lg=5),
        ], className="g-3"),
    ])


def review_sections(run_id: int) -> tuple:
    """(comment thread, flagged/excluded spots table, activity feed) of ``run_id``."""
    url = database_url()
    actor = current_actor()
    return (
        create_comment_thread(comment_thread(url, run_id), scope=SCOPE,
                              can_reply=actor is not None and actor.can(Permission.COMMENT)),
        create_reviewed_spots_table(reviewed_spots(url, run_id)),
        create_activity_feed(run_feed(url, run_id)),
    )


def _box(title: str, *body) -> html.Div:
    return html.Div([html.H6(title), *body], className="card-panel")


@callback(
    Output(ALERT_ID, "children", allow_duplicate=True),
    Output(VERSION_STORE, "data", allow_duplicate=True),
    Output(TAGS_INPUT_ID, "value"),
    Output(TAGS_VIEW_ID, "children"),
    Input(SAVE_ID, "n_clicks"),
    State(TAGS_INPUT_ID, "value"),
    State(NOTES_INPUT_ID, "value"),
    State(RUN_STORE, "data"),
    State(VERSION_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.REVIEW)
def save_annotations(clicks, tags_text, notes, run_id, version):
    """Save tags and notes; the tags box and pills show the tags as stored (normalised)."""
    if not clicks:
        raise PreventUpdate
    url, actor = database_url(), current_actor()
    try:
        tags = set_run_tags(url, actor, run_id, parse_tags(tags_text))
        set_run_notes(url, actor, run_id, notes or "")
    except MeniscusError as error:
        return (create_error(str(error), title="Not saved"), dash.no_update, dash.no_update,
                dash.no_update)
    return (success_alert("Tags and notes saved."), (version or 0) + 1, ", ".join(tags),
            create_tag_badges(tags))


@callback(*comment_dependencies(SCOPE, alert_id=ALERT_ID, version_store=VERSION_STORE,
                                target_store=RUN_STORE), prevent_initial_call=True)
@requires(Permission.COMMENT)
def post_comment(_clicks, _reply_clicks, body, reply_bodies, reply_ids, run_id, version):
    """Post a new run comment or a reply (whichever button was pressed)."""
    parent, text = comment_target(clicked(), body, reply_bodies, reply_ids)
    return post_comment_action(run_id, text, parent, version)


@callback(
    Output(THREAD_ID, "children"),
    Output(SPOTS_ID, "children"),
    Output(FEED_ID, "children"),
    Input(VERSION_STORE, "data"),
    State(RUN_STORE, "data"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def refresh(_version, run_id):
    """Show the thread, the reviewed spots and the feed again after a change."""
    return review_sections(run_id)

