"""Design (``/design``): a grid form with a true-scale preview, checks, YAML files and Launch.

The form maps to a :class:`core.grid.Grid` through :func:`form_to_mapping` (pure, tested
directly); keys the form does not show (move and retract speeds, footprint, camera exposure)
ride along from the last template or file loaded. Every change re-runs the model's checks and
:func:`core.grid.validate_grid`: problems are listed beside the preview, the fields they name
are marked, and Launch stays disabled until there are none. Launch (operators and admins;
viewers see it disabled, with a note) submits as the logged-in user through
:mod:`workers.guarded` (nothing here drives an instrument) and opens ``/run/<run_id>``.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import NamedTuple

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html
from dash.exceptions import PreventUpdate

from components.feedback import create_error
from components.graph_config import graph_config
from components.grid_preview import create_grid_preview
from components.run_live import format_duration
from core.auth.roles import Permission
from core.errors import MeniscusError
from core.grid import (
    Grid,
    GridError,
    estimate_duration,
    grid_from_mapping,
    grid_from_yaml,
    grid_to_mapping,
    grid_to_yaml,
    load_grid,
    validate_grid,
)
from core.results.runs import run_filter_options
from core.storage.ledger import InstrumentBusy
from core.units import UAH_PER_CM2_IN_MC_PER_CM2
from pages._access import current_actor, requires
from pages._context import database_url, submit_settings
from workers import guarded

dash.register_page(__name__, path="/design", name="Design", title="Design · Meniscus")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: template key → (menu label, file); labels short enough to read whole in the toolbar
TEMPLATES = {
    "article_screen": ("Article screen: 8 j × 8 repeats", "article_screen.yaml"),
    "constant_charge": ("Article constant charge: 3 j", "constant_charge.yaml"),
}
DEFAULT_TEMPLATE = "article_screen"

#: form fields: key → (label, unit or None, kind)
FIELDS = {
    "name": ("Name", None, "text"),
    "origin_x_um": ("Origin x", "µm", "number"),
    "origin_y_um": ("Origin y", "µm", "number"),
    "rows": ("Rows", None, "number"),
    "cols": ("Columns", None, "number"),
    "pitch_um": ("Pitch", "µm", "number"),
    "pipette_diameter_um": ("Pipette diameter", "µm", "number"),
    "retract_um": ("Retract", "µm", "number"),
    "approach_speed_um_s": ("Approach speed", "µm/s", "number"),
    "traversal": ("Traversal", None, "select"),
    "assignment": ("Assignment", None, "select"),
    "seed": ("Seed", None, "number"),
    "camera_interval_s": ("Camera interval", "s", "number"),
}
CHOICES = {
    "traversal": (("serpentine", "serpentine"), ("raster", "raster"),
                  ("random", "random (seed)")),
    "assignment": (("row_blocks", "row blocks"), ("interleaved", "interleaved"),
                   ("randomised", "randomised (seed)")),
}
SEEDED = {"traversal": "random", "assignment": "randomised"}
#: shown under the (disabled) Launch button to a role that cannot launch
LAUNCH_REFUSED_NOTE = "Viewers can't launch; ask an operator or admin."

#: condition table columns: key → (header, numeric); technique-specific keys below
CONDITION_COLUMNS = {
    "technique": ("Technique", False),
    "current_density_mA_cm2": ("j (mA/cm²)", True),
    "duration_s": ("Duration (s)", True),
    "charge_uAh_cm2": ("or charge (µAh/cm²)", True),
    "potential_V": ("E (V)", True),
    "upper_V": ("Upper (V)", True),
    "lower_V": ("Lower (V)", True),
    "scan_rate_V_s": ("Scan rate (V/s)", True),
    "cycles": ("Cycles", True),
    "repeats": ("Repeats", True),
    "label": ("Label", False),
}
TECHNIQUE_KEYS = {
    "galvanostatic": ("current_density_mA_cm2", "duration_s", "charge_uAh_cm2"),
    "chronoamperometry": ("potential_V", "duration_s"),
    "cv": ("upper_V", "lower_V", "scan_rate_V_s", "cycles", "start_V"),
}
#: columns shown only when a condition of that technique is in the table
OPTIONAL_COLUMNS = {"potential_V": "chronoamperometry", "upper_V": "cv", "lower_V": "cv",
                    "scan_rate_V_s": "cv", "cycles": "cv"}
INTEGER_KEYS = ("repeats", "cycles", "rows", "cols", "seed")

#: (pattern on a problem's subject, form field it points at)
PROBLEM_FIELDS = (
    (r"\bname\b", "name"), (r"origin|grid spans", "origin_x_um"), (r"grid spans", "origin_y_um"),
    (r"\brows\b|grid has [\d,]+ positions", "rows"),
    (r"\bcols\b|columns|grid has [\d,]+ positions", "cols"),
    (r"\bpitch", "pitch_um"), (r"pipette|footprint_diameter", "pipette_diameter_um"),
    (r"\bretract(?!_speed| speed)", "retract_um"), (r"approach", "approach_speed_um_s"),
    (r"traversal", "traversal"), (r"assignment|row_blocks", "assignment"),
    (r"\bseed\b|needs a seed", "seed"), (r"interval|exposure|camera", "camera_interval_s"),
)


# --- pure helpers -------------------------------------------------------------------------
def template_mapping(key: str) -> dict:
    """The grid of one of :data:`TEMPLATES` as plain data."""
    return grid_to_mapping(load_grid(EXAMPLES / TEMPLATES[key][1]))


def mapping_to_form(mapping: dict) -> tuple[dict, list[dict]]:
    """(form values by :data:`FIELDS` key, condition table rows) for a grid mapping."""
    traversal = _choice(mapping.get("traversal", "serpentine"), "order")
    assignment = _choice(mapping.get("assignment", "interleaved"), "mode")
    origin = mapping.get("origin") or {}
    form = {
        "name": mapping.get("name", ""),
        "origin_x_um": origin.get("x_um", 0.0), "origin_y_um": origin.get("y_um", 0.0),
        **{key: mapping.get(key) for key in ("rows", "cols", "pitch_um", "pipette_diameter_um",
                                             "retract_um", "approach_speed_um_s")},
        "traversal": traversal["order"], "assignment": assignment["mode"],
        "seed": traversal.get("seed", assignment.get("seed")),
        "camera_interval_s": (mapping.get("camera") or {}).get("interval_s", 0.23),
    }
    return form, [dict(condition) for condition in mapping.get("conditions", [])]


def form_to_mapping(form: dict, conditions: list[dict], base: dict | None = None) -> dict:
    """A grid mapping (for :func:`core.grid.grid_from_mapping`) from the form.

    Parameters
    ----------
    form : dict
        Values by :data:`FIELDS` key; empty values (None, "") are left out, so the model
        reports them missing rather than this function guessing.
    conditions : list of dict
        Condition table rows; only the keys of each row's technique are kept.
    base : dict, optional
        The mapping last loaded (template or file): keys the form does not show are kept from
        it; its layout keys (explicit positions, per-axis pitches) are replaced by the form's.
    """
    mapping = {key: value for key, value in (base or {}).items()
               if key not in ("positions", "pitch_x_um", "pitch_y_um")}
    values = {key: _number(key, value) for key, value in form.items()}
    for key in ("name", "rows", "cols", "pitch_um", "pipette_diameter_um", "retract_um",
                "approach_speed_um_s"):
        _put(mapping, key, values.get(key))
    mapping["origin"] = {axis: values.get(f"origin_{axis}") or 0.0 for axis in ("x_um", "y_um")}
    for key, field in (("traversal", "order"), ("assignment", "mode")):
        choice = values.get(key)
        if choice:
            seeded = choice == SEEDED[key] and values.get("seed") is not None
            mapping[key] = {field: choice, **({"seed": values["seed"]} if seeded else {})}
    camera = dict(mapping.get("camera") or {})
    _put(camera, "interval_s", values.get("camera_interval_s"))
    mapping["camera"] = camera
    mapping["conditions"] = [condition_from_row(row) for row in conditions or []]
    return mapping


def condition_from_row(row: dict) -> dict:
    """One condition mapping from a table row: its technique's keys that have a value."""
    technique = row.get("technique") or "galvanostatic"
    condition = {"technique": technique}
    for key in (*TECHNIQUE_KEYS.get(technique, ()), "repeats", "label"):
        value = _number(key, row.get(key)) if key != "label" else row.get(key)
        _put(condition, key, value)
    return condition


def constant_charge_rows(rows: list[dict], charge_uAh_cm2: float) -> list[dict]:
    """Galvanostatic rows with ``duration_s = 3.6 · Q / j`` (s; Q in µAh/cm², j in mA/cm²).

    The durations are written out (not ``charge_uAh_cm2``) so the table shows what will run;
    rows of other techniques, or without a current density, are returned unchanged.
    """
    updated = []
    for row in rows:
        density = _number("current_density_mA_cm2", row.get("current_density_mA_cm2"))
        if (row.get("technique") or "galvanostatic") != "galvanostatic" or not density:
            updated.append(row)
            continue
        duration_s = charge_uAh_cm2 * UAH_PER_CM2_IN_MC_PER_CM2 / density
        updated.append({**row, "duration_s": round(duration_s, 3), "charge_uAh_cm2": None})
    return updated


class DesignCheck(NamedTuple):
    """The grid built from the form (None when it cannot be built) and every problem found."""

    grid: Grid | None
    problems: list[str]


def check_design(mapping: dict) -> DesignCheck:
    """Build the grid and check it against the instrument: the model's problems, else
    :func:`core.grid.validate_grid`'s."""
    try:
        grid = grid_from_mapping(mapping)
    except GridError as error:
        return DesignCheck(None, error.problems)
    return DesignCheck(grid, validate_grid(grid))


def problem_fields(problems: list[str]) -> set[str]:
    """Form fields that the problems name (matched on each sentence's subject)."""
    fields = set()
    for problem in problems:
        subject = re.split(r" is |: |, ", problem, maxsplit=1)[0]
        fields.update(key for pattern, key in PROBLEM_FIELDS if re.search(pattern, subject))
    return fields


def table_columns(rows: list[dict]) -> list[dict]:
    """DataTable columns: the common ones, plus CV/CA columns when such a row is present."""
    present = {row.get("technique") for row in rows}
    return [
        {"id": key, "name": header, "type": "numeric" if numeric else "text",
         "presentation": "dropdown" if key == "technique" else "input"}
        for key, (header, numeric) in CONDITION_COLUMNS.items()
        if key not in OPTIONAL_COLUMNS or OPTIONAL_COLUMNS[key] in present
    ]


def estimate_text(grid: Grid) -> str:
    """"63 spots · about 21 min" with where the time goes."""
    estimate = estimate_duration(grid)
    moving_s = estimate.move_s + estimate.block_change_s + estimate.approach_s + estimate.retract_s
    return (f"{estimate.spots} spots · about {format_duration(estimate.total_s)} "
            f"(measuring {format_duration(estimate.measurement_s)}, moving "
            f"{format_duration(moving_s)}, camera and overheads "
            f"{format_duration(estimate.camera_s + estimate.overhead_s)})")


def _choice(value, field: str) -> dict:
    return {field: value} if isinstance(value, str) else dict(value)


def _number(key: str, value):
    """Typed text to a number where the key is numeric; empty → None; junk kept for the model
    to report (``"abc"`` is not a number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if key not in CONDITION_COLUMNS and (key not in FIELDS or FIELDS[key][2] != "number"):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if key in INTEGER_KEYS and number.is_integer() else number


def _put(target: dict, key: str, value) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


# --- layout -------------------------------------------------------------------------------
def layout(**_query):
    return html.Div([
        dcc.Location(id="design-nav", refresh="callback-nav"),
        dcc.Store(id="design-base"),
        dcc.Download(id="design-download"),
        _toolbar(),
        html.Div(id="design-load-message"),
        dbc.Row([
            dbc.Col([_grid_card(), _conditions_card()], lg=5),
            dbc.Col([_preview_card(), _launch_card()], lg=7),
        ], className="g-3"),
    ])


def _toolbar() -> html.Div:
    return html.Div([
        html.H3("Design a grid", className="mb-0 me-auto"),
        dbc.Select(id="design-template", value=DEFAULT_TEMPLATE, className="w-auto",
                   style={"minWidth": "17rem"},
                   options=[{"label": label, "value": key}
                            for key, (label, _) in TEMPLATES.items()]),
        dcc.Upload(dbc.Button("Load YAML…", color="secondary", outline=True),
                   id="design-upload", accept=".yaml,.yml", multiple=False),
        dbc.Button("Save YAML", id="design-save", color="secondary", outline=True),
    ], className="d-flex align-items-center gap-2 mb-3")


def _field(key: str, width: int = 6) -> dbc.Col:
    label, unit, kind = FIELDS[key]
    if kind == "select":
        control = dbc.Select(id=f"design-{key}", options=[
            {"label": text, "value": value} for value, text in CHOICES[key]])
    else:
        control = dbc.Input(id=f"design-{key}", type=kind, debounce=True,
                            **({"step": "any"} if kind == "number" else {}))
    if unit:
        control = dbc.InputGroup([control, dbc.InputGroupText(unit)], size="sm")
    else:
        control.size = "sm"
    return dbc.Col([dbc.Label(label, html_for=f"design-{key}", className="small mb-0"), control],
                   md=width)


def _grid_card() -> dbc.Card:
    rows = (("name", 12), ("origin_x_um", 6), ("origin_y_um", 6), ("rows", 4), ("cols", 4),
            ("pitch_um", 4), ("pipette_diameter_um", 6), ("retract_um", 6),
            ("approach_speed_um_s", 6), ("camera_interval_s", 6), ("traversal", 5),
            ("assignment", 5), ("seed", 2))
    return dbc.Card(dbc.CardBody([
        html.H6("Layout and motion", className="card-title"),
        dbc.Row([_field(key, width) for key, width in rows], className="g-2"),
    ]), className="mb-3")


def _conditions_card() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H6("Conditions", className="card-title"),
        dash_table.DataTable(
            id="design-conditions", editable=True, row_deletable=True,
            dropdown={"technique": {"clearable": False, "options": [
                {"label": name, "value": name} for name in TECHNIQUE_KEYS]}},
            style_table={"overflowX": "auto"},
            style_cell={"fontSize": "0.8rem", "padding": "2px 6px", "minWidth": "60px"},
            style_header={"fontWeight": "600", "backgroundColor": "#f4f4f4"},
        ),
        dbc.Button("+ condition", id="design-add-condition", size="sm", color="link",
                   className="px-0"),
        html.Div([
            dbc.Label("Constant charge", className="small mb-0 me-2"),
            dbc.InputGroup([
                dbc.Input(id="design-charge", type="number", step="any", placeholder="Q",
                          min=0),
                dbc.InputGroupText("µAh/cm²"),
                dbc.Button("Set durations = Q / j", id="design-apply-charge",
                           color="secondary", outline=True),
            ], size="sm", className="w-auto"),
        ], className="d-flex align-items-center mt-2"),
        html.Div("Duration = 3.6 · Q / j s for each galvanostatic row (Q in µAh/cm², j in "
                 "mA/cm²).", className="small text-muted"),
    ]))


def _preview_card() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        dcc.Graph(id="design-preview", style={"height": "430px"},
                  config=graph_config("grid_preview", responsive=True)),
        html.Div(id="design-estimate", className="small"),
    ]), className="mb-3")


def _launch_card() -> dbc.Card:
    """Instrument picker and Launch (disabled until the form checks out, and always for a
    role that cannot launch, which is told so)."""
    return dbc.Card(dbc.CardBody([
        html.Div(id="design-problems"),
        dbc.Row([
            dbc.Col(dbc.Select(id="design-instrument", size="sm"), md=6),
            dbc.Col(dbc.Button("Launch", id="design-launch", color="primary", disabled=True,
                               className="w-100"), md=6),
        ], className="g-2 align-items-center"),
        None if may_launch() else html.Div(LAUNCH_REFUSED_NOTE, id="design-launch-note",
                                           className="small text-muted mt-1"),
        html.Div(id="design-launch-message", className="mt-2"),
    ]))


def may_launch() -> bool:
    """Whether the logged-in user's role may launch grids (:attr:`Permission.LAUNCH`)."""
    actor = current_actor()
    return actor is not None and actor.can(Permission.LAUNCH)


# --- callbacks ----------------------------------------------------------------------------
FIELD_OUTPUTS = [Output(f"design-{key}", "value") for key in FIELDS]
FIELD_STATES = [State(f"design-{key}", "value") for key in FIELDS]


@callback(
    *FIELD_OUTPUTS,
    Output("design-conditions", "data"),
    Output("design-base", "data"),
    Output("design-load-message", "children"),
    Input("design-template", "value"),
    Input("design-upload", "contents"),
    State("design-upload", "filename"),
)
@requires(Permission.VIEW)
def load_design(template, contents, filename):
    return loaded_form(ctx.triggered_id, template, contents, filename)


def loaded_form(trigger: str | None, template: str | None, contents: str | None,
                filename: str | None) -> tuple:
    """Form values, table rows, base mapping and message after a template pick or an upload
    (``trigger`` says which); a bad file changes nothing and says why."""
    if trigger == "design-upload":
        try:
            mapping = grid_to_mapping(grid_from_yaml(_decode(contents), source=filename))
        except (GridError, ValueError) as error:
            return *[dash.no_update] * (len(FIELDS) + 2), create_error(
                str(error), title=f"Cannot load {filename}")
        message = dbc.Alert(f"Loaded {filename}.", color="success", duration=4000,
                            className="py-2")
    else:
        mapping, message = template_mapping(template or DEFAULT_TEMPLATE), None
    form, rows = mapping_to_form(mapping)
    return *[form[key] for key in FIELDS], rows, mapping, message


@callback(Output("design-conditions", "columns"), Input("design-conditions", "data"))
@requires(Permission.VIEW)
def show_columns(rows):
    return table_columns(rows or [])


@callback(
    Output("design-conditions", "data", allow_duplicate=True),
    Input("design-add-condition", "n_clicks"),
    Input("design-apply-charge", "n_clicks"),
    State("design-conditions", "data"),
    State("design-charge", "value"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def edit_conditions(_add, _apply, rows, charge):
    return edited_conditions(ctx.triggered_id, rows, charge)


def edited_conditions(trigger: str | None, rows: list[dict] | None, charge) -> list[dict]:
    """Rows after "+ condition" (a copy of the last) or the constant-charge helper."""
    rows = list(rows or [])
    if trigger == "design-add-condition":
        last = rows[-1] if rows else {"technique": "galvanostatic",
                                      "current_density_mA_cm2": 1.0, "duration_s": 5.0}
        return [*rows, {**last, "label": None}]
    if not charge or charge <= 0:
        raise PreventUpdate
    return constant_charge_rows(rows, float(charge))


@callback(
    Output("design-preview", "figure"),
    Output("design-estimate", "children"),
    Output("design-problems", "children"),
    Output("design-launch", "disabled"),
    *[Output(f"design-{key}", "invalid") for key in FIELDS],
    *[Input(f"design-{key}", "value") for key in FIELDS],
    Input("design-conditions", "data"),
    State("design-base", "data"),
)
@requires(Permission.VIEW)
def check_form(*args):
    """Preview, estimate and problems for the form as it stands."""
    *values, rows, base = args
    check = check_design(form_to_mapping(dict(zip(FIELDS, values, strict=True)), rows, base))
    figure, estimate = dash.no_update, ""
    if check.grid is not None:
        try:
            figure, estimate = create_grid_preview(check.grid), estimate_text(check.grid)
        except GridError as error:  # too many spots to plan
            check = DesignCheck(None, check.problems or error.problems)
    marked = problem_fields(check.problems)
    return (figure, estimate, problems_view(check.problems),
            bool(check.problems) or not may_launch(),
            *[key in marked for key in FIELDS])


def problems_view(problems: list[str]):
    """The problems as one warning list, or a quiet "ready" line."""
    if not problems:
        return html.Div("✓ Checked against the instrument's limits: ready to launch.",
                        className="small text-success mb-2")
    return dbc.Alert([html.Strong(f"{len(problems)} problem{'s' * (len(problems) > 1)} "
                                  "to fix before launch:"),
                      html.Ul([html.Li(text) for text in problems], className="mb-0 small")],
                     color="warning", className="py-2", id="design-problem-list")


@callback(Output("design-instrument", "options"), Output("design-instrument", "value"),
          Input("design-template", "id"))
@requires(Permission.VIEW)
def list_instruments(_):
    names = run_filter_options(database_url())["instruments"] or ["sim"]
    return [{"label": f"instrument: {name}", "value": name} for name in names], (
        "sim" if "sim" in names else names[0])


@callback(
    Output("design-download", "data"),
    Input("design-save", "n_clicks"),
    *FIELD_STATES, State("design-conditions", "data"), State("design-base", "data"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def save_design(_clicks, *args):
    *values, rows, base = args
    check = check_design(form_to_mapping(dict(zip(FIELDS, values, strict=True)), rows, base))
    if check.grid is None:
        raise PreventUpdate
    filename = re.sub(r"[^\w.-]+", "_", check.grid.name).strip("_") or "grid"
    return {"content": grid_to_yaml(check.grid), "filename": f"{filename}.yaml"}


@callback(
    Output("design-nav", "href"),
    Output("design-launch-message", "children"),
    Input("design-launch", "n_clicks"),
    *FIELD_STATES, State("design-conditions", "data"), State("design-base", "data"),
    State("design-instrument", "value"),
    prevent_initial_call=True,
)
@requires(Permission.LAUNCH)
def launch(_clicks, *args):
    """Submit the grid as the logged-in user and open its run page; a refusal is shown in
    the page."""
    *values, rows, base, instrument = args
    check = check_design(form_to_mapping(dict(zip(FIELDS, values, strict=True)), rows, base))
    if check.grid is None or check.problems:
        return dash.no_update, create_error("; ".join(check.problems), title="Not launched")
    try:
        submission = guarded.launch(current_actor(), check.grid, settings=submit_settings(),
                                    instrument=instrument or "sim")
    except InstrumentBusy as error:
        return dash.no_update, dbc.Alert([html.Strong("Instrument busy: "), str(error), " ",
                                          dcc.Link("See the active run", href="/run")],
                                         color="danger", className="py-2")
    except MeniscusError as error:
        return dash.no_update, create_error(str(error), title="Not launched")
    return f"/run/{submission.run_id}", None


def _decode(contents: str) -> str:
    try:
        return base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
    except (IndexError, binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"not a UTF-8 text file ({error})") from error
