"""Histograms and one- or two-population Gaussian fits of particle sizes.

The article fits particle-diameter histograms with a Gaussian, and with two at 0.20 mA/cm²
(92 ± 45 and 59 ± 14 nm). Here the number of populations is chosen by the Bayesian
information criterion, ``BIC = k·ln n − 2·ln L`` (k = 2 for one Gaussian, 5 for two), of
maximum-likelihood fits to the values themselves (not to the histogram, whose bins would
change the answer). Two Gaussians are fitted by expectation–maximisation (EM) in numpy, from
several starting splits, keeping the best likelihood; scikit-learn is not a dependency.

A standard-deviation floor keeps a component from collapsing onto a few identical values (an
equivalent diameter from a pixel count takes discrete values) and so winning the likelihood
with a spike.

BIC compares Gaussians: one clearly skewed population (particle sizes are often log-normal)
measured on thousands of particles is better described by two Gaussians than one, so BIC
reports two. ``log=True`` fits Gaussians to ln(values) instead (log-normal populations); its
likelihood includes the Jacobian (−Σ ln x), so its BIC is comparable with the linear one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from core.errors import AnalysisError

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
#: Fewest values for which a mixture fit is attempted at all, and for two components.
MIN_VALUES_FOR_FIT = 3
MIN_VALUES_FOR_TWO = 10


@dataclass(frozen=True)
class Histogram:
    """Counts of values in bins: ``counts[i]`` values lie in ``[edges[i], edges[i+1])``."""

    bin_edges: np.ndarray
    counts: np.ndarray

    def to_dict(self) -> dict:
        return {"bin_edges": self.bin_edges.tolist(), "counts": self.counts.tolist()}


@dataclass(frozen=True)
class GaussianComponent:
    """One population: its share of the values, mean and standard deviation."""

    weight: float
    mean: float
    sd: float


@dataclass(frozen=True)
class MixtureFit:
    """The chosen mixture and the BIC of every candidate.

    Attributes
    ----------
    components : tuple of GaussianComponent
        Sorted by mean; weights sum to 1. With ``log`` they describe ln(values).
    bic : dict
        ``{n_components: BIC}`` for each candidate fitted.
    log_likelihood : float
        Of the chosen fit, for the density of the values themselves.
    n : int
        Number of values fitted.
    log : bool
        True for log-normal components (Gaussians in ln(values)).
    """

    components: tuple
    bic: dict
    log_likelihood: float
    n: int
    log: bool = False

    @property
    def n_components(self) -> int:
        return len(self.components)

    def populations(self) -> tuple:
        """Each component's weight, mean and sd in the values' own units."""
        if not self.log:
            return self.components
        return tuple(
            GaussianComponent(
                c.weight,
                float(np.exp(c.mean + c.sd**2 / 2)),
                float(np.exp(c.mean + c.sd**2 / 2) * np.sqrt(np.expm1(c.sd**2))),
            )
            for c in self.components
        )

    def pdf(self, x) -> np.ndarray:
        """Mixture probability density at ``x`` (per unit of the values)."""
        x = np.asarray(x, dtype=float)
        t = np.log(np.where(x > 0, x, np.nan)) if self.log else x
        density = np.zeros_like(t)
        for c in self.components:
            density += (
                c.weight * np.exp(-0.5 * ((t - c.mean) / c.sd) ** 2) / (c.sd * np.sqrt(2 * np.pi))
            )
        if self.log:
            density = np.where(x > 0, density / np.where(x > 0, x, 1.0), 0.0)
        return density

    def expected_counts(self, bin_edges) -> np.ndarray:
        """Values the fit expects in each bin (for drawing the fit over a histogram)."""
        edges = np.asarray(bin_edges, dtype=float)
        if self.log:
            edges = np.log(np.where(edges > 0, edges, np.nan))
        cdf = sum(c.weight * ndtr((edges - c.mean) / c.sd) for c in self.components)
        return self.n * np.diff(np.nan_to_num(cdf, nan=0.0))

    def to_dict(self, unit: str = "") -> dict:
        suffix = f"_{unit}" if unit else ""
        out = {
            "model": "lognormal" if self.log else "gaussian",
            "n_components": self.n_components,
            "components": [
                {"weight": c.weight, f"mean{suffix}": c.mean, f"sd{suffix}": c.sd}
                for c in self.populations()
            ],
            "bic": {str(k): v for k, v in self.bic.items()},
            "log_likelihood": self.log_likelihood,
            "n": self.n,
        }
        if self.log:
            for entry, c in zip(out["components"], self.components, strict=True):
                entry.update(log_mean=c.mean, log_sd=c.sd)
        return out


def histogram(values, *, bin_width: float | None = None, min_bin_width: float = 0.0):
    """Histogram of ``values`` with a fixed bin width.

    Parameters
    ----------
    values : (n,) array_like
    bin_width : float, optional
        Default: the Freedman–Diaconis width ``2·IQR/n^(1/3)``, at least ``min_bin_width``.
    min_bin_width : float
        Lower bound of the automatic width (e.g. the size resolution of the measurement).

    Returns
    -------
    Histogram
        Edges are multiples of the bin width, so histograms of different samples align.
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        return Histogram(np.zeros(0), np.zeros(0, dtype=np.int64))
    if bin_width is None:
        iqr = np.subtract(*np.percentile(x, [75, 25]))
        bin_width = 2.0 * iqr / np.cbrt(x.size) if iqr > 0 else 0.0
        bin_width = max(bin_width, min_bin_width)
        if bin_width <= 0:
            bin_width = max(abs(float(x.max())), 1.0) * 0.1
    if not np.isfinite(bin_width) or bin_width <= 0:
        raise AnalysisError(f"histogram bin width {bin_width} must be a positive number")
    lo = np.floor(x.min() / bin_width) * bin_width
    n_bins = max(int(np.floor((x.max() - lo) / bin_width)) + 1, 1)
    edges = lo + bin_width * np.arange(n_bins + 1)
    counts, _ = np.histogram(x, bins=edges)
    return Histogram(edges, counts)


def fit_gaussian_mixture(
    values,
    *,
    max_components: int = 2,
    log: bool = False,
    min_sd: float | None = None,
    max_iter: int = 300,
    tol: float = 1e-6,
) -> MixtureFit:
    """Fit one and two Gaussians by maximum likelihood and keep the lower BIC.

    Parameters
    ----------
    values : (n,) array_like
        The sample (e.g. diameters, nm); at least 3 values.
    max_components : {1, 2}
        Two are tried only when n ≥ 10.
    log : bool
        Fit ln(values) (log-normal populations); values must be positive.
    min_sd : float, optional
        Floor of every component's sd, in the fitted space (ln units with ``log``).
        Default: 1e-3 of the fitted sample's sd.
    max_iter, tol : EM iteration limit and relative log-likelihood tolerance.

    Returns
    -------
    MixtureFit
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size < MIN_VALUES_FOR_FIT or not np.all(np.isfinite(x)):
        raise AnalysisError(
            f"a Gaussian fit needs at least {MIN_VALUES_FOR_FIT} finite values; got {x.size}"
        )
    if max_components not in (1, 2):
        raise AnalysisError(f"max_components {max_components} must be 1 or 2")
    jacobian = 0.0
    if log:
        if np.any(x <= 0):
            raise AnalysisError(f"a log-normal fit needs positive values; minimum {x.min()}")
        x = np.log(x)
        jacobian = -float(x.sum())  # ln L of the values = ln L of ln(values) − Σ ln x
    spread = float(x.std())
    floor = float(min_sd) if min_sd is not None else 1e-3 * spread
    floor = max(floor, 1e-12 * max(abs(float(x.mean())), 1.0))
    n = x.size
    one = (np.array([1.0]), np.array([x.mean()]), np.array([max(spread, floor)]))
    candidates = {1: (one, _log_likelihood(x, *one) + jacobian)}
    if max_components == 2 and n >= MIN_VALUES_FOR_TWO:
        params, ll = _best_two(x, floor, max_iter, tol)
        candidates[2] = (params, ll + jacobian)
    bic = {k: (3 * k - 1) * np.log(n) - 2.0 * ll for k, (_, ll) in candidates.items()}
    chosen = min(bic, key=bic.get)
    (w, mu, sd), ll = candidates[chosen]
    order = np.argsort(mu)
    comps = tuple(GaussianComponent(float(w[i]), float(mu[i]), float(sd[i])) for i in order)
    return MixtureFit(comps, {k: float(v) for k, v in bic.items()}, float(ll), int(n), log)


def _log_components(x, w, mu, sd) -> np.ndarray:
    """(n, k) log of weight × density of each component at each value."""
    z = (x[:, None] - mu) / sd
    return np.log(w) - np.log(sd) - _LOG_SQRT_2PI - 0.5 * z * z


def _log_likelihood(x, w, mu, sd) -> float:
    lp = _log_components(x, w, mu, sd)
    top = lp.max(axis=1, keepdims=True)
    return float(np.sum(top[:, 0] + np.log(np.sum(np.exp(lp - top), axis=1))))


def _best_two(x, floor, max_iter, tol):
    """EM from a few quantile splits at once; the start with the highest likelihood wins."""
    starts = np.array([(0.25, 0.75), (0.1, 0.6), (0.4, 0.9)])
    mu = np.percentile(x, 100 * starts)  # (starts, 2)
    sd = np.full_like(mu, max(float(x.std()) / 2.0, floor))
    w = np.full_like(mu, 0.5)
    w, mu, sd = _em(x, w, mu, sd, floor, max_iter, tol)
    ll = np.array([_log_likelihood(x, w[s], mu[s], sd[s]) for s in range(len(starts))])
    best = int(np.argmax(ll))
    return (w[best], mu[best], sd[best]), float(ll[best])


def _em(x, w, mu, sd, floor, max_iter, tol):
    """Expectation–maximisation for several two-component starts in parallel.

    ``w``, ``mu``, ``sd`` are (starts, 2); iteration stops when no start's log-likelihood
    improves by more than ``tol`` relative, or a component of every start lost its values.
    """
    previous = np.full(w.shape[0], -np.inf)
    xs = x[None, :, None]
    for _ in range(max_iter):
        z = (xs - mu[:, None, :]) / sd[:, None, :]
        lp = np.log(w)[:, None, :] - np.log(sd)[:, None, :] - _LOG_SQRT_2PI - 0.5 * z * z
        top = lp.max(axis=2, keepdims=True)
        total = top + np.log(np.sum(np.exp(lp - top), axis=2, keepdims=True))
        ll = total.sum(axis=(1, 2))
        resp = np.exp(lp - total)
        nk = resp.sum(axis=1)
        # A start whose component lost every value degenerates to one Gaussian: freeze it.
        alive = np.all(nk > 1e-9, axis=1)
        nk = np.maximum(nk, 1e-300)
        new_mu = np.einsum("snk,n->sk", resp, x) / nk
        new_var = np.einsum("snk,snk->sk", resp, (xs - new_mu[:, None, :]) ** 2) / nk
        update = alive[:, None]
        w = np.where(update, nk / x.size, w)
        mu = np.where(update, new_mu, mu)
        sd = np.where(update, np.maximum(np.sqrt(new_var), floor), sd)
        if not np.any(alive & (ll - previous > tol * np.abs(ll))):
            break
        previous = ll
    return w, mu, sd
