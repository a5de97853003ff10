"""The SEM digital twin: physics, geometry, image and ground truth agree."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.analysis.sem import li_in_spheres_fmol
from core.errors import MeniscusError
from core.simulate.physics import ARTICLE_PHYSICS
from core.simulate.sem import LARGE_PARTICLE_AREA_UM2, SemAppearance, simulate_sem
from core.simulate.sem_deposit import ARTICLE_MORPHOLOGY, plate_deposit
from core.units import FARADAY_C_PER_MOL

SMALL = {"footprint_diameter_um": 3.5, "pixel_size_nm": 4.0, "shape": (1024, 1024)}


@functools.cache
def small_twin(j, duration, seed=0, **kwargs):
    return simulate_sem(current_density_mA_cm2=j, duration_s=duration, seed=seed, **SMALL)


def particles(truth):
    return {k: np.asarray(v) for k, v in truth["particles"].items()}


@pytest.mark.parametrize(("j", "duration"), [(0.20, 60.0), (0.78, 15.0), (3.82, 3.0)])
def test_deposited_li_is_the_physics_share_of_the_passed_charge(j, duration):
    truth = small_twin(j, duration).truth
    area_cm2 = math.pi * (SMALL["footprint_diameter_um"] / 2 * 1e-4) ** 2
    passed = j * 1e-3 * duration * area_cm2
    assert truth["passed_charge_C"] == pytest.approx(passed, rel=1e-12)
    fe = float(ARTICLE_PHYSICS.faradaic_efficiency(j))
    assert truth["faradaic_efficiency"] == pytest.approx(fe, rel=1e-9)
    expected_fmol = fe * passed / FARADAY_C_PER_MOL * 1e15
    assert truth["li_deposited_fmol"] == pytest.approx(expected_fmol, rel=1e-9)
    p = particles(truth)
    assert li_in_spheres_fmol(p["diameter_nm"][p["inside"]]) == pytest.approx(expected_fmol, 1e-9)


@pytest.mark.parametrize(("j", "duration"), [(0.20, 60.0), (0.78, 15.0), (3.82, 3.0)])
def test_truth_statistics_describe_the_particle_list(j, duration):
    truth = small_twin(j, duration).truth
    p = particles(truth)
    d = p["diameter_nm"][p["inside"]]
    assert truth["count"] == d.size == p["inside"].sum()
    assert_allclose(truth["mean_diameter_nm"], d.mean(), rtol=1e-12)
    assert_allclose(truth["sd_diameter_nm"], d.std(ddof=1), rtol=1e-12)
    area = truth["footprint_area_um2"]
    assert_allclose(area, math.pi * truth["footprint"]["r_um"] ** 2, rtol=1e-12)
    assert_allclose(truth["density_per_cm2"], d.size / (area * 1e-8), rtol=1e-12)
    edge, centre = truth["edge"], truth["centre"]
    assert edge["count"] + centre["count"] == truth["count"]
    assert edge["count"] == (p["edge"] & p["inside"]).sum()
    json.dumps(truth, allow_nan=False)


@pytest.mark.parametrize(("j", "duration"), [(0.20, 60.0), (3.82, 3.0)])
def test_particles_sit_where_the_truth_says(j, duration):
    truth = small_twin(j, duration).truth
    p = particles(truth)
    f = truth["footprint"]
    rho = np.hypot(p["x_um"] - f["x_um"], p["y_um"] - f["y_um"])
    radius_um = p["diameter_nm"] * 5e-4
    inside = p["inside"]
    # Inside particles lie wholly in the footprint, and wholly in their region.
    assert np.all(rho[inside] + radius_um[inside] <= f["r_um"] + 1e-9)
    inner_um = f["r_um"] * (1 - truth["ring_fraction"])
    edge = p["edge"] & inside
    assert np.all(rho[edge] - radius_um[edge] >= inner_um - 1e-9)
    assert np.all(rho[inside & ~edge] + radius_um[inside & ~edge] <= inner_um + 1e-9)
    # Strays lie clearly outside; blobs are large and inside.
    assert np.all(rho[~inside] > f["r_um"] * 1.1)
    assert truth["n_outside"] == (~inside).sum() == 6
    assert min(truth["blobs"]["area_um2"]) > LARGE_PARTICLE_AREA_UM2
    blob_rho = np.hypot(
        np.asarray(truth["blobs"]["x_um"]) - f["x_um"],
        np.asarray(truth["blobs"]["y_um"]) - f["y_um"],
    )
    assert np.all(blob_rho < 0.7 * f["r_um"])
    # Sizes stay resolvable and below the exclusion limit.
    assert p["diameter_nm"].min() >= 3 * SMALL["pixel_size_nm"]
    assert np.pi / 4 * (p["diameter_nm"].max() * 1e-3) ** 2 < LARGE_PARTICLE_AREA_UM2


def test_only_touching_pairs_touch():
    truth = small_twin(3.82, 3.0).truth
    p = particles(truth)
    x, y, r = p["x_um"], p["y_um"], p["diameter_nm"] * 5e-4
    gap = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) - (r[:, None] + r[None, :])
    np.fill_diagonal(gap, np.inf)
    nearest = gap.min(axis=1)
    touching = p["touching"]
    assert touching.sum() == truth["n_touching"] > 0
    # A touching particle is in contact with its partner, or a hair (≤ 8 % of r₁ + r₂) away.
    partner = np.argmin(gap[touching], axis=1)
    r_sum = r[touching] + r[partner]
    assert np.all(nearest[touching] / r_sum <= 0.08 + 1e-9)
    assert np.all(nearest[touching] >= -1e-9)
    # Everyone else keeps at least the hard-core gap (3 px) from every particle.
    partner_of_someone = np.isin(np.arange(x.size), partner)
    free = ~touching & ~partner_of_someone
    assert np.all(nearest[free] >= 3 * SMALL["pixel_size_nm"] * 1e-3 - 1e-9)


def deposit_at(j, duration, seed, diameter_um=10.0):
    """The particle population alone (no image) on a footprint centred in a 14 µm field."""
    return plate_deposit(
        np.random.default_rng(seed),
        physics=ARTICLE_PHYSICS,
        morphology=ARTICLE_MORPHOLOGY,
        current_density_mA_cm2=j,
        duration_s=duration,
        centre_um=(7.0, 7.0),
        radius_um=diameter_um / 2,
        field_um=(14.0, 14.0),
        min_diameter_nm=10.0,
        max_diameter_nm=285.0,
        gap_nm=10.0,
        touching_fraction=0.06,
        n_outside=5,
        keep_out=[],
    )


@pytest.mark.parametrize("j", [0.20, 0.78, 3.82])
def test_density_follows_the_physics_law(j):
    area_cm2 = math.pi * (5.0e-4) ** 2
    counts = [deposit_at(j, 1.0, seed).inside.sum() for seed in range(4)]
    expected = float(ARTICLE_PHYSICS.particle_density_per_cm2(j)) * area_cm2  # 900–2 100
    # Poisson: the mean of four draws lies within 3 sd of the expectation.
    assert np.mean(counts) == pytest.approx(expected, abs=3 * math.sqrt(expected / 4))


@pytest.mark.parametrize(("j", "duration"), [(0.20, 60.0), (3.82, 3.0)])
def test_sizes_and_edge_effects_follow_the_morphology(j, duration):
    shape = ARTICLE_MORPHOLOGY.at(j)
    deposit = deposit_at(j, duration, seed=1)
    edge = deposit.edge & deposit.inside
    centre = ~deposit.edge & deposit.inside
    d = deposit.diameter_nm
    size_ratio = d[edge].mean() / d[centre].mean()
    assert size_ratio == pytest.approx(shape["edge_size_ratio"], rel=0.1)
    inner_fraction = (1 - ARTICLE_MORPHOLOGY.edge_fraction) ** 2
    density_ratio = (edge.sum() / (1 - inner_fraction)) / (centre.sum() / inner_fraction)
    assert density_ratio == pytest.approx(shape["edge_density_ratio"], rel=0.15)
    assert d[centre].std() / d[centre].mean() == pytest.approx(shape["centre_size_cv"], rel=0.15)
    assert d[edge].std() / d[edge].mean() == pytest.approx(shape["edge_size_cv"], rel=0.2)


def test_article_scale_sizes_at_the_article_conditions():
    # Same passed charge (≈3.2 µAh/cm²) at three current densities: higher j, smaller particles.
    means = [
        deposit_at(j, t, seed=2).diameter_nm.mean() for j, t in [(0.2, 60), (0.78, 15), (3.82, 3)]
    ]
    assert means[0] > means[1] > means[2]
    assert 35.0 < means[2] < 60.0 and 50.0 < means[1] < 90.0


def test_image_shows_bright_particles_on_the_film():
    sim = small_twin(0.78, 15.0)
    image, truth = sim.image, sim.truth
    assert image.dtype == np.uint8
    assert image.shape == SMALL["shape"]
    p = particles(truth)
    px_um = sim.pixel_size_nm * 1e-3
    big = p["inside"] & (p["diameter_nm"] > 50)
    centres = image[
        np.rint(p["y_um"][big] / px_um).astype(int), np.rint(p["x_um"][big] / px_um).astype(int)
    ]
    look = SemAppearance()
    film = np.median(image)
    contrast = look.contrast_fraction * 255
    assert np.median(centres) - film == pytest.approx(contrast, rel=0.15)
    dark = simulate_sem(
        current_density_mA_cm2=0.78, duration_s=15.0, seed=0, polarity="dark", **SMALL
    )
    assert_array_equal(dark.image, 255 - image)
    deep = simulate_sem(
        current_density_mA_cm2=0.78, duration_s=15.0, seed=0, dtype=np.uint16, **SMALL
    )
    assert deep.image.dtype == np.uint16
    assert np.median(deep.image) == pytest.approx(film * 257, rel=0.02)


def test_seed_reproduces_and_pixel_size_is_derived():
    options = {"current_density_mA_cm2": 0.78, "duration_s": 15.0, "shape": (640, 800)}
    a = simulate_sem(footprint_diameter_um=3.0, seed=5, **options)
    b = simulate_sem(footprint_diameter_um=3.0, seed=5, **options)
    c = simulate_sem(footprint_diameter_um=3.0, seed=6, **options)
    assert_array_equal(a.image, b.image)
    assert a.truth == b.truth
    assert not np.array_equal(a.image, c.image)
    assert a.pixel_size_nm == pytest.approx(1.25 * 3.0e3 / 640)
    assert a.image.shape == (640, 800)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current_density_mA_cm2": -1.0}, "must both be positive"),
        ({"duration_s": 0.0}, "must both be positive"),
        ({"pixel_size_nm": 2.0}, "does not fit the field"),
        ({"polarity": "grey"}, "polarity"),
    ],
)
def test_impossible_requests_are_refused(kwargs, message):
    options = {"current_density_mA_cm2": 0.78, "duration_s": 15.0, "shape": (256, 256), **kwargs}
    with pytest.raises(MeniscusError, match=message):
        simulate_sem(**options)
