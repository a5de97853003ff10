import base64

import dash
import pytest
from dash.exceptions import PreventUpdate

from core.grid import grid_from_mapping, load_grid
from core.storage.ledger import InstrumentBusy
from tests.components.tree import find, find_one, text
from workers.submit import Submission


@pytest.fixture
def design(dash_app, page, empty_database):
    """The design page, its callbacks run as the admin of ``empty_database``'s context."""
    return page("design")


def _form(design, template="article_screen"):
    out = design.loaded_form(None, template, None, None)
    form = dict(zip(design.FIELDS, out[: len(design.FIELDS)], strict=True))
    return form, out[len(design.FIELDS)], out[len(design.FIELDS) + 1]


@pytest.mark.parametrize("template", ["article_screen", "constant_charge"])
def test_the_form_maps_back_to_the_template_grid(design, template):
    form, rows, base = _form(design, template)
    mapping = design.form_to_mapping(form, rows, base)
    assert grid_from_mapping(mapping) == load_grid(f"examples/{template}.yaml")


def test_form_edits_reach_the_grid_and_hidden_keys_ride_along(design):
    form, rows, base = _form(design)
    form.update(rows="1", cols=2, pitch_um="20", traversal="random", seed=4,
                assignment="interleaved", camera_interval_s=0.5)
    rows = [{**rows[0], "duration_s": "0.5", "repeats": 2, "charge_uAh_cm2": None}]
    grid = grid_from_mapping(design.form_to_mapping(form, rows, base))
    assert (grid.rows, grid.cols, grid.pitch_um) == (1, 2, 20.0)
    assert grid.traversal.order == "random" and grid.traversal.seed == 4
    assert grid.assignment.seed is None  # the seed goes to the seeded choice only
    assert grid.conditions[0].duration_s == 0.5 and grid.conditions[0].repeats == 2
    assert grid.camera.interval_s == 0.5 and grid.camera.exposure_ms == 100.0
    assert grid.move_speed_um_s == 2.0


def test_condition_rows_keep_only_their_techniques_keys(design):
    row = {"technique": "cv", "upper_V": 1.47, "lower_V": "-0.27", "scan_rate_V_s": 0.1,
           "cycles": 3.0, "current_density_mA_cm2": 1.0, "duration_s": 5, "repeats": 2,
           "label": None}
    assert design.condition_from_row(row) == {
        "technique": "cv", "upper_V": 1.47, "lower_V": -0.27, "scan_rate_V_s": 0.1,
        "cycles": 3, "repeats": 2}
    columns = [c["id"] for c in design.table_columns([row])]
    assert "upper_V" in columns and "potential_V" not in columns
    galvanostatic = design.table_columns([{"technique": "galvanostatic"}])
    assert "upper_V" not in [c["id"] for c in galvanostatic]


def test_constant_charge_helper_sets_durations_from_q_over_j(design):
    rows = [{"technique": "galvanostatic", "current_density_mA_cm2": 0.2, "duration_s": 1},
            {"technique": "galvanostatic", "current_density_mA_cm2": 3.82, "charge_uAh_cm2": 2},
            {"technique": "chronoamperometry", "potential_V": -0.1, "duration_s": 4}]
    updated = design.constant_charge_rows(rows, 3.33)
    assert updated[0]["duration_s"] == 59.94  # 3.6 · 3.33 / 0.2
    assert updated[1]["duration_s"] == 3.138 and updated[1]["charge_uAh_cm2"] is None
    assert updated[2] == rows[2]
    assert design.edited_conditions("design-apply-charge", rows, 3.33) == updated
    with pytest.raises(PreventUpdate):
        design.edited_conditions("design-apply-charge", rows, None)
    added = design.edited_conditions("design-add-condition", rows[:1], None)
    assert len(added) == 2 and added[1]["current_density_mA_cm2"] == 0.2


def test_a_bad_pitch_is_shown_next_to_the_form_and_blocks_launch(design):
    form, rows, base = _form(design)
    ok = design.check_form(*form.values(), rows, base)
    assert ok[3] is False and "ready to launch" in text(ok[2])
    assert "63 spots · about 20 min 57 s" in ok[1]
    form["pitch_um"] = 5
    _, _, problems, disabled, *invalid = design.check_form(*form.values(), rows, base)
    assert disabled is True
    assert "pitch 5.0 µm is smaller than the footprint 6.0 µm + 2.0 µm margin" in text(problems)
    assert dict(zip(design.FIELDS, invalid, strict=True)) == {
        key: key == "pitch_um" for key in design.FIELDS}
    form["pitch_um"] = -1
    *_, problems, disabled = design.check_form(*form.values(), rows, base)[:4]
    assert disabled is True and "pitch_um is -1 µm; it must be greater than 0 µm" in text(
        problems)


def test_problem_fields_follow_the_problems_subjects(design):
    assert design.problem_fields([
        "retract 1.0 µm is less than 3.0 µm (0.5 × the 6.0 µm footprint) needed to lift",
        "approach speed 20 µm/s is above the 10 µm/s at which the contact stop is safe",
        "the grid has 1 rows for 8 conditions; row_blocks runs one condition per row",
        "conditions[0] (0.22 mA/cm² × 5 s): measurement 900 s is longer than the 600 s limit",
        "grid has 20,000 positions (100 × 200), more than the 10,000 the instrument allows",
    ]) == {"retract_um", "approach_speed_um_s", "rows", "cols", "assignment"}


def test_templates_and_uploads_fill_the_form(design):
    form, rows, _ = _form(design, "constant_charge")
    assert (form["rows"], form["cols"], form["pitch_um"]) == (1, 3, 20.0)
    assert [row["duration_s"] for row in rows] == [60.0, 15.0, 3.0]
    yaml_text = open("examples/constant_charge.yaml", encoding="utf-8").read()
    upload = "data:application/x-yaml;base64," + base64.b64encode(yaml_text.encode()).decode()
    out = design.loaded_form("design-upload", "article_screen", upload, "cc.yaml")
    assert out[len(design.FIELDS)][2]["current_density_mA_cm2"] == 3.82
    assert "Loaded cc.yaml" in text(out[-1])
    bad = "data:x;base64," + base64.b64encode(b"name: x\npitch_um: [").decode()
    out = design.loaded_form("design-upload", "article_screen", bad, "bad.yaml")
    assert all(value is dash.no_update for value in out[:-1])
    assert "Cannot load bad.yaml" in text(out[-1]) and "not valid YAML" in text(out[-1])


def test_save_gives_the_yaml_of_the_form(design):
    form, rows, base = _form(design, "constant_charge")
    download = design.save_design(1, *form.values(), rows, base)
    assert download["filename"] == "article_constant-charge_series.yaml"
    assert grid_from_mapping(__import__("yaml").safe_load(download["content"])) == load_grid(
        "examples/constant_charge.yaml")


def test_launch_submits_the_grid_and_opens_its_run(design, empty_database, monkeypatch):
    calls = []

    def submit(actor, grid, **options):
        calls.append((actor, grid, options))
        return Submission(run_id=7, spot_count=63, estimate_s=1257.0)

    monkeypatch.setattr(design.guarded, "launch", submit)
    form, rows, base = _form(design)
    href, message = design.launch(1, *form.values(), rows, base, "sim")
    assert href == "/run/7" and message is None
    actor, grid, options = calls[0]
    assert actor.name == "tester"  # the logged-in user launches: the run's operator
    assert grid == load_grid("examples/article_screen.yaml")
    assert options["instrument"] == "sim"
    assert options["settings"].resolved_database_url == empty_database

    def busy(actor, grid, **options):
        raise InstrumentBusy("instrument sim is running run 3")

    monkeypatch.setattr(design.guarded, "launch", busy)
    href, message = design.launch(1, *form.values(), rows, base, "sim")
    assert href is dash.no_update
    assert "instrument sim is running run 3" in text(message)
    assert "Instrument busy" in text(message) and "See the active run" in text(message)
    form["pitch_um"] = 5
    href, message = design.launch(1, *form.values(), rows, base, "sim")
    assert href is dash.no_update and "Not launched" in text(message)


def test_the_instrument_picker_lists_registered_instruments(design, small_run):
    options, value = design.list_instruments("design-template")
    assert [o["value"] for o in options] == ["rig-2", "sim"] and value == "sim"


def test_a_viewer_sees_launch_disabled_with_a_note(design):
    from flask import g

    from core.auth.roles import Actor, Role

    form, rows, base = _form(design)
    assert design.check_form(*form.values(), rows, base)[3] is False  # the admin may launch
    assert find(design.layout(), id="design-launch-note") == []
    g.meniscus_actor = Actor("vera", Role.VIEWER, user_id=None, ip="127.0.0.1")
    assert design.check_form(*form.values(), rows, base)[3] is True
    note = find_one(design.layout(), id="design-launch-note")
    assert note.children == "Viewers can't launch; ask an operator or admin."


def test_the_preview_downloads_as_grid_preview(design):
    preview = find_one(design.layout(), id="design-preview")
    assert preview.config["toImageButtonOptions"]["filename"] == "grid_preview"
    assert preview.config["responsive"] is True and preview.config["displaylogo"] is False
