from core.results.metrics import METRICS, STATUS, is_known_metric, metric_choices


def test_every_metric_has_a_unit_in_its_key_and_title():
    for key, metric in METRICS.items():
        assert metric.key == key
        if metric.unit:
            assert metric.axis_title == f"{metric.label} ({metric.unit})"
    assert METRICS["e_nuc_V"].axis_title == "E_nuc (V)"
    assert METRICS["ce"].axis_title == "CE (last cycle)"


def test_choices_end_with_the_status_map():
    choices = metric_choices()
    assert choices[0] == ("e_nuc_V", "E_nuc (V)") and choices[-1] == (STATUS, "status")
    assert is_known_metric("status") and is_known_metric("t_nuc_irm_s")
    assert not is_known_metric("e_nuc") and not is_known_metric(None)
