"""Item fit (Orlando–Thissen S-X²) and person fit (Snijders' lz*).

S-X²
----
Persons with complete responses are grouped by summed score s (extreme scores
excluded). For item j the model-implied proportion in category k at score s is

``E_jks = Σ_q P_jk(θ_q) f_{−j}(s − k | θ_q) π_q / Σ_q f(s | θ_q) π_q``

with the summed-score likelihoods f from the Lord–Wingersky recursion (f_{−j}: all
items but j). Adjacent score groups are pooled from both tails until every expected
count is at least ``min_expected`` (1 by default, as in mirt). ``S-X² = Σ (O − E)² / E``
over groups and categories, ``df = groups · (K − 1) − free parameters of the item``.

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
        stats[j], groups = _pooled_chi_square(observed[1:max_sum], expected[1:max_sum],
                                              min_expected)
        dfs[j] = groups * (k[j] - 1) - _free_parameters(bank.models[j], int(k[j]))
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
    """Pool adjacent score groups from both tails until expected counts ≥ min_expected."""
    n = observed.sum(axis=1)
    keep = n > 0
    obs, exp = observed[keep], proportions[keep] * n[keep, None]
    rows_o, rows_e = [list(r) for r in obs], [list(r) for r in exp]
    rows_o, rows_e = _pool_from_start(rows_o, rows_e, min_expected)
    rows_o, rows_e = _pool_from_start(rows_o[::-1], rows_e[::-1], min_expected)
    o, e = np.array(rows_o), np.array(rows_e)
    if o.size == 0:
        return np.nan, 0
    stat = float(np.sum((o - e) ** 2 / np.maximum(e, 1e-12)))
    return stat, len(o)


def _pool_from_start(rows_o, rows_e, min_expected):
    out_o, out_e = [], []
    acc_o = acc_e = None
    for o, e in zip(rows_o, rows_e):
        acc_o = np.array(o) if acc_o is None else acc_o + o
        acc_e = np.array(e) if acc_e is None else acc_e + e
        if acc_e.min() >= min_expected:
            out_o.append(acc_o)
            out_e.append(acc_e)
            acc_o = acc_e = None
    if acc_o is not None:
        if out_o:
            out_o[-1] = out_o[-1] + acc_o
            out_e[-1] = out_e[-1] + acc_e
        else:
            out_o.append(acc_o)
            out_e.append(acc_e)
    return out_o, out_e


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
