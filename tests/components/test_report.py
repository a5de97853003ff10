"""The one-page HTML report of a run: numbers from core.results, figures from the factories."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from components.report import create_report, report_data
from core.auth.roles import Actor, Role
from core.review.flags import clear_flag, flag_spot
from core.storage.db import session_scope, upgrade_database
from core.storage.models import Run
from tests.core.results.small_run import build_small_run, simulate_spot_data


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{folder / 'meniscus.db'}"
    upgrade_database(url)
    return build_small_run(url, folder / "data", simulate_spot_data())


def _figures(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', text,
                      re.S)
    return json.loads(found.group(1))


def test_report_data_reads_who_ran_it_and_the_review_counts(small_run):
    data = report_data(small_run.url, small_run.run_id)
    assert (data.run.name, data.run.operator, data.run.instrument) == (
        "Small screen", "ana", "sim")
    assert data.grid_name == "small" and (data.n_excluded, data.n_flagged) == (1, 0)
    reviewer = Actor("olga", Role.OPERATOR)
    flag_ids = [flag_spot(small_run.url, reviewer, small_run.spot_ids[(0, 1)], kind)
                for kind in ("off_centre", "other")]
    assert report_data(small_run.url, small_run.run_id).n_flagged == 1  # spots, not flags
    for flag_id in flag_ids:
        clear_flag(small_run.url, reviewer, flag_id)
    assert report_data(small_run.url, small_run.run_id).n_flagged == 0
    # the status map, then every metric that has a value (the small run has all of them)
    assert [grid.metric for grid in data.heatmaps] == [
        "status", "e_nuc_V", "e_growth_V", "t_nuc_s", "q_nuc_uAh_cm2", "t_nuc_irm_s",
        "density_per_cm2", "mean_diameter_nm", "ce"]


def test_the_report_holds_every_figure_once_and_the_condition_table(small_run):
    text = create_report(report_data(small_run.url, small_run.run_id))
    figures = _figures(text)
    placeholders = re.findall(r'data-figure="([\w-]+)"', text)
    assert sorted(placeholders) == sorted(figures) and len(set(placeholders)) == len(figures)
    heatmap = figures["heatmap-e_nuc_V"]["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["z"][0] == [-0.13, -0.146, None]
    trend = figures["trend-0"]["data"]
    assert [line["name"] for line in trend] == ["E_nuc", "E_growth"]
    assert text.count("Plotly.newPlot") == 1 and text.count("<script>") == 3
    assert figures["heatmap-e_nuc_V"]["config"]["toImageButtonOptions"]["filename"] == (
        f"run_{small_run.run_id}_e_nuc_V")
    assert "meniscus-svg-download" in text  # the SVG button of assets/figure_download.js
    for fact in ("<th>Operator</th><td>ana</td>", "<th>Grid</th><td>small</td>",
                 "1 excluded, 0 flagged", "demo, j series", "Meniscus 0.1.0",
                 "0.78 mA/cm² × 5 s", "2 / 0 / 3", "-0.1380 ± 0.0113 (n=2)"):
        assert fact in text, fact


def test_names_cannot_break_out_of_the_page(small_run, tmp_path):
    hostile = '</script><script>alert(1)</script><b onmouseover="x">'
    with session_scope(small_run.url) as session:
        session.execute(update(Run).where(Run.id == small_run.run_id).values(
            name=hostile, notes=hostile))
    try:
        text = create_report(report_data(small_run.url, small_run.run_id))
    finally:
        with session_scope(small_run.url) as session:
            session.execute(update(Run).where(Run.id == small_run.run_id).values(
                name="Small screen", notes=""))
    assert "alert(1)" not in text.replace("&lt;script&gt;alert(1)", "")
    assert "<b onmouseover" not in text and "&lt;/script&gt;" in text
    # Plotly, the figures' JSON, the plotting script and the SVG button's script
    assert text.count("</script>") == 4
