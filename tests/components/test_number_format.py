import pytest

from components.number_format import MISSING, format_metric, metric_format_spec


@pytest.mark.parametrize(("value", "expected"), [
    (1.5e9, "1.50e+09"), (1.58e9, "1.58e+09"), (1.5849e9, "1.58e+09"), (9.996e8, "1.00e+09"),
])
def test_densities_always_have_three_significant_digits(value, expected):
    assert format_metric("density_per_cm2", value) == expected


def test_decimal_metrics_keep_their_decimals_and_missing_values_read_as_a_dash():
    assert format_metric("e_nuc_V", -0.14632) == "-0.1463"
    assert format_metric("mean_diameter_nm", 42.66) == "42.7"
    assert format_metric("t_nuc_s", None) == MISSING


def test_the_spec_is_the_same_for_plotly_hover_templates():
    assert metric_format_spec("density_per_cm2") == ".2e"
    assert metric_format_spec("e_nuc_V") == ".4f"
    with pytest.raises(KeyError):
        metric_format_spec("no_such_metric")
