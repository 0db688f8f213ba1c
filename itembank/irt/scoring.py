"""Person scoring: EAP, MAP, ML and WLE with standard errors; Lord–Wingersky tables.

EAP is the posterior mean on the quadrature grid (SE = posterior SD). MAP, ML and WLE
maximize, for every person at once,

``ML``   ``ℓ(θ) = Σ_j log P_j(x_j | θ)``
``MAP``  ``ℓ(θ) + log φ((θ − μ)/σ)``
``WLE``  ``ℓ(θ) + ½ log I(θ)`` (Warm's weighted likelihood)

first on a fine grid (one sparse product, persons × grid), then by vectorized golden
section search inside the best grid cell. SEs are ``1/√I(θ̂)`` (ML, WLE) and
``1/√(I(θ̂) + 1/σ²)`` (MAP), with I the test information of the answered items. ML is
infinite for all-minimum/all-maximum patterns and is reported as ±inf (SE inf).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import ResponseData, as_responses
from .errors import OptionsError
from .likelihood import Quadrature, grid_log_likelihood, posterior
from .models import (
    ItemBank,
    Population,
    family_probabilities,
    family_theta_derivative,
    information_from_derivatives,
)

METHODS = ("eap", "map", "ml", "wle")
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class ScoringOptions:
    """Options of :func:`score_persons`.

    Attributes
    ----------
    method : one of ``eap``, ``map``, ``ml``, ``wle``
    n_quadrature, bound : EAP quadrature grid
    search_bound : ML/MAP/WLE search interval [−search_bound, search_bound]
    """

    method: str = "eap"
    n_quadrature: int = 61
    bound: float = 6.0
    search_bound: float = 7.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise OptionsError(f"unknown scoring method {self.method!r}; use {METHODS}")
        if self.n_quadrature < 5 or self.bound <= 0 or self.search_bound <= 0:
            raise OptionsError("invalid quadrature or search interval")


@dataclass
class ScoreResult:
    """Person scores.

    Attributes
    ----------
    theta : (n_persons,) estimates (±inf for ML on extreme patterns)
    se : (n_persons,) standard errors
    method : estimator used
    person_ids : identifiers in the order of ``theta``
    """

    theta: np.ndarray
    se: np.ndarray
    method: str
    person_ids: tuple[str, ...]


def align_responses(data, bank: ItemBank) -> tuple[ResponseData, ItemBank]:
    """Restrict the bank to the data's items (in data order) and recode to its categories.

    Arrays and sparse matrices are taken to hold the bank's items in bank order.
    """
    data = as_responses(data, item_ids=None if isinstance(data, ResponseData) else bank.ids)
    sub = bank.subset(bank.index(data.item_ids))
    aligned = ResponseData.from_triplets(data.persons, data.items, data.raw_scores(),
                                         (data.n_persons, data.n_items), data.item_ids,
                                         data.person_ids, categories=sub.categories)
    return aligned, sub


def score_persons(data: ResponseData, bank: ItemBank, population: Population = Population(),
                  options: ScoringOptions | None = None) -> ScoreResult:
    """Score every person of ``data`` with the bank's parameters (see module docstring)."""
    opts = options or ScoringOptions()
    data, bank = align_responses(data, bank)
    if opts.method == "eap":
        theta, se = _eap(data, bank, population, opts)
    else:
        theta, se = _maximize(data, bank, population, opts)
    return ScoreResult(theta, se, opts.method, data.person_ids)


def _eap(data, bank, population, opts):
    quad = Quadrature.grid(opts.n_quadrature, opts.bound)
    nodes = quad.nodes * 1.0
    loglik = grid_log_likelihood(data, bank, nodes)
    post = posterior(loglik, quad.log_weights(population.mean, population.sd))
    mean = post.weights @ nodes
    var = post.weights @ nodes**2 - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


# ---------------------------------------------------------------------------------------
# Per-response kernels at person-specific abilities
# ---------------------------------------------------------------------------------------


def _response_terms(data: ResponseData, bank: ItemBank, theta_p: np.ndarray, info: bool):
    """Per-person log-likelihood (and test information) at abilities ``theta_p`` (n_persons,)."""
    th = theta_p[data.persons]
    logp = np.empty(data.n_observed)
    inf = np.zeros(data.n_observed) if info else None
    fams = bank.families[data.items]
    for fam in np.unique(fams):
        sel = np.flatnonzero(fams == fam)
        it = data.items[sel]
        kf = int(bank.n_categories[it].max())
        args = (th[sel], bank.a[it], bank.d[it, : kf - 1], bank.c[it])
        p = family_probabilities(int(fam), *args)
        logp[sel] = np.log(p[np.arange(sel.size), data.scores[sel]])
        if info:
            inf[sel] = information_from_derivatives(
                p, family_theta_derivative(int(fam), *args, probs=p))
    ll = np.bincount(data.persons, logp, minlength=data.n_persons)
    if not info:
        return ll, None
    return ll, np.bincount(data.persons, inf, minlength=data.n_persons)


def _objective(method, ll, info, theta, population):
    if method == "ml":
        return ll
    if method == "map":
        return ll - 0.5 * ((theta - population.mean) / population.sd) ** 2
    return ll + 0.5 * np.log(np.maximum(info, 1e-300))


def _objective_at(data, bank, theta_p, method, population):
    ll, info = _response_terms(data, bank, theta_p, info=method == "wle")
    return _objective(method, ll, info, theta_p, population)


def _grid_objective(data, bank, grid, method, population):
    ll = grid_log_likelihood(data, bank, grid)
    info = None
    if method == "wle":
        info = np.asarray(data.observed_mask() @ bank.item_information(grid).T)
    return _objective(method, ll, info, grid[None, :], population)


def _maximize(data, bank, population, opts):
    grid = np.linspace(-opts.search_bound, opts.search_bound, int(opts.search_bound * 40) + 1)
    obj = _grid_objective(data, bank, grid, opts.method, population)
    best = np.argmax(obj, axis=1)
    step = grid[1] - grid[0]
    lo = np.maximum(grid[best] - step, grid[0])
    hi = np.minimum(grid[best] + step, grid[-1])
    theta = _golden_section(lambda t: _objective_at(data, bank, t, opts.method, population),
                            lo, hi)
    _, info = _response_terms(data, bank, theta, info=True)
    prior_info = 1.0 / population.sd**2 if opts.method == "map" else 0.0
    se = 1.0 / np.sqrt(np.maximum(info + prior_info, 1e-300))
    if opts.method == "ml":
        theta, se = _extremes_to_infinity(data, bank, theta, se)
    return theta, se


def _golden_section(fun, lo, hi, iterations: int = 45):
    """Vectorized golden-section maximization of ``fun`` on brackets [lo, hi]."""
    lo, hi = lo.copy(), hi.copy()
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1, f2 = fun(x1), fun(x2)
    for _ in range(iterations):
        left = f1 >= f2  # maximum lies in [lo, x2]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x2n = np.where(left, x1, lo + _GOLDEN * (hi - lo))
        x1n = np.where(left, hi - _GOLDEN * (hi - lo), x2)
        new = np.where(left, x1n, x2n)
        fnew = fun(new)
        f1, f2 = np.where(left, fnew, f2), np.where(left, f1, fnew)
        x1, x2 = x1n, x2n
    return 0.5 * (lo + hi)


def _extremes_to_infinity(data, bank, theta, se):
    top = bank.n_categories[data.items] - 1
    n_obs = np.bincount(data.persons, minlength=data.n_persons)
    n_min = np.bincount(data.persons, data.scores == 0, minlength=data.n_persons)
    n_max = np.bincount(data.persons, data.scores == top, minlength=data.n_persons)
    theta = theta.copy()
    se = se.copy()
    low, high = (n_min == n_obs) & (n_obs > 0), (n_max == n_obs) & (n_obs > 0)
    theta[low], theta[high] = -np.inf, np.inf
    se[low | high] = np.inf
    theta[n_obs == 0], se[n_obs == 0] = np.nan, np.nan
    return theta, se


# ---------------------------------------------------------------------------------------
# Summed scores
# ---------------------------------------------------------------------------------------


def summed_score_likelihood(probs: np.ndarray, n_categories: np.ndarray) -> np.ndarray:
    """Lord–Wingersky recursion: P(summed score = s | θ_q).

    Parameters
    ----------
    probs : (n_nodes, n_items, K) category probabilities
    n_categories : (n_items,) categories per item (scores 0..K_j−1)

    Returns
    -------
    ndarray, shape (n_nodes, max_sum + 1)
    """
    n_nodes = probs.shape[0]
    total = int(np.sum(np.asarray(n_categories) - 1))
    dist = np.zeros((n_nodes, total + 1))
    dist[:, 0] = 1.0
    top = 0
    for j, k in enumerate(n_categories):
        new = np.zeros_like(dist)
        for cat in range(int(k)):
            new[:, cat : top + cat + 1] += dist[:, : top + 1] * probs[:, j, cat : cat + 1]
        dist = new
        top += int(k) - 1
    return dist


@dataclass
class SumScoreTable:
    """EAP[θ | summed score] table of a fixed form.

    Attributes
    ----------
    sums : (n_scores,) summed scores (raw units)
    theta, se : (n_scores,) posterior mean and SD given the summed score
    probability : (n_scores,) model-implied marginal probability of each summed score
    """

    sums: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    probability: np.ndarray


def sum_score_table(bank: ItemBank, population: Population = Population(),
                    n_quadrature: int = 61, bound: float = 6.0) -> SumScoreTable:
    """Summed score → EAP table by Lord–Wingersky (all items of the bank form the test).

    Summed scores count category indices, shifted by the sum of the lowest raw
    category values, so for 0..K−1 scored items they are raw summed scores.
    """
    quad = Quadrature.grid(n_quadrature, bound)
    like = summed_score_likelihood(bank.category_probabilities(quad.nodes), bank.n_categories)
    prior = np.exp(quad.log_weights(population.mean, population.sd))
    joint = like * prior[:, None]
    marg = joint.sum(axis=0)
    mean = quad.nodes @ joint / marg
    var = (quad.nodes**2) @ joint / marg - mean**2
    offset = sum(cats[0] for cats in bank.categories)
    sums = np.arange(like.shape[1]) + offset
    return SumScoreTable(sums, mean, np.sqrt(np.maximum(var, 0.0)), marg)


def marginal_reliability(bank: ItemBank, population: Population = Population(),
                         n_quadrature: int = 61, bound: float = 6.0) -> float:
    """Marginal reliability ``σ² / (σ² + E_θ[1 / I(θ)])`` over the population (Green et al.)."""
    quad = Quadrature.grid(n_quadrature, bound)
    w = np.exp(quad.log_weights(population.mean, population.sd))
    err = w @ (1.0 / np.maximum(bank.test_information(quad.nodes), 1e-12))
    return float(population.sd**2 / (population.sd**2 + err))


def empirical_reliability(result: ScoreResult) -> float:
    """``var(θ̂) / (var(θ̂) + mean(SE²))`` over finite estimates (for EAP scores)."""
    ok = np.isfinite(result.theta) & np.isfinite(result.se)
    var = np.var(result.theta[ok])
    return float(var / (var + np.mean(result.se[ok] ** 2)))
