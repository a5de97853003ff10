"""What the SEM analysis of an imported image takes from its spot, and its options."""

from __future__ import annotations

import math

import pytest

from core.results.sem_analysis import SemSpot, sem_defaults


def test_charge_and_footprint_come_from_a_galvanostatic_spot():
    spot = SemSpot(current_A=-5.51e-11, current_density_mA_cm2=0.78, duration_s=15.0)
    assert spot.passed_charge_C() == pytest.approx(8.265e-10)
    area_cm2 = 5.51e-11 / 0.78e-3
    assert spot.footprint_diameter_um() == pytest.approx(2e4 * math.sqrt(area_cm2 / math.pi))
    assert spot.footprint_diameter_um() == pytest.approx(3.0, rel=0.01)
    unknown = SemSpot()
    assert unknown.passed_charge_C() is None and unknown.footprint_diameter_um() is None


def test_the_options_are_the_analysis_keywords_plus_the_image_and_its_pixel_size():
    options = sem_defaults()
    assert options["sem_image_id"] is None and options["pixel_size_nm"] is None
    assert options["max_particle_area_um2"] == 0.1 and options["polarity"] == "bright"
    assert "footprint" not in options and "passed_charge_C" not in options
