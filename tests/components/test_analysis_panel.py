from datetime import UTC, datetime

import dash_bootstrap_components as dbc

from components import analysis_panel as panel
from core.analysis.parameters import PARAMETERS
from core.results.spot_detail import AnalysisInfo, AnalysisVersion
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


def test_array_kinds_get_no_item_and_their_scalar_kind_does():
    def info(kind, results):
        return AnalysisInfo(kind, 1, {"min_snr": 3.0}, results, "0.1.0", WHEN)

    analyses = {
        "cv": info("cv", {"n_cycles": 3, "cycles": [{"ce": 0.9}] * 3}),
        "ce_irm": info("ce_irm", {"calibration": {"slope": 1.02}}),
        "ce_irm_maps": info("ce_irm_maps", {"maps": {"values": [[[1]]]}}),
        "irm": info("irm", {"t_nuc_irm_s": 0.4}),
        "irm_maps": info("irm_maps", {"t_nuc_map": {"values_s": [[0.4]]}}),
        "sem": info("sem", {"count": 120}),
        "sem_outlines": info("sem_outlines", {"counted": {"x_um": [0.1]}}),
    }
    accordion = panel.create_analysis_panel(analyses)
    titles = [item.title for item in find(accordion) if isinstance(item, dbc.AccordionItem)]
    assert titles == ["ce_irm (v1)", "cv (v1)", "irm (v1)", "sem (v1)"]
    words = text(accordion)
    assert "calibration.slope" in words and "n_cycles" in words
    assert "cycles" not in words.replace("n_cycles", "")  # per-cycle lists stay out
