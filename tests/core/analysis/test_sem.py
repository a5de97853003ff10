"""SEM particle statistics of one footprint: against the twin's ground truth, and on
hand-built images with known answers."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import ndimage as ndi

from core.analysis.sem import (
    COUNTED_RGB,
    EXCLUDED_RGB,
    FOOTPRINT_RGB,
    Circle,
    analyse_sem,
    li_in_spheres_fmol,
    overlay_rgb,
)
from core.errors import AnalysisError
from core.simulate.sem import simulate_sem
from core.units import FARADAY_C_PER_MOL

# Twin images kept small for speed: a 3.5 µm footprint at 4 nm per pixel fills 1024².
TWIN = {"footprint_diameter_um": 3.5, "pixel_size_nm": 4.0, "shape": (1024, 1024)}
CONDITIONS = [(0.20, 60.0), (0.78, 15.0), (3.82, 3.0)]


@functools.cache
def twin(j_mA_cm2: float, duration_s: float, seed: int):
    return simulate_sem(current_density_mA_cm2=j_mA_cm2, duration_s=duration_s, seed=seed, **TWIN)


@functools.cache
def twin_result(j_mA_cm2: float, duration_s: float, seed: int, given: bool):
    sim = twin(j_mA_cm2, duration_s, seed)
    footprint = Circle(**sim.truth["footprint"]) if given else None
    result = analyse_sem(
        sim.image,
        pixel_size_nm=sim.pixel_size_nm,
        footprint=footprint,
        passed_charge_C=sim.truth["passed_charge_C"],
    )
    return sim.truth, result


@pytest.mark.parametrize("given", [False, True], ids=["detected", "given"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("j", "duration"), CONDITIONS)
def test_twin_count_size_and_density_match_the_truth(j, duration, seed, given):
    truth, result = twin_result(j, duration, seed, given)
    assert result.count == pytest.approx(truth["count"], rel=0.03)
    assert result.mean_diameter_nm == pytest.approx(truth["mean_diameter_nm"], rel=0.03)
    assert result.density_per_cm2 == pytest.approx(truth["density_per_cm2"], rel=0.05)
    assert result.sd_diameter_nm == pytest.approx(truth["sd_diameter_nm"], rel=0.06)
    # The two large blobs inside the footprint are excluded, never counted or split.
    assert result.n_excluded_large == len(truth["blobs"]["area_um2"])
    assert result.footprint_detected is not given
    footprint = truth["footprint"]
    assert result.footprint.x_um == pytest.approx(footprint["x_um"], abs=0.01)
    assert result.footprint.y_um == pytest.approx(footprint["y_um"], abs=0.01)
    assert result.footprint.r_um == pytest.approx(footprint["r_um"], rel=0.015)


@pytest.mark.parametrize(("j", "duration"), CONDITIONS)
def test_twin_edge_centre_li_and_efficiency(j, duration):
    truth, result = twin_result(j, duration, 0, True)
    for region in ("edge", "centre"):
        got, want = getattr(result, region), truth[region]
        assert got.count == pytest.approx(want["count"], rel=0.05, abs=2)
        assert got.density_per_cm2 == pytest.approx(want["density_per_cm2"], rel=0.05)
        assert got.mean_diameter_nm == pytest.approx(want["mean_diameter_nm"], rel=0.05)
    assert result.edge.area_um2 + result.centre.area_um2 == pytest.approx(
        result.footprint_area_um2, rel=1e-12
    )
    assert result.footprint_area_um2 == pytest.approx(truth["footprint_area_um2"], rel=2e-3)
    assert result.li_deposited_fmol == pytest.approx(truth["li_deposited_fmol"], rel=0.08)
    fe = result.li_deposited_fmol * 1e-15 * FARADAY_C_PER_MOL / truth["passed_charge_C"]
    assert result.faradaic_efficiency == pytest.approx(fe, rel=1e-12)
    assert result.faradaic_efficiency == pytest.approx(truth["faradaic_efficiency"], rel=0.08)


def test_twin_edge_centre_contrast_follows_the_article():
    # 0.20 mA/cm²: larger particles at the edge; 3.82 mA/cm²: a denser centre.
    _, low = twin_result(0.20, 60.0, 0, True)
    _, high = twin_result(3.82, 3.0, 0, True)
    assert low.edge.mean_diameter_nm > 1.3 * low.centre.mean_diameter_nm
    assert high.centre.density_per_cm2 > 1.5 * high.edge.density_per_cm2


def test_to_dict_has_the_required_keys_and_is_json():
    _, result = twin_result(0.78, 15.0, 0, False)
    summary = result.to_dict()
    for key, kind in [
        ("count", int),
        ("density_per_cm2", float),
        ("mean_diameter_nm", float),
        ("sd_diameter_nm", float),
        ("footprint_area_um2", float),
    ]:
        assert isinstance(summary[key], kind), key
    for region in ("edge", "centre"):
        assert {"count", "density_per_cm2", "mean_diameter_nm", "sd_diameter_nm"} <= set(
            summary[region]
        )
    assert summary["count"] == result.count
    assert sum(summary["histogram"]["counts"]) == result.count
    assert summary["fit"]["n_components"] in (1, 2)
    assert sum(summary["fit"]["expected_counts"]) == pytest.approx(result.count, rel=0.02)
    assert summary["faradaic_efficiency"] == result.faradaic_efficiency
    assert summary["excluded"]["large"] == 2
    assert summary["parameters"]["version"]
    json.dumps(summary, allow_nan=False)


def test_overlay_marks_counted_and_excluded_particles_and_the_footprint():
    sim = twin(3.82, 3.0, 0)
    _, result = twin_result(3.82, 3.0, 0, True)
    rgb = overlay_rgb(
        sim.image,
        result.labels,
        footprint=result.footprint,
        pixel_size_nm=sim.pixel_size_nm,
        counted_labels=result.counted_labels,
        ring_fraction=0.2,
    )
    assert rgb.shape == (*sim.image.shape, 3)
    assert rgb.dtype == np.uint8
    colours = rgb.reshape(-1, 3)
    counted = np.all(colours == COUNTED_RGB, axis=1).sum()
    excluded = np.all(colours == EXCLUDED_RGB, axis=1).sum()
    circle = np.all(colours == FOOTPRINT_RGB, axis=1).sum()
    assert counted > 10 * result.count  # every counted particle outlined
    assert excluded > 0  # blobs and strays in red
    r_px = result.footprint.r_um / (sim.pixel_size_nm * 1e-3)
    assert circle == pytest.approx(2 * 2 * math.pi * r_px, rel=0.3)  # two pixels wide
    plain = overlay_rgb(sim.image, result.labels)
    assert not np.all(plain.reshape(-1, 3) == FOOTPRINT_RGB, axis=1).any()


# --- hand-built images -------------------------------------------------------------------

PIXEL_NM = 5.0


def disc_image(shape, discs, *, background=40.0, amplitude=120.0, noise=3.0, seed=0):
    """Blurred anti-aliased discs ``(row, col, radius_px)`` on a flat film, with noise."""
    rows, cols = np.indices(shape, dtype=float)
    layer = np.zeros(shape)
    for r0, c0, radius in discs:
        disc = np.clip(radius - np.hypot(rows - r0, cols - c0) + 0.5, 0.0, 1.0)
        layer = np.maximum(layer, disc)
    image = background + amplitude * ndi.gaussian_filter(layer, 0.4)
    return image + np.random.default_rng(seed).normal(0.0, noise, shape)


def test_known_discs_inside_a_given_circle():
    # A circle of radius 200 px centred at (256, 256); ring = outer 20 % (r > 160 px).
    centre = 256.0
    inner = [(centre + dr, centre + dc, 9.0) for dr in (-90, 0, 90) for dc in (-90, 0, 90)]
    edge = [(centre, centre + 180, 11.0), (centre - 180, centre, 11.0)]
    outside = [(20.0, 20.0, 10.0), (490.0, 30.0, 10.0)]
    image = disc_image((512, 512), inner + edge + outside)
    px_um = PIXEL_NM * 1e-3
    circle = Circle(centre * px_um, centre * px_um, 200 * px_um)
    result = analyse_sem(image, pixel_size_nm=PIXEL_NM, footprint=circle, ring_fraction=0.2)
    assert result.count == 11
    assert result.centre.count == 9
    assert result.edge.count == 2
    assert result.n_outside == 2
    area_um2 = result.footprint_area_um2
    assert area_um2 == pytest.approx(math.pi * (200 * px_um) ** 2, rel=2e-3)
    assert result.density_per_cm2 == pytest.approx(11 / (area_um2 * 1e-8), rel=1e-12)
    assert_allclose(result.centre.mean_diameter_nm, 18 * PIXEL_NM, rtol=0.03)
    assert_allclose(result.edge.mean_diameter_nm, 22 * PIXEL_NM, rtol=0.03)
    assert result.edge.sd_diameter_nm < 0.03 * result.edge.mean_diameter_nm
    assert_allclose(np.sort(result.x_um[result.is_edge]), np.sort([256, 436]) * px_um, atol=0.002)


def test_a_single_large_blob_is_excluded():
    px_um = PIXEL_NM * 1e-3
    blob_radius = math.sqrt(0.15 / math.pi) / px_um  # 0.15 µm² > 0.1 µm²
    discs = [(200, 200, blob_radius), (80, 80, 10.0), (320, 320, 10.0)]
    image = disc_image((400, 400), discs)
    circle = Circle(200 * px_um, 200 * px_um, 190 * px_um)
    result = analyse_sem(image, pixel_size_nm=PIXEL_NM, footprint=circle)
    assert result.count == 2
    assert result.n_excluded_large == 1
    assert_allclose(result.mean_diameter_nm, 20 * PIXEL_NM, rtol=0.03)
    assert result.labels.max() == 3  # the blob stays one particle, not split
    everything = analyse_sem(
        image, pixel_size_nm=PIXEL_NM, footprint=circle, max_particle_area_um2=1.0
    )
    assert everything.count == 3


def test_touching_discs_are_counted_twice():
    px_um = PIXEL_NM * 1e-3
    image = disc_image((160, 160), [(80, 60, 12.0), (80, 60 + 23.0, 11.0)])
    circle = Circle(80 * px_um, 80 * px_um, 75 * px_um)
    result = analyse_sem(image, pixel_size_nm=PIXEL_NM, footprint=circle)
    assert result.count == 2
    assert result.n_split == 1
    assert_allclose(np.sort(result.diameter_nm), [22 * PIXEL_NM, 24 * PIXEL_NM], rtol=0.08)


def test_inverted_image_with_dark_polarity_gives_the_same_answer():
    px_um = PIXEL_NM * 1e-3
    discs = [(60 + 70 * i, 60 + 70 * k, 8.0 + 2 * i) for i in range(4) for k in range(4)]
    image = disc_image((320, 320), discs)
    circle = Circle(160 * px_um, 160 * px_um, 155 * px_um)
    bright = analyse_sem(image, pixel_size_nm=PIXEL_NM, footprint=circle)
    dark = analyse_sem(255.0 - image, pixel_size_nm=PIXEL_NM, footprint=circle, polarity="dark")
    assert dark.count == bright.count == 15  # the corner disc at (270, 270) lies outside
    assert dark.n_outside == bright.n_outside == 1
    assert_allclose(dark.diameter_nm, bright.diameter_nm)
    with pytest.raises(AnalysisError, match="polarity"):
        analyse_sem(255.0 - image, pixel_size_nm=PIXEL_NM, footprint=circle)


def test_li_in_known_spheres_is_exact():
    one_100nm = (math.pi / 6 * (100e-7) ** 3) * 0.534 / 6.94 * 1e15
    assert li_in_spheres_fmol([100.0]) == pytest.approx(one_100nm, rel=1e-12)
    assert li_in_spheres_fmol([100.0, 100.0, 50.0]) == pytest.approx(
        one_100nm * (2 + 1 / 8), rel=1e-12
    )
    assert li_in_spheres_fmol([]) == 0.0


def test_faradaic_efficiency_of_hand_built_discs():
    px_um = PIXEL_NM * 1e-3
    image = disc_image((200, 200), [(60, 60, 10.0), (140, 140, 14.0)])
    circle = Circle(100 * px_um, 100 * px_um, 95 * px_um)
    result = analyse_sem(image, pixel_size_nm=PIXEL_NM, footprint=circle, passed_charge_C=2e-15)
    li = li_in_spheres_fmol(result.diameter_nm)
    assert result.li_deposited_fmol == pytest.approx(li, rel=1e-12)
    assert result.faradaic_efficiency == pytest.approx(li * 1e-15 * 96485.33212 / 2e-15)
    assert li == pytest.approx(li_in_spheres_fmol([100.0, 140.0]), rel=0.1)


def test_an_empty_footprint_reports_zero_not_noise():
    rng = np.random.default_rng(9)
    image = 60.0 + rng.normal(0.0, 8.0, (256, 256))
    px_um = PIXEL_NM * 1e-3
    result = analyse_sem(
        image,
        pixel_size_nm=PIXEL_NM,
        footprint=Circle(128 * px_um, 128 * px_um, 100 * px_um),
        passed_charge_C=1e-12,
    )
    assert result.count == 0
    assert result.density_per_cm2 == 0.0
    assert result.mean_diameter_nm is None and result.sd_diameter_nm is None
    assert result.fit is None
    assert result.li_deposited_fmol == 0.0
    assert result.faradaic_efficiency == 0.0
    summary = result.to_dict()
    assert summary["mean_diameter_nm"] is None
    json.dumps(summary, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pixel_size_nm": -1.0}, "pixel size"),
        ({"ring_fraction": 1.0}, "ring fraction"),
        ({"max_particle_area_um2": 0.0}, "maximum particle area"),
        ({"passed_charge_C": 0.0}, "passed charge"),
        ({"size_model": "gamma"}, "size model"),
        ({"footprint": Circle(100.0, 100.0, 1.0)}, "outside the image"),
    ],
)
def test_bad_options_are_rejected_with_a_message(kwargs, message):
    image = disc_image((64, 64), [(32, 32, 6.0)])
    options = {"pixel_size_nm": PIXEL_NM, "footprint": Circle(0.16, 0.16, 0.15), **kwargs}
    with pytest.raises(AnalysisError, match=message):
        analyse_sem(image, **options)
