from datetime import UTC, datetime

import dash_bootstrap_components as dbc

from components import analysis_panel as panel
from core.analysis.parameters import PARAMETERS
from core.results.spot_detail import AnalysisVersion
from tests.components.tree import find, find_one, text

WHEN = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_the_form_holds_each_option_with_its_range_and_the_versions():
    versions = [AnalysisVersion(2, WHEN, "0.1.0", {"min_snr": 4.0}, failed=True),
                AnalysisVersion(1, WHEN, "0.1.0", {}, failed=False)]
    form = panel.create_reanalysis_form("ce_irm", PARAMETERS["ce_irm"],
                                        {"average_s": 0.0, "min_snr": 3.0}, allowed=True,
                                        versions=versions)
    snr = find_one(form, id={"type": panel.PARAM, "kind": "ce_irm", "name": "min_snr"})
    assert snr.value == 3.0 and snr.type == "number"
    words = text(form)
    assert "0 < min_snr ≤ 100" in words and "0 ≤ average_s ≤ 10 s" in words
    rows = [item for item in find(form) if getattr(item, "children", None) and
            isinstance(item, dbc.Badge)]
    assert [badge.children for badge in rows] == ["failed"]  # only version 2 failed
    assert "min_snr = 4" in words and "defaults" in words
    assert not find_one(form, id={"type": panel.RUN_BUTTON, "kind": "ce_irm"}).disabled


def test_boolean_options_are_switches_and_an_empty_history_says_so():
    form = panel.create_reanalysis_form("cv", PARAMETERS["cv"],
                                        {"cathodic_current_negative": False,
                                         "min_amplitude_V": 0.1}, allowed=False, versions=[])
    switch = find_one(form, id={"type": panel.PARAM, "kind": "cv",
                                "name": "cathodic_current_negative"})
    assert isinstance(switch, dbc.Switch) and switch.value is False
    assert "No version stored yet." in text(form)
    assert find_one(form, id={"type": panel.RUN_BUTTON, "kind": "cv"}).disabled
