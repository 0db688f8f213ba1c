"""Differential item functioning: Mantel–Haenszel with the ETS A/B/C classification.

Persons are matched on the summed score of the items they answered. Within each score
stratum k, for reference (R) and focal (F) groups: A = R correct, B = R incorrect,
C = F correct, D = F incorrect, N = stratum size. Then

``α_MH = Σ A D / N / Σ B C / N``, ``Δ_MH = −2.35 ln α_MH`` (ETS delta scale; negative
values mean the item is harder for the focal group), the continuity-corrected MH χ²,
and the Robins–Breslow–Greenland variance of ``ln α_MH``.

ETS classes: **A** if ``|Δ| < 1`` or χ² not significant at 5 %; **C** if ``|Δ| ≥ 1.5``
and ``|Δ|`` is significantly larger than 1 (one-sided 5 %); **B** otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2, norm

from .data import ResponseData
from .errors import DataError


@dataclass
class DIFResult:
    """Per item (each (n_items,)): α_MH, Δ_MH, its SE, MH χ², p-value and ETS class."""

    item_ids: tuple[str, ...]
    alpha: np.ndarray
    delta: np.ndarray
    se_delta: np.ndarray
    chi_square: np.ndarray
    p: np.ndarray
    ets_class: list[str]
    reference: str
    focal: str


def mantel_haenszel(data: ResponseData, groups, reference: str | None = None) -> DIFResult:
    """Mantel–Haenszel DIF of every dichotomous item between two groups.

    Parameters
    ----------
    data : responses
    groups : (n_persons,) group label of each person (exactly two distinct labels)
    reference : label of the reference group (default: the first label in sorted order)
    """
    groups = np.asarray(groups).astype(str)
    labels = sorted(set(groups.tolist()) - {""})
    if len(labels) != 2:
        raise DataError(f"DIF needs exactly two groups, found {len(labels)}: {labels[:5]}")
    ref = reference if reference is not None else labels[0]
    if ref not in labels:
        raise DataError(f"reference group {ref!r} not among {labels}")
    focal = labels[1] if ref == labels[0] else labels[0]
    raw = data.raw_scores().astype(float)
    totals = np.bincount(data.persons, raw, minlength=data.n_persons).astype(int)
    is_ref = groups == ref
    is_foc = groups == focal
    rows = [_item_mh(data, j, totals, is_ref, is_foc) for j in range(data.n_items)]
    alpha, delta, se, stat, p = (np.array(v) for v in zip(*rows, strict=False))
    classes = [_ets_class(dl, s, pv) for dl, s, pv in zip(delta, se, p, strict=False)]
    return DIFResult(data.item_ids, alpha, delta, se, stat, p, classes, ref, focal)


def _item_mh(data: ResponseData, j: int, totals, is_ref, is_foc):
    if len(data.categories[j]) != 2:
        return (np.nan,) * 5
    sel = data.items == j
    person = data.persons[sel]
    right = data.scores[sel] == 1
    strata = totals[person]
    size = strata.max() + 1 if strata.size else 1
    tab = np.zeros((4, size))
    for row, mask in enumerate((is_ref[person] & right, is_ref[person] & ~right,
                                is_foc[person] & right, is_foc[person] & ~right)):
        tab[row] = np.bincount(strata[mask], minlength=size)
    a, b, c, d = tab
    n = a + b + c + d
    ok = (n > 1) & (a + b > 0) & (c + d > 0)
    a, b, c, d, n = a[ok], b[ok], c[ok], d[ok], n[ok]
    r, s = a * d / n, b * c / n
    if r.sum() == 0 or s.sum() == 0:
        return (np.nan,) * 5
    alpha = r.sum() / s.sum()
    pk, qk = (a + d) / n, (b + c) / n
    var_log = (np.sum(pk * r) / (2 * r.sum() ** 2)
               + np.sum(pk * s + qk * r) / (2 * r.sum() * s.sum())
               + np.sum(qk * s) / (2 * s.sum() ** 2))
    n_r, n_f, m1, m0 = a + b, c + d, a + c, b + d
    expected = n_r * m1 / n
    var_a = n_r * n_f * m1 * m0 / (n * n * (n - 1))
    stat = (abs(a.sum() - expected.sum()) - 0.5) ** 2 / var_a.sum()
    return alpha, -2.35 * np.log(alpha), 2.35 * np.sqrt(var_log), stat, chi2.sf(stat, 1)


def _ets_class(delta: float, se: float, p: float) -> str:
    if not np.isfinite(delta):
        return ""
    if abs(delta) < 1.0 or p >= 0.05:
        return "A"
    if abs(delta) >= 1.5 and (abs(delta) - 1.0) / se > norm.ppf(0.95):
        return "C"
    return "B"
