"""Pieces of the live run page: progress, run controls with their confirmation, faults, and
the latest measured spot (its curve and last IRM frame)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.curves import create_potential_time_figure, create_voltammogram_figure
from components.feedback import create_empty_state
from components.graph_config import graph_config
from core.storage.states import FINAL_RUN_STATES, RunState

#: control button ids → (label, Bootstrap colour)
CONTROLS = {
    "run-pause": ("Pause after this spot", "secondary"),
    "run-resume": ("Resume", "primary"),
    "run-abort-after": ("Abort after this spot", "warning"),
    "run-abort-now": ("Abort now", "danger"),
}
#: control id → the run states it acts on (disabled in every other state): pause an active
#: run; resume a paused or interrupted one; abort any run that has not ended
ENABLED_IN: dict[str, frozenset[RunState]] = {
    "run-pause": frozenset({RunState.ACTIVE}),
    "run-resume": frozenset({RunState.PAUSED, RunState.INTERRUPTED}),
    "run-abort-after": frozenset(RunState) - FINAL_RUN_STATES,
    "run-abort-now": frozenset(RunState) - FINAL_RUN_STATES,
}
#: shown under the (disabled) controls to a role that cannot control runs
CONTROL_REFUSED_NOTE = "Viewers can't pause, resume or abort runs; ask an operator or admin."


def format_duration(seconds: float | None) -> str:
    """``"45 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``; ``"–"`` when unknown."""
    if seconds is None:
        return "–"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def controls_disabled(state: str, *, allowed: bool) -> list[bool]:
    """Disabled flag of each of :data:`CONTROLS`, in order, for a run in ``state`` (a
    :class:`RunState` value); all disabled when the user may not control runs (``allowed``
    False, no :attr:`Permission.CONTROL`)."""
    try:
        run_state = RunState(state)
    except ValueError:
        raise ValueError(f"unknown run state {state!r}: expected one of "
                         f"{', '.join(RunState)}") from None
    return [not (allowed and run_state in ENABLED_IN[key]) for key in CONTROLS]


def progress_numbers(progress: dict) -> tuple[float, str, str]:
    """(percent done, bar label, "elapsed · ETA" text) of a run's progress."""
    total, finished = progress["total"], progress["finished"]
    percent = 100.0 * finished / total if total else 0.0
    current = progress.get("current_order")
    where = f" · measuring visit {current + 1}" if current is not None else ""
    timing = f"elapsed {format_duration(progress.get('elapsed_s'))}"
    if progress.get("eta_s") is not None:
        timing += f" · about {format_duration(progress['eta_s'])} left"
    return percent, f"{finished} / {total} spots", timing + where


def create_run_controls(*, allowed: bool) -> html.Div:
    """Pause, resume and abort buttons (disabled until the first poll says the state); for a
    user who may not control runs (``allowed`` False) they stay disabled, with a note."""
    # all outlined: a filled button reads as "enabled" even when greyed out
    # (``.run-controls`` in assets/meniscus.css fades the disabled ones further)
    buttons = html.Div([dbc.Button(label, id=key, color=colour, outline=True, size="sm",
                                   disabled=True)
                        for key, (label, colour) in CONTROLS.items()],
                       className="run-controls d-flex flex-wrap gap-2 justify-content-lg-end")
    if allowed:
        return buttons
    return html.Div([buttons, html.Div(CONTROL_REFUSED_NOTE, id="run-controls-note",
                                       className="small text-muted text-lg-end mt-1")])


def create_confirm_dialog() -> dbc.Modal:
    """The dialog that asks before an abort (its body is set by the button clicked)."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Abort the run?")),
        dbc.ModalBody(id="run-confirm-body"),
        dbc.ModalFooter([
            dbc.Button("Keep running", id="run-confirm-no", color="secondary", outline=True),
            dbc.Button("Abort", id="run-confirm-yes", color="danger"),
        ]),
    ], id="run-confirm", is_open=False, centered=True)


def create_faults(run_error: str | None, spot_errors: list[dict]) -> list:
    """The run's error and each spot's error (``spot_table`` rows), newest spot first."""
    alerts = []
    if run_error:
        alerts.append(dbc.Alert([html.Strong("Run error: "), run_error], color="danger",
                                className="py-2 mb-2"))
    if spot_errors:
        items = [html.Li([dcc.Link(f"visit {row['order'] + 1}", href=f"/spot/{row['spot_id']}"),
                          f" ({row['state'].replace('_', ' ')}): {row['error']}"])
                 for row in sorted(spot_errors, key=lambda row: -row["order"])]
        alerts.append(dbc.Alert([html.Strong(f"{len(items)} spot fault"
                                             f"{'s' * (len(items) > 1)}:"),
                                 html.Ul(items, className="mb-0 small")],
                                color="warning", className="py-2 mb-2"))
    return alerts


def create_latest_trace(detail) -> list:
    """Curve of the latest measured spot (a ``SpotDetail``), or an empty state."""
    if detail is None or detail.trace is None:
        return [create_empty_state("No spot measured yet",
                                   "Each spot's curve appears here once it is saved.")]
    if detail.technique.get("technique") == "cv":
        figure = create_voltammogram_figure(detail.trace)
    else:
        figure = create_potential_time_figure(detail.trace)
    figure.update_layout(height=280, uirevision=detail.spot_id,
                         # room at the top for Plotly's toolbar, off the curve
                         margin={"l": 60, "r": 10, "t": 30, "b": 40})
    return [html.Div([dcc.Link(f"visit {detail.order + 1}", href=f"/spot/{detail.spot_id}"),
                      f" · {detail.condition} · {detail.state.replace('_', ' ')}"],
                     className="small text-muted"),
            dcc.Graph(figure=figure, id="run-latest-graph",
                      config=graph_config(f"spot_{detail.spot_id}_latest_curve"))]


def latest_frame_src(detail) -> str | None:
    """``/frames/<spot>/<last>.png`` of the latest spot's movie, None without a movie."""
    if detail is None or detail.movie is None or detail.movie.n_frames == 0:
        return None
    return f"/frames/{detail.spot_id}/{detail.movie.n_frames - 1}.png?view=raw"


def create_latest_frame(detail) -> list:
    """The last IRM frame of the latest spot, served by the frame route."""
    src = latest_frame_src(detail)
    if src is None:
        return [create_empty_state("No frame yet", "The last IRM frame of each filmed spot "
                                   "appears here.")]
    return [html.Img(src=src, id="run-latest-frame", className="img-fluid rounded border",
                     alt=f"last IRM frame of spot {detail.spot_id}"),
            html.Div(f"frame {detail.movie.n_frames} of {detail.movie.n_frames}, raw",
                     className="small text-muted")]
