"""Run (``/run/<run_id>``; ``/run`` shows the active run): a run as it is measured.

Polls the ledger every :data:`POLL_MS` through :mod:`workers.submit` (progress and ETA) and
:mod:`core.results` (status map, spot errors, the latest saved spot's curve and last IRM
frame); there is no live stream, so the curve is that of the last spot committed. Figures are
re-sent only when a spot changed state. Polling stops when the run has ended. Pause and resume
act at once (the engine pauses after the current spot); both aborts ask first. Controls need
an operator (viewers see them disabled, with a note): they go through :mod:`workers.guarded`
as the logged-in user (audited).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_empty_state, create_error
from components.graph_config import graph_config
from components.heatmap import create_heatmap
from components.run_header import create_run_header
from components.run_live import (
    CONTROLS,
    controls_disabled,
    create_confirm_dialog,
    create_faults,
    create_latest_frame,
    create_latest_trace,
    create_run_controls,
    progress_numbers,
)
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.grid_values import metric_grid
from core.results.metrics import STATUS
from core.results.runs import RunFilter, list_runs, run_header
from core.results.spot_detail import spot_detail
from core.results.spot_table import spot_table
from core.storage.states import FINAL_RUN_STATES
from pages._access import current_actor, requires
from pages._context import data_dir, database_url, run_page, submit_settings
from workers import guarded
from workers.submit import run_progress

dash.register_page(__name__, path_template="/run/<run_id>", name="Run", title="Run · Meniscus")

POLL_MS = 1000
#: progress bar colour of a run that has ended
END_COLOURS = {"completed": "success", "failed": "danger", "aborted": "secondary"}
#: runs the ``/run`` page shows, most recent first: those still holding the instrument
HOLDING_STATES = ("queued", "active", "paused", "interrupted")
#: spot states whose data were saved (the "latest spot" is the last of these to be visited)
MEASURED_STATES = frozenset({"done", "failed", "interrupted"})


def layout(run_id: str | None = None, **_query):
    return run_page(run_id, lambda run: run_view(run.id))


def active_layout(**_query):
    """``/run``: the run holding an instrument, else an empty state."""
    holding = list_runs(database_url(), RunFilter(states=HOLDING_STATES, limit=1))
    if holding:
        return run_view(holding[0].id)
    latest = list_runs(database_url(), RunFilter(limit=1))
    return create_empty_state(
        "No run is in progress",
        html.Span([dcc.Link("Design a grid", href="/design"), " and launch it to follow it here."]),
        html.Span(["The latest run, ", dcc.Link(latest[0].name, href=f"/run/{latest[0].id}"),
                   f", is {latest[0].state}."]) if latest else "No run has been submitted yet.",
        icon="▷")


dash.register_page(f"{__name__}_active", path="/run", name="Active run",
                   title="Run · Meniscus", layout=active_layout)


def run_view(run_id: int) -> html.Div:
    return html.Div([
        dcc.Store(id="run-id", data=run_id),
        dcc.Store(id="run-seen"),
        dcc.Store(id="run-action"),
        dcc.Interval(id="run-poll", interval=POLL_MS),
        html.Div(id="run-header"),
        dbc.Row([
            dbc.Col([dbc.Progress(id="run-progress", value=0, label="", striped=True,
                                  animated=True, style={"height": "1.4rem"}),
                     html.Div(id="run-timing", className="small text-muted mt-1")], lg=7),
            dbc.Col(create_run_controls(allowed=may_control()), lg=5),
        ], className="g-2 mb-2 align-items-start"),
        html.Div(id="run-action-message"),
        html.Div(id="run-faults"),
        dbc.Row([
            dbc.Col(_box("Spots", dcc.Graph(id="run-status", style={"height": "330px"},
                                            config=graph_config(f"run_{run_id}_status"))),
                    lg=5),
            dbc.Col(_box("Latest spot: potential", html.Div(id="run-latest")), lg=4),
            dbc.Col(_box("Latest IRM frame", html.Div(id="run-frame")), lg=3),
        ], className="g-3"),
        create_confirm_dialog(),
    ])


def may_control() -> bool:
    """Whether the logged-in user's role may pause, resume and abort runs
    (:attr:`Permission.CONTROL`)."""
    actor = current_actor()
    return actor is not None and actor.can(Permission.CONTROL)


def _box(title: str, child) -> html.Div:
    return html.Div([html.H6(title), child], className="card-panel")


@callback(
    Output("run-progress", "value"), Output("run-progress", "label"),
    Output("run-progress", "animated"), Output("run-progress", "striped"),
    Output("run-progress", "color"), Output("run-timing", "children"),
    *[Output(key, "disabled") for key in CONTROLS],
    Output("run-poll", "disabled"), Output("run-seen", "data"),
    Output("run-header", "children"), Output("run-status", "figure"),
    Output("run-latest", "children"), Output("run-frame", "children"),
    Output("run-faults", "children"),
    Input("run-poll", "n_intervals"), State("run-id", "data"), State("run-seen", "data"),
)
@requires(Permission.VIEW)
def poll(_tick, run_id, seen):
    """Progress every tick; header, status map, latest spot and faults when a spot moved."""
    progress = run_progress(run_id, settings=submit_settings())
    percent, label, timing = progress_numbers(progress)
    ended = progress["state"] in FINAL_RUN_STATES
    signature = [progress["state"], progress["by_state"], progress["current_order"]]
    colour = END_COLOURS.get(progress["state"], "primary")
    head = (percent, label, not ended, not ended, colour, timing,
            *controls_disabled(progress["state"], allowed=may_control()), ended, signature)
    if signature == seen:
        return *head, *[dash.no_update] * 5
    return *head, *run_panels(run_id)


def run_panels(run_id: int) -> tuple:
    """(header, status map figure, latest curve, latest frame, faults) of a run."""
    url = database_url()
    run = run_header(url, run_id)
    rows = spot_table(url, run_id)
    measured = [row for row in rows if row["state"] in MEASURED_STATES]
    detail = spot_detail(url, data_dir(), measured[-1]["spot_id"]) if measured else None
    status = create_heatmap(metric_grid(url, run_id, STATUS))
    status["layout"]["margin"] = {"l": 55, "r": 10, "t": 10, "b": 45}
    return (create_run_header(run, current="run"), status, create_latest_trace(detail),
            create_latest_frame(detail),
            create_faults(run.error, [row for row in rows if row["error"]]))


#: abort buttons → (action, confirmation text)
ABORTS = {
    "run-abort-after": ("abort_after", "The spot being measured is finished and saved; the "
                        "spots not yet visited are skipped. This cannot be undone."),
    "run-abort-now": ("abort_now", "The measurement in progress is stopped within 0.1 s and "
                      "that spot is marked interrupted; the spots not yet visited are "
                      "skipped. This cannot be undone."),
}


@callback(
    Output("run-confirm", "is_open"), Output("run-confirm-body", "children"),
    Output("run-action", "data"), Output("run-action-message", "children"),
    Input("run-pause", "n_clicks"), Input("run-resume", "n_clicks"),
    Input("run-abort-after", "n_clicks"), Input("run-abort-now", "n_clicks"),
    Input("run-confirm-yes", "n_clicks"), Input("run-confirm-no", "n_clicks"),
    State("run-action", "data"), State("run-id", "data"),
    prevent_initial_call=True,
)
@requires(Permission.CONTROL)
def control(*args):
    """Pause/resume at once; an abort opens the dialog, and its confirmation sends it."""
    *_clicks, pending, run_id = args
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return control_response(ctx.triggered_id, pending, run_id)


def control_response(trigger: str, pending: str | None, run_id: int) -> tuple:
    """(dialog open, dialog text, pending action, message) after button ``trigger``."""
    if trigger in ABORTS:
        return True, ABORTS[trigger][1], ABORTS[trigger][0], dash.no_update
    if trigger == "run-confirm-no":
        return False, dash.no_update, None, dash.no_update
    action = pending if trigger == "run-confirm-yes" else trigger.removeprefix("run-")
    return False, dash.no_update, None, perform(action, run_id)


def perform(action: str | None, run_id: int):
    """Send ``action`` (pause, resume, abort_after, abort_now) for the run as the logged-in
    user; the message."""
    if action not in ("pause", "resume", "abort_after", "abort_now"):
        raise PreventUpdate
    try:
        state = guarded.control(current_actor(), run_id, action, settings=submit_settings())
        if action == "pause":
            text = "Pausing after the current spot."
        elif action == "resume":
            text = "Resuming from the first pending spot."
        else:
            text = ("Aborted." if state == "aborted" else
                    "Abort requested: the run stops " +
                    ("now." if action == "abort_now" else "after the current spot."))
    except MeniscusError as error:
        return create_error(str(error), title="Not done")
    return dbc.Alert(text, color="info", duration=5000, className="py-2")
