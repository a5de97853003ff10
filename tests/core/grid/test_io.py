"""Grid files: YAML/JSON round trips, load errors naming the file, the examples, grid_hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from core.grid import (
    Grid,
    GridError,
    InstrumentLimits,
    canonical_json,
    grid_from_json,
    grid_from_yaml,
    grid_hash,
    grid_to_json,
    grid_to_yaml,
    load_grid,
    plan_spots,
    save_grid,
    validate_grid,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

SMALL_YAML = """\
name: small
rows: 2
cols: 2
pitch_um: 12
pipette_diameter_um: 6
retract_um: 8
approach_speed_um_s: 2
traversal: {order: random, seed: 4}
assignment: {mode: randomised, seed: 9}
conditions:
  - {technique: galvanostatic, current_density_mA_cm2: 0.5, charge_uAh_cm2: 1.0, repeats: 2}
  - {technique: cv, upper_V: 1.47, lower_V: -0.27, scan_rate_V_s: 0.1, cycles: 2, repeats: 1}
  - {technique: chronoamperometry, potential_V: -0.05, duration_s: 10, repeats: 1, label: hold}
"""


def test_yaml_round_trip(tmp_path):
    grid = grid_from_yaml(SMALL_YAML)
    path = save_grid(grid, tmp_path / "small.yaml")
    again = load_grid(path)
    assert again == grid
    assert plan_spots(again) == plan_spots(grid)
    assert grid_hash(again) == grid_hash(grid)
    assert [p.name for p in tmp_path.iterdir()] == ["small.yaml"]  # no temporary left behind


def test_json_round_trip(tmp_path):
    grid = grid_from_yaml(SMALL_YAML)
    path = save_grid(grid, tmp_path / "small.json")
    assert json.loads(path.read_text())["conditions"][2]["label"] == "hold"
    assert load_grid(path) == grid
    assert grid_from_json(grid_to_json(grid)) == grid


def test_saved_files_spell_out_defaults_and_omit_unset_options():
    text = grid_to_yaml(grid_from_yaml(SMALL_YAML))
    assert "move_speed_um_s: 2.0" in text
    assert "camera:\n  enabled: true\n  exposure_ms: 100.0\n  interval_s: 0.23\n" in text
    assert "footprint_diameter_um" not in text and "null" not in text


def test_hash_is_pinned_for_provenance():
    # pinned: changing the canonical form orphans every stored run's design fingerprint
    assert grid_hash(grid_from_yaml(SMALL_YAML)) == (
        "b92185173ee8f62abe68e02d3c9f50d5e65677e6511ddea89c5a41054178f229"
    )


def test_hash_ignores_spelling_but_not_content():
    grid = grid_from_yaml(SMALL_YAML)
    data = json.loads(canonical_json(grid))
    reordered = dict(reversed(list(data.items())))
    spelled_out = {**data, "move_speed_um_s": 2, "traversal": {"order": "random", "seed": 4}}
    assert grid_hash(Grid.model_validate(reordered)) == grid_hash(grid)
    assert grid_hash(Grid.model_validate(spelled_out)) == grid_hash(grid)
    changed = Grid.model_validate({**data, "retract_um": 8.5})
    assert grid_hash(changed) != grid_hash(grid)
    assert len(grid_hash(grid)) == 64 and int(grid_hash(grid), 16) >= 0


def test_load_errors_name_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(SMALL_YAML.replace("pitch_um", "pich_um"))
    with pytest.raises(GridError) as caught:
        load_grid(path)
    assert str(caught.value) == f"{path}: unknown key 'pich_um' in grid (did you mean 'pitch_um'?)"
    assert caught.value.source == str(path)


def test_duplicate_keys_are_errors(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(SMALL_YAML + "pitch_um: 20\n")
    with pytest.raises(
        GridError, match=r"not valid YAML: duplicate key 'pitch_um' at line 14, column 1$"
    ):
        load_grid(path)
    with pytest.raises(GridError, match=r"^not valid JSON: duplicate key 'rows'$"):
        grid_from_json('{"rows": 2, "rows": 3}')


def test_malformed_files(tmp_path):
    with pytest.raises(
        GridError,
        match=r"^not valid YAML: expected .,. or .\]., but got .<stream end>. at line 3, column 1$",
    ):
        grid_from_yaml("name: x\nrows: [1, 2\n")
    with pytest.raises(GridError, match=r"^not valid JSON: Expecting value at line 1, column 1$"):
        grid_from_json("nope")
    with pytest.raises(
        GridError, match=r"holds a mapping of keys \(name, rows, \.\.\.\), not list"
    ):
        grid_from_yaml("- 1\n- 2\n")
    with pytest.raises(
        GridError, match=r"unknown grid file type '\.txt'; use \.yaml, \.yml or \.json"
    ):
        load_grid(tmp_path / "grid.txt")
    with pytest.raises(GridError, match=r"cannot read the file"):
        load_grid(tmp_path / "missing.yaml")


def test_date_like_names_stay_text():
    grid = grid_from_yaml(SMALL_YAML.replace("name: small", "name: 2024-06-01"))
    assert grid.name == "2024-06-01"


# --- the article's examples -------------------------------------------------------------------


def test_article_screen_example():
    grid = load_grid(EXAMPLES / "article_screen.yaml")
    assert validate_grid(grid) == []
    assert validate_grid(grid, InstrumentLimits(coarse_xy_travel_um=0.0)) == []
    spots = plan_spots(grid)
    assert len(spots) == 63
    densities = [c.current_density_mA_cm2 for c in grid.conditions]
    assert densities == [0.22, 0.39, 0.53, 0.72, 0.97, 1.31, 1.78, 2.92]
    assert [c.repeats for c in grid.conditions] == [7, 8, 8, 8, 8, 8, 8, 8]
    assert {s.duration_s for s in spots} == {5.0}
    assert all(s.condition == s.row for s in spots)  # row blocks
    assert [(s.row, s.col) for s in spots[5:10]] == [(0, 5), (0, 6), (1, 7), (1, 6), (1, 5)]
    assert (grid.pitch_um, grid.pipette_diameter_um, grid.retract_um) == (11.0, 6.0, 8.0)
    assert grid.approach_speed_um_s == 2.0
    # 2.92 mA/cm² over a 6 µm disc
    assert_allclose(max(s.current_A for s in spots), 2.92e-3 * 3.141592653589793 * 9e-8)


def test_constant_charge_example():
    grid = load_grid(EXAMPLES / "constant_charge.yaml")
    assert validate_grid(grid) == []
    spots = plan_spots(grid)
    assert [s.current_density_mA_cm2 for s in spots] == [0.20, 0.78, 3.82]
    assert [s.duration_s for s in spots] == [60.0, 15.0, 3.0]
    charges = [s.technique["charge_uAh_cm2"] for s in spots]
    assert_allclose(charges, [12.0 / 3.6, 11.7 / 3.6, 11.46 / 3.6], rtol=1e-12)
    assert all(3.18 <= q <= 3.34 for q in charges)
    assert grid.pipette_diameter_um == 10.0
