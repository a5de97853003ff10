from dash import dcc

from tests.components.tree import find, text


def test_trend_plots_and_the_per_condition_table(page, small_run):
    layout = page("trends").layout(run_id=str(small_run.run_id))
    figures = [graph.figure for graph in find(layout) if isinstance(graph, dcc.Graph)]
    titles = [figure.layout.yaxis.title.text for figure in figures]
    assert titles == ["E (V vs Li/Li⁺)", "t (s)", "Q_nuc (µAh/cm²)", "particle density (cm⁻²)",
                      "mean diameter (nm)"]
    e_nuc = figures[0].data[0]
    assert e_nuc.x == (0.78, 2.92)  # the CV condition has no current density
    words = text(layout)
    assert "-0.1380 ± 0.0113 (n=2)" in words  # mean ± sd of −0.130 and −0.146
    assert "1 / 1 of 3" in words and "above j_lim" in words
    assert "0.630 ± 0.028 (n=2)" in words
    downloads = [graph.config["toImageButtonOptions"]["filename"] for graph in find(layout)
                 if isinstance(graph, dcc.Graph)]
    assert downloads[0] == f"run_{small_run.run_id}_trend_e_nuc_V_e_growth_V"


def test_runs_without_values_and_bad_ids(page, small_run):
    assert "No trends yet" in text(page("trends").layout(run_id=str(small_run.other_run_id)))
    assert "run 55 does not exist" in text(page("trends").layout(run_id="55"))
