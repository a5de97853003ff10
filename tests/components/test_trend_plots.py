import pytest

from components.trend_plots import (
    TREND_PLOTS,
    create_trend_figure,
    create_trend_plot,
    format_mean_sd,
    trend_plots_with_values,
)
from core.results.metrics import METRICS
from core.results.trends import ConditionTrend, Stat, Trends


def _condition(j, e_nuc, sd, n):
    stats = {key: Stat(None, None, 0) for key in METRICS}
    stats["e_nuc_V"] = Stat(e_nuc, sd, n)
    stats["e_growth_V"] = Stat(e_nuc + 0.05, None, 1)
    return ConditionTrend(0, f"{j} mA/cm²", "galvanostatic", j, n, n, 0, stats)


CONDITIONS = [_condition(0.2, -0.06, 0.01, 3), _condition(0.78, -0.13, 0.02, 4),
              _condition(3.82, -0.29, None, 1)]


def test_means_with_sd_error_bars_against_current_density():
    figure = create_trend_figure(CONDITIONS, ("e_nuc_V", "e_growth_V"), j_lim_mA_cm2=1.25,
                                 y_title="E (V vs Li/Li⁺)")
    e_nuc, e_growth = figure.data
    assert e_nuc.x == (0.2, 0.78, 3.82) and e_nuc.y == (-0.06, -0.13, -0.29)
    assert e_nuc.error_y.array == (0.01, 0.02, 0.0)  # one repeat: no bar
    assert [row[1] for row in e_nuc.customdata] == [3, 4, 1]
    assert e_growth.name == "E_growth"
    assert figure.layout.xaxis.title.text == "j (mA/cm²)"
    assert figure.layout.xaxis.range == pytest.approx((0.0, 1.08 * 3.82))
    assert figure.layout.shapes[0].x0 == 1.25
    assert "j_lim ≈ 1.25 mA/cm²" in figure.layout.annotations[0].text


def test_metric_without_values_draws_no_points_and_takes_its_own_axis_title():
    figure = create_trend_figure(CONDITIONS, ("q_nuc_uAh_cm2",), log_y=True)
    assert figure.data[0].x == () and figure.layout.yaxis.title.text == "Q_nuc (µAh/cm²)"
    assert figure.layout.yaxis.type == "log" and not figure.layout.shapes


def test_only_plots_with_values_are_drawn_over_the_galvanostatic_conditions():
    cv = ConditionTrend(1, "CV", "cv", None, 2, 2, 0,
                        {key: Stat(None, None, 0) for key in METRICS})
    trends = Trends(run_id=4, conditions=[cv, *CONDITIONS[::-1]], j_lim_mA_cm2=1.25,
                    pipette_diameter_um=6.0)
    (plot,) = trend_plots_with_values(trends)
    assert plot is TREND_PLOTS[0] and plot.filename(4) == "run_4_trend_e_nuc_V_e_growth_V"
    figure = create_trend_plot(trends, plot)
    assert figure.data[0].x == (0.2, 0.78, 3.82)  # sorted by j, the CV left out
    assert figure.layout.yaxis.title.text == "E (V vs Li/Li⁺)"
    assert trend_plots_with_values(Trends(4, [cv], None, None)) == []


def test_mean_sd_in_the_metric_digits():
    assert format_mean_sd(CONDITIONS[0], "e_nuc_V") == "-0.0600 ± 0.0100 (n=3)"
    assert format_mean_sd(CONDITIONS[2], "e_nuc_V") == "-0.2900 (n=1)"
    assert format_mean_sd(CONDITIONS[0], "q_nuc_uAh_cm2") == "—"
