import subprocess
import sys
from pathlib import Path

import pytest

from core.analysis.ce_irm import DEFAULT_AVERAGE_S, DEFAULT_MIN_SNR
from core.analysis.parameters import (
    COMPANION_KINDS,
    PARAMETERS,
    ParameterError,
    check_parameters,
    default_parameters,
    is_companion_kind,
    parameter_errors,
    scalar_kind,
    stored_together,
)
from core.results.movie_analysis import analyse_cv_movie

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_the_analysis_functions_own_and_every_spec_has_one():
    galvanostatic = default_parameters("galvanostatic")
    assert galvanostatic["smoothing_s"] == 0.05 and "current_density_mA_cm2" not in galvanostatic
    assert default_parameters("cv") == {"cathodic_current_negative": True,
                                        "min_amplitude_V": 0.1}
    assert default_parameters("ce_irm") == {"average_s": 0.0, "min_snr": 3.0}
    assert default_parameters("ce_irm_maps") == default_parameters("ce_irm")
    for kind, specs in PARAMETERS.items():
        defaults = default_parameters(kind)
        for spec in specs:
            assert spec.name in defaults
            assert spec.error(defaults[spec.name]) is None, (kind, spec.name)


def test_messages_name_the_value_and_its_limit():
    assert parameter_errors("galvanostatic", {"smoothing_s": -0.1, "settle_s": 0.1}) == [
        "smoothing_s = -0.1 s is below its limit 0 s"]
    assert parameter_errors("galvanostatic", {"fit_depth_fraction": 1.0}) == [
        "fit_depth_fraction = 1 must be below 1"]
    assert parameter_errors("galvanostatic", {"significance_sigma": 0}) == [
        "significance_sigma = 0 must be above 0"]
    assert parameter_errors("galvanostatic", {"min_dip_V": 2.0}) == [
        "min_dip_V = 2 V is above its limit 0.5 V"]
    assert parameter_errors("cv", {"cathodic_current_negative": 1, "min_amplitude_V": "x"}) == [
        "cathodic_current_negative = 1 must be true or false",
        "min_amplitude_V = 'x' is not a number"]
    assert parameter_errors("galvanostatic", {"settle_s": float("nan")}) == [
        "settle_s = nan s must be finite"]


def test_check_parameters_refuses_with_every_reason():
    assert check_parameters("cv", {"min_amplitude_V": 0.2}) == {"min_amplitude_V": 0.2}
    with pytest.raises(ParameterError, match=r"ce_irm analysis options refused: average_s = "
                                             r"-1 s is below its limit 0 s; min_snr = 0 must "
                                             r"be above 0"):
        check_parameters("ce_irm", {"average_s": -1, "min_snr": 0})


def test_ranges_read_as_text():
    specs = {spec.name: spec for spec in PARAMETERS["galvanostatic"]}
    assert specs["smoothing_s"].describe_range() == "0 ≤ smoothing_s ≤ 10 s"
    assert specs["fit_depth_fraction"].describe_range() == "0 < fit_depth_fraction < 1"


def test_ce_irm_defaults_come_from_core_analysis_and_the_movie_analysis_uses_them():
    assert default_parameters("ce_irm") == {"average_s": DEFAULT_AVERAGE_S,
                                            "min_snr": DEFAULT_MIN_SNR}
    defaults = analyse_cv_movie.__kwdefaults__
    assert (defaults["average_s"], defaults["min_snr"]) == (DEFAULT_AVERAGE_S, DEFAULT_MIN_SNR)


def test_reading_the_defaults_never_imports_core_results():
    # the defaults are imported by name at run time, which import-linter cannot see
    script = ("import sys\nfrom core.analysis.parameters import PARAMETERS, default_parameters\n"
              "[default_parameters(kind) for kind in PARAMETERS]\n"
              "print(sorted(m for m in sys.modules if m.startswith('core.results')))")
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_a_computation_stored_as_two_kinds_is_named_from_either():
    assert stored_together("ce_irm") == stored_together("ce_irm_maps") == (
        "ce_irm", "ce_irm_maps")
    assert stored_together("sem_outlines") == ("sem", "sem_outlines")
    assert stored_together("irm") == ("irm", "irm_maps")
    assert stored_together("cv") == ("cv",)
    assert scalar_kind("irm_maps") == "irm" and scalar_kind("galvanostatic") == "galvanostatic"
    assert [kind for kind in ("irm", "irm_maps", "ce_irm_maps", "sem_outlines", "cv")
            if is_companion_kind(kind)] == ["irm_maps", "ce_irm_maps", "sem_outlines"]
    # a companion kind is judged by its scalar kind's limits
    assert parameter_errors("ce_irm_maps", {"min_snr": 0}) == ["min_snr = 0 must be above 0"]
    assert not set(COMPANION_KINDS) & {kind for kinds in COMPANION_KINDS.values()
                                       for kind in kinds}
