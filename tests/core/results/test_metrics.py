import numpy as np

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


def test_ce_irm_median_is_the_last_cycle_of_the_stored_ce_irm_kind(small_run):
    from core.results.grid_values import metric_grid
    from core.results.movie_analysis import CE_IRM
    from core.results.record import record_analysis

    metric = METRICS["ce_irm_median"]
    assert (metric.kind, metric.path) == (CE_IRM, ("cycles", -1, "ce_irm_median"))
    cycles = [{"cycle": 1, "ce": 0.25, "ce_irm_median": 0.27, "masked_fraction": 0.0},
              {"cycle": 2, "ce": 0.47, "ce_irm_median": 0.52, "masked_fraction": 0.1}]
    record_analysis(small_run.url, small_run.spot_ids[(2, 0)], CE_IRM,
                    parameters={"average_s": 0.0, "min_snr": 3.0},
                    results={"calibration": {"slope": 1.0, "intercept": 0.0, "r2": 0.99,
                                             "n_cycles": 2}, "cycles": cycles})
    record_analysis(small_run.url, small_run.spot_ids[(2, 1)], CE_IRM,
                    parameters={"average_s": 0.0, "min_snr": 3.0},
                    results={"cycles": [{**cycles[0], "ce_irm_median": None}]})
    grid = metric_grid(small_run.url, small_run.run_id, "ce_irm_median")
    assert grid.values[2, 0] == 0.52 and np.isnan(grid.values[2, 1])
    assert grid.text[2, 1].endswith(f"<i>{metric.missing}</i>")
    assert np.isnan(grid.values[:2]).all() and metric.axis_title == "CE(IRM) median (last cycle)"
