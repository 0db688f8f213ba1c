"""Item fit (Orlando–Thissen S-X²) and person fit (Snijders' lz*).

S-X²
----
Persons with complete responses are grouped by summed score s (extreme scores
excluded). For item j the model-implied proportion in category k at score s is

``E_jks = Σ_q P_jk(θ_q) f_{−j}(s − k | θ_q) π_q / Σ_q f(s | θ_q) π_q``

with the summed-score likelihoods f from the Lord–Wingersky recursion (f_{−j}: all
items but j). Sparse cells are pooled until every expected count is at least
``min_expected`` (1 by default, as in mirt; see :func:`_pooled_chi_square`).
``S-X² = Σ (O − E)² / E`` over cells; ``df`` = independent category contrasts minus
the item's free parameters.

lz*
---
For dichotomous items, ``lz* = (W(θ̂) + c_n r_0(θ̂)) / sqrt(Σ w̃_j² P_j (1 − P_j))`` with
``W = Σ (x_j − P_j) w_j``, ``w_j = logit P_j``, ``r_j = P_j' / (P_j (1 − P_j))``,
``c_n = Σ P_j' w_j / Σ P_j' r_j``, ``w̃_j = w_j − c_n r_j`` and, for the WLE used here,
``r_0 = J(θ) / (2 I(θ))`` (Snijders 2001; Magis, Raîche & Béland 2012).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import chi2

from .data import ResponseData
from .errors import DataError
from .likelihood import Quadrature
from .models import DICHOTOMOUS, ItemBank, Population
from .scoring import ScoringOptions, align_responses, score_persons, summed_score_likelihood

_N_PARAMS = {"rasch": 1, "1pl": 1, "2pl": 2, "3pl": 3}


@dataclass
class ItemFitResult:
    """S-X² per item: statistic, degrees of freedom and p-value (each (n_items,))."""

    item_ids: tuple[str, ...]
    s_x2: np.ndarray
    df: np.ndarray
    p: np.ndarray
    n_persons: int


def _free_parameters(model: str, n_categories: int) -> int:
    return _N_PARAMS.get(model, n_categories)


def s_x2(data: ResponseData, bank: ItemBank, population: Population = Population(),
         min_expected: float = 1.0, n_quadrature: int = 61, bound: float = 6.0) -> ItemFitResult:
    """Orlando–Thissen S-X² for every item (complete response patterns only)."""
    data, bank = align_responses(data, bank)
    dense = data.to_dense()
    complete = ~np.isnan(dense).any(axis=1)
    if complete.sum() < 10:
        raise DataError("S-X² needs at least 10 persons who answered every item")
    x = dense[complete].astype(int)
    quad = Quadrature.grid(n_quadrature, bound)
    w = np.exp(quad.log_weights(population.mean, population.sd))
    probs = bank.category_probabilities(quad.nodes)
    k = bank.n_categories
    full = summed_score_likelihood(probs, k)
    totals = x.sum(axis=1)
    max_sum = full.shape[1] - 1
    stats, dfs = np.zeros(bank.n_items), np.zeros(bank.n_items, dtype=int)
    for j in range(bank.n_items):
        rest = summed_score_likelihood(np.delete(probs, j, axis=1), np.delete(k, j))
        expected = _expected_table(probs[:, j, : k[j]], rest, full, w)
        observed = np.zeros((max_sum + 1, k[j]))
        np.add.at(observed, (totals, x[:, j]), 1.0)
        stats[j], contrasts = _pooled_chi_square(observed[1:max_sum], expected[1:max_sum],
                                                 min_expected)
        dfs[j] = contrasts - _free_parameters(bank.models[j], int(k[j]))
    p = np.where(dfs > 0, chi2.sf(stats, np.maximum(dfs, 1)), np.nan)
    return ItemFitResult(bank.ids, stats, dfs, p, int(complete.sum()))


def _expected_table(pj, rest, full, w):
    """Model proportions of each category at each summed score, shape (max_sum + 1, K)."""
    n_sums, kj = full.shape[1], pj.shape[1]
    num = np.zeros((n_sums, kj))
    for cat in range(kj):
        width = rest.shape[1]
        num[cat : cat + width, cat] = (pj[:, cat : cat + 1] * rest * w[:, None]).sum(axis=0)
    den = (full * w[:, None]).sum(axis=0)
    return num / den[:, None]


def _pooled_chi_square(observed, proportions, min_expected):
    """Pearson X² and its number of independent contrasts after pooling sparse cells.

    Dichotomous items: a score group with an expected count below ``min_expected`` is
    pooled into its adjacent group with fewer persons (first such group first).
    Polytomous items: score groups lacking some categories structurally are pooled
    into the nearest complete group (Kang & Chen, 2008); then, within each group,
    the sparsest category is pooled into its sparser neighbour until none is sparse.
    Returns (statistic, contrasts); df = contrasts − item parameters.
    """
    n = observed.sum(axis=1)
    obs, exp = observed.copy(), proportions * n[:, None]
    k = obs.shape[1]
    if k > 2:
        obs, exp = _pool_incomplete_tails(obs, exp, k)
    filled = obs.sum(axis=1) > 0
    obs, exp = obs[filled], exp[filled]
    if k == 2:
        obs, exp = _pool_sparse_rows(obs, exp, min_expected)
    stat, contrasts = 0.0, 0
    for o_row, e_row in zip(obs, exp, strict=False):
        if k > 2:
            o_row, e_row = _pool_sparse_categories(list(o_row), list(e_row), min_expected)
        o_row, e_row = np.asarray(o_row), np.asarray(e_row)
        pos = e_row > 0
        stat += float(np.sum((o_row[pos] - e_row[pos]) ** 2 / e_row[pos]))
        contrasts += max(int(pos.sum()) - 1, 0)
    return stat, contrasts


def _pool_incomplete_tails(obs, exp, k):
    low, high = k - 2, obs.shape[0] + 1 - k  # rows with every category possible
    if high < low:
        return obs[:0], exp[:0]
    obs, exp = obs.copy(), exp.copy()
    for arr in (obs, exp):
        arr[low] += arr[:low].sum(axis=0)
        if high > low:
            arr[high] += arr[high + 1 :].sum(axis=0)
    if high == low:
        return obs[low : low + 1], exp[low : low + 1]
    return obs[low : high + 1], exp[low : high + 1]


def _pool_sparse_rows(obs, exp, min_expected):
    threshold = min_expected * (1 - 1e-9)  # pooled expected totals carry rounding
    obs, exp = list(obs), list(exp)
    while len(exp) > 1:
        sparse = [i for i, e in enumerate(exp) if e.min() < threshold]
        if not sparse:
            break
        i = sparse[0]
        if i == 0:
            to = 1
        elif i == len(exp) - 1:
            to = i - 1
        else:
            to = i - 1 if obs[i - 1].sum() <= obs[i + 1].sum() else i + 1
        obs[to], exp[to] = obs[to] + obs[i], exp[to] + exp[i]
        del obs[i], exp[i]
    return np.array(obs), np.array(exp)


def _pool_sparse_categories(obs, exp, min_expected):
    threshold = min_expected * (1 - 1e-9)
    while len(exp) > 1 and min(exp) < threshold:
        i = exp.index(min(exp))
        if i == 0:
            to = 1
        elif i == len(exp) - 1:
            to = i - 1
        else:
            to = i - 1 if exp[i - 1] <= exp[i + 1] else i + 1
        obs[to] += obs[i]
        exp[to] += exp[i]
        del obs[i], exp[i]
    return obs, exp


# ---------------------------------------------------------------------------------------
# Person fit
# ---------------------------------------------------------------------------------------


@dataclass
class PersonFitResult:
    """lz* per person (NaN for extreme or too short patterns) and the WLE used."""

    person_ids: tuple[str, ...]
    lz_star: np.ndarray
    theta: np.ndarray


def lz_star(data: ResponseData, bank: ItemBank) -> PersonFitResult:
    """Snijders' corrected lz* at the WLE (dichotomous items only)."""
    data, bank = align_responses(data, bank)
    if any(m not in DICHOTOMOUS for m in bank.models):
        raise DataError("lz* is defined for dichotomous items only")
    theta = score_persons(data, bank, options=ScoringOptions(method="wle")).theta
    it, pp = data.items, data.persons
    a, c = bank.a[it], bank.c[it]
    s = expit(a * theta[pp] + bank.d[it, 0])
    p = c + (1 - c) * s
    d1 = (1 - c) * a * s * (1 - s)
    d2 = (1 - c) * a * a * s * (1 - s) * (1 - 2 * s)
    q = p * (1 - p)
    x = data.scores.astype(float)
    w = np.log(p / (1 - p))
    r = d1 / q

    def total(v):
        return np.bincount(pp, v, minlength=data.n_persons)

    c_n = total(d1 * w) / total(d1 * r)
    r0 = total(d1 * d2 / q) / (2 * total(d1 * r))
    w_t = w - c_n[pp] * r
    num = total((x - p) * w) + c_n * r0
    lz = num / np.sqrt(total(w_t**2 * q))
    n_obs = total(np.ones_like(x))
    n_right = total(x)
    lz[(n_right == 0) | (n_right == n_obs) | (n_obs < 2)] = np.nan
    return PersonFitResult(data.person_ids, lz, theta)
