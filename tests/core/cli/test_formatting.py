"""JSON and table output of the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from core.cli.formatting import MISSING, fixed, json_ready, print_json, si_prefix, table


def test_json_ready_turns_numpy_and_non_finite_values_into_plain_json():
    value = {
        "ce": float("nan"),
        "q": np.float32(0.5),
        "n": np.int64(3),
        "ok": np.bool_(True),
        "arr": np.array([1.0, np.inf]),
        "nested": [(np.nan, -np.inf), {"path": Path("a/b.csv")}],
        7: None,
    }
    assert json_ready(value) == {
        "ce": None,
        "q": 0.5,
        "n": 3,
        "ok": True,
        "arr": [1.0, None],
        "nested": [[None, None], {"path": "a/b.csv"}],
        "7": None,
    }


def test_print_json_writes_exactly_one_line_of_strict_json():
    stream = io.StringIO()
    print_json({"cycles": [{"ce": np.nan, "q_c_C": np.float64(1e-9)}], "unit": "µAh/cm²"}, stream)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "NaN" not in text and "µAh/cm²" in text
    assert json.loads(text) == {"cycles": [{"ce": None, "q_c_C": 1e-9}], "unit": "µAh/cm²"}


def test_si_prefix_puts_the_largest_value_between_1_and_1000():
    assert si_prefix([2.1e-9, 5e-10], "C") == (1e-9, "nC")
    assert si_prefix([999e-6], "A") == (1e-6, "µA")
    assert si_prefix([1e-3, None, float("nan")], "A") == (1e-3, "mA")
    assert si_prefix([12.0], "C") == (1.0, "C")
    assert si_prefix([0.0, None], "C") == (1.0, "C")
    assert si_prefix([3e-18], "C") == (1e-15, "fC")


def test_fixed_and_table_alignment():
    assert fixed(None, 3) == fixed(float("nan"), 3) == MISSING
    assert fixed(-0.13512, 3) == "-0.135"
    text = table(["name", "value", "unit"], [["E_nuc", "-0.1350", "V"], ["Q", "0.85", "µAh"]],
                 align="lrl")  # fmt: skip
    assert text.splitlines() == [
        "  name     value  unit",
        "  E_nuc  -0.1350  V",
        "  Q         0.85  µAh",
    ]
