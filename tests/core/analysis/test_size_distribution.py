"""Histogram and one/two-population fits of particle sizes (hand-built samples)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.analysis.size_distribution import fit_gaussian_mixture, histogram
from core.errors import AnalysisError


def test_bic_picks_two_components_on_a_clearly_bimodal_sample():
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(50.0, 5.0, 400), rng.normal(100.0, 10.0, 400)]
    fit = fit_gaussian_mixture(x)
    assert fit.n_components == 2
    assert fit.bic[2] < fit.bic[1] - 100
    small, large = fit.components
    assert_allclose([small.mean, large.mean], [50.0, 100.0], rtol=0.03)
    assert_allclose([small.sd, large.sd], [5.0, 10.0], rtol=0.15)
    assert_allclose([small.weight, large.weight], [0.5, 0.5], atol=0.05)


def test_bic_picks_one_component_on_a_unimodal_sample_with_the_exact_ml_estimates():
    rng = np.random.default_rng(2)
    x = rng.normal(80.0, 23.0, 800)
    fit = fit_gaussian_mixture(x)
    assert fit.n_components == 1
    [only] = fit.components
    assert only.weight == 1.0
    assert_allclose(only.mean, x.mean(), rtol=1e-12)
    assert_allclose(only.sd, x.std(), rtol=1e-12)  # maximum likelihood: ddof = 0
    n = x.size
    expected_ll = -0.5 * n * (np.log(2 * np.pi * x.var()) + 1.0)
    assert_allclose(fit.log_likelihood, expected_ll, rtol=1e-10)
    assert_allclose(fit.bic[1], 2 * np.log(n) - 2 * expected_ll, rtol=1e-10)


def test_skewed_single_population_needs_the_log_model_to_stay_one():
    rng = np.random.default_rng(3)
    mu, sigma = np.log(45.0), 0.45
    x = rng.lognormal(mu, sigma, 2000)
    assert fit_gaussian_mixture(x).n_components == 2  # BIC on Gaussians: skew looks bimodal
    fit = fit_gaussian_mixture(x, log=True)
    assert fit.n_components == 1
    [population] = fit.populations()
    assert_allclose(population.mean, np.exp(mu + sigma**2 / 2), rtol=0.03)
    assert_allclose(population.sd, population.mean * np.sqrt(np.expm1(sigma**2)), rtol=0.06)
    # The log model's likelihood is for the values themselves, so its BIC is comparable.
    assert fit.bic[1] < fit_gaussian_mixture(x).bic[2]


def test_expected_counts_and_pdf_are_consistent_with_the_fit():
    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(60.0, 8.0, 300), rng.normal(95.0, 12.0, 200)]
    for log in (False, True):
        fit = fit_gaussian_mixture(x, log=log)
        edges = np.linspace(1.0, 300.0, 600)
        expected = fit.expected_counts(edges)
        assert_allclose(expected.sum(), x.size, rtol=1e-3)
        centres = 0.5 * (edges[1:] + edges[:-1])
        assert_allclose(fit.pdf(centres) * np.diff(edges) * x.size, expected, atol=0.05)


def test_sd_floor_keeps_a_component_off_a_spike_of_identical_values():
    rng = np.random.default_rng(5)
    x = np.r_[np.full(60, 20.0), rng.normal(40.0, 8.0, 300)]
    fit = fit_gaussian_mixture(x, min_sd=2.0)
    assert min(c.sd for c in fit.components) >= 2.0


def test_two_components_need_ten_values():
    fit = fit_gaussian_mixture([1.0, 2.0, 10.0, 11.0, 12.0, 30.0])
    assert list(fit.bic) == [1]
    assert fit.n_components == 1


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([1.0, 2.0], {}, "at least 3"),
        ([1.0, np.nan, 2.0, 3.0], {}, "finite"),
        ([1.0, -2.0, 3.0, 4.0], {"log": True}, "positive"),
        ([1.0, 2.0, 3.0], {"max_components": 3}, "max_components"),
    ],
)
def test_fit_rejects_unusable_input(values, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        fit_gaussian_mixture(values, **kwargs)


def test_histogram_bins_are_aligned_multiples_of_the_width():
    x = np.array([12.0, 14.9, 15.0, 29.99, 30.0, 44.0])
    h = histogram(x, bin_width=5.0)
    assert_allclose(h.bin_edges, [10, 15, 20, 25, 30, 35, 40, 45])
    assert h.counts.tolist() == [2, 1, 0, 1, 1, 0, 1]
    assert h.counts.sum() == x.size


def test_histogram_default_width_is_freedman_diaconis_with_a_floor():
    rng = np.random.default_rng(6)
    x = rng.normal(60.0, 15.0, 1000)
    h = histogram(x)
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    assert_allclose(np.diff(h.bin_edges), 2 * iqr / 1000 ** (1 / 3))
    assert h.counts.sum() == 1000
    coarse = histogram(x, min_bin_width=20.0)
    assert_allclose(np.diff(coarse.bin_edges), 20.0)
    assert histogram([]).counts.size == 0
