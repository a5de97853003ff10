"""SEM import (``/import/<run_id>``): drop SEM images of footprints, place each on its spot,
analyse them.

1. Drop files (or pick them): each is checked at once (size, type, that it reads) and shown
   with the spot its name gives (``r3c12``, ``row3_col12``: rows and columns from 0 as on the
   Spot page; ``spot42``: visiting order from 0) and its pixel size from its metadata; a
   dropdown picks the spot by hand, a field takes the pixel size where the file has none.
2. Analyse (operators): the files are stored under generated names, registered to their spots
   and their ``sem`` analysis queued to the analysis workers (:func:`workers.guarded.import_sem`).
3. The page follows each file until its analysis is stored: particle count, density and mean
   diameter, with a link to the spot. Problems are shown per file, naming it.
"""

from __future__ import annotations

from dataclasses import asdict

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_error
from components.run_header import create_run_header
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.results.runs import RunRow
from core.results.sem_import import (
    FilePreview,
    ImageStatus,
    ImportOutcome,
    SemUpload,
    image_statuses,
    preview_sem_file,
    spot_choices,
)
from core.storage.uploads import (
    ALLOWED_EXTENSIONS,
    UploadRefused,
    decode_data_url,
    display_name,
    max_upload_bytes,
)
from pages._access import current_actor, requires
from pages._context import database_url, run_page, submit_settings
from workers import guarded

dash.register_page(__name__, path_template="/import/<run_id>", name="SEM import",
                   title="SEM import · Meniscus")

UPLOAD_ID = "sem-upload"
RUN_ID = "sem-import-run"
FILES_ID = "sem-import-files"
ANALYSE_ID = "sem-import-analyse"
RESULTS_ID = "sem-import-results"
OUTCOMES_ID = "sem-import-outcomes"
POLL_ID = "sem-import-poll"
SPOT_PICKER = "sem-import-spot"
PIXEL_INPUT = "sem-import-pixel"
POLL_MS = 2000
STATE_COLOURS = {"queued": "secondary", "done": "success", "failed": "danger",
                 "refused": "danger"}


def layout(run_id: str | None = None, **_query):
    return run_page(run_id, import_view)


def import_view(run: RunRow) -> html.Div:
    """The SEM import page of ``run``: the drop zone, the spot choice and the outcomes."""
    limit_mb = submit_settings().max_upload_mb
    actor = current_actor()
    may_import = actor is not None and actor.can(Permission.IMPORT)
    return html.Div([
        create_run_header(run, current="import"),
        html.P([
            "Drop SEM images of this run's footprints: TIFF from FEI/Thermo or Zeiss (pixel "
            "size read from the file), or PNG/JPEG with the pixel size entered. The spot comes "
            "from the file name — ", html.Code("r3c12"), ", ", html.Code("row3_col12"), " or ",
            html.Code("spot42"), " (rows and columns from 0 as on the Spot page; spot42 is "
            "the visiting order from 0, visit 43 there) — or is picked by hand. Files travel "
            f"base64-encoded in one request of at most {limit_mb:g} MB: about "
            f"{limit_mb * 3 / 4:.0f} MB of images per drop.",
        ], className="text-muted small"),
        dcc.Store(id=RUN_ID, data=run.id),
        dcc.Store(id=OUTCOMES_ID, data=[]),
        dcc.Upload(
            id=UPLOAD_ID, multiple=True, accept=",".join(ALLOWED_EXTENSIONS),
            children=html.Div(["Drag and drop SEM images here, or ",
                               html.A("choose files", href="#")]),
            className="upload-zone mb-3",
            style={"border": "2px dashed #adb5bd", "borderRadius": "0.5rem",
                   "padding": "2rem", "textAlign": "center", "cursor": "pointer"},
            disabled=not may_import),
        None if may_import else dbc.Alert(
            "Importing needs the operator role; you can follow results here.",
            color="secondary", className="py-2"),
        dcc.Loading(html.Div(id=FILES_ID)),
        dbc.Button("Analyse", id=ANALYSE_ID, color="primary", className="my-2",
                   disabled=True),
        dcc.Loading(html.Div(id=RESULTS_ID)),
        dcc.Interval(id=POLL_ID, interval=POLL_MS, disabled=True),
    ])


@callback(Output(FILES_ID, "children"), Output(ANALYSE_ID, "disabled"),
          Input(UPLOAD_ID, "contents"), State(UPLOAD_ID, "filename"), State(RUN_ID, "data"),
          prevent_initial_call=True)
@requires(Permission.IMPORT)
def show_files(contents, names, run_id):
    """Check each dropped file and show it with its spot and pixel size."""
    if not contents:
        raise PreventUpdate
    url, limit = database_url(), max_upload_bytes(submit_settings().max_upload_mb)
    previews = []
    for content, name in zip(contents, names, strict=True):
        try:
            data = decode_data_url(content, name, max_bytes=limit)
        except UploadRefused as error:
            shown = display_name(name)
            previews.append(FilePreview(shown, 0, error=str(error).removeprefix(f"{shown}: ")))
            continue
        previews.append(preview_sem_file(url, run_id, name, data, max_bytes=limit))
    choices = [{"label": choice.label, "value": choice.spot_id}
               for choice in spot_choices(url, run_id)]
    return files_table(previews, choices), all(p.error is not None for p in previews)


def files_table(previews: list[FilePreview], choices: list[dict]) -> dbc.Table:
    """One row per dropped file: name, size, spot picker, pixel size, problem."""
    header = html.Thead(html.Tr([html.Th(text) for text in (
        "file", "size", "spot", "pixel size (nm)", "")]))
    rows = []
    for index, preview in enumerate(previews):
        spot = dcc.Dropdown(
            id={"type": SPOT_PICKER, "index": index}, options=choices,
            value=preview.spot.spot_id if preview.spot else None,
            placeholder="pick the spot", disabled=preview.error is not None,
            style={"minWidth": "16rem"})
        pixel = dbc.Input(
            id={"type": PIXEL_INPUT, "index": index}, type="number", min=0, step="any",
            value=None, size="sm", disabled=preview.error is not None,
            placeholder=(f"{preview.pixel_size_nm:.4g} (from file)"
                         if preview.pixel_size_nm else "needed"),
            invalid=preview.error is None and preview.pixel_size_nm is None)
        notes = [text for text in (preview.error, preview.spot_error) if text]
        rows.append(html.Tr([
            html.Td(preview.name, className="text-break"),
            html.Td(f"{preview.size_bytes / 1e6:.1f} MB"),
            html.Td(spot), html.Td(pixel, style={"maxWidth": "10rem"}),
            html.Td(html.Span("; ".join(notes),
                              className="text-danger" if preview.error else "text-warning"),
                    className="small"),
        ]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True,
                     className="align-middle")


@callback(Output(RESULTS_ID, "children"), Output(OUTCOMES_ID, "data"),
          Output(POLL_ID, "disabled"), Output(ANALYSE_ID, "disabled", allow_duplicate=True),
          Input(ANALYSE_ID, "n_clicks"), State(UPLOAD_ID, "contents"),
          State(UPLOAD_ID, "filename"), State({"type": SPOT_PICKER, "index": ALL}, "value"),
          State({"type": PIXEL_INPUT, "index": ALL}, "value"), State(RUN_ID, "data"),
          prevent_initial_call=True)
@requires(Permission.IMPORT)
def analyse(n_clicks, contents, names, spot_ids, pixel_sizes, run_id):
    """Import the dropped files to their spots and queue their analysis; the button stays
    disabled until other files are dropped (no accidental second import)."""
    if not n_clicks or not contents:
        raise PreventUpdate
    settings = submit_settings()
    limit = max_upload_bytes(settings.max_upload_mb)
    uploads, refused = [], []
    for content, name, spot_id, pixel in zip(contents, names, spot_ids, pixel_sizes,
                                             strict=True):
        try:
            data = decode_data_url(content, name, max_bytes=limit)
        except UploadRefused as error:
            refused.append(ImportOutcome(display_name(name), spot_id, error=str(error)))
            continue
        uploads.append(SemUpload(name, data, spot_id=spot_id,
                                 pixel_size_nm=float(pixel) if pixel else None))
    try:
        outcomes = guarded.import_sem(current_actor(), run_id, uploads, settings=settings)
    except MeniscusError as error:
        return create_error(str(error), title="Nothing imported"), [], True, False
    outcomes = refused + outcomes
    table, finished = _results(outcomes)
    return table, [asdict(outcome) for outcome in outcomes], finished, True


@callback(Output(RESULTS_ID, "children", allow_duplicate=True),
          Output(POLL_ID, "disabled", allow_duplicate=True),
          Input(POLL_ID, "n_intervals"), State(OUTCOMES_ID, "data"),
          prevent_initial_call=True)
@requires(Permission.VIEW)
def follow(_n_intervals, outcomes):
    """Refresh the status of the imported files until every analysis is stored."""
    if not outcomes:
        raise PreventUpdate
    return _results([ImportOutcome(**outcome) for outcome in outcomes])


def _results(outcomes: list[ImportOutcome]) -> tuple[dbc.Table, bool]:
    """The results table and whether every analysis has ended (polling stops)."""
    image_ids = [outcome.image_id for outcome in outcomes if outcome.image_id is not None]
    statuses = image_statuses(database_url(), image_ids) if image_ids else []
    return (results_table(outcomes, statuses),
            all(status.state != "queued" for status in statuses))


def results_table(outcomes: list[ImportOutcome], statuses: list[ImageStatus]) -> dbc.Table:
    """One row per file: its spot, where its analysis stands and, once done, its numbers."""
    by_image = {status.image_id: status for status in statuses}
    header = html.Thead(html.Tr([html.Th(text) for text in (
        "file", "spot", "status", "particles", "density (cm⁻²)", "mean d (nm)", "")]))
    rows = []
    for outcome in outcomes:
        status = by_image.get(outcome.image_id)
        state = "refused" if status is None else status.state
        problem = outcome.error if status is None else status.error
        spot = (dcc.Link(f"spot {outcome.spot_id}", href=f"/spot/{outcome.spot_id}")
                if status is not None else "—")
        rows.append(html.Tr([
            html.Td(outcome.name, className="text-break"), html.Td(spot),
            html.Td(dbc.Badge(state, color=STATE_COLOURS[state], pill=True)),
            html.Td(_number(status, "count", "d")),
            html.Td(_number(status, "density_per_cm2", ".3g")),
            html.Td(_number(status, "mean_diameter_nm", ".1f")),
            html.Td(html.Span(problem or "", className="text-danger small")),
        ]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True,
                     className="align-middle")


def _number(status: ImageStatus | None, field: str, spec: str) -> str:
    value = None if status is None else getattr(status, field)
    return "—" if value is None else format(value, spec)

