"""Classical item statistics: difficulty, corrected point-biserial, alpha, option counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import ResponseData


@dataclass
class ClassicalStats:
    """Classical statistics.

    Attributes
    ----------
    item_ids : (n_items,)
    n : (n_items,) persons who answered each item
    p_value : (n_items,) mean score / maximum score (proportion correct for 0/1 items)
    point_biserial : (n_items,) correlation of the item with the rest score (corrected)
    alpha : Cronbach's alpha over complete response patterns
    alpha_if_deleted : (n_items,) alpha without each item
    option_counts : per item, raw value → count, plus ``"missing"``
    """

    item_ids: tuple[str, ...]
    n: np.ndarray
    p_value: np.ndarray
    point_biserial: np.ndarray
    alpha: float
    alpha_if_deleted: np.ndarray
    option_counts: list[dict]


def cronbach_alpha(scores: np.ndarray) -> float:
    """Cronbach's alpha ``k/(k−1) (1 − Σ var_j / var_total)``; scores (persons, items)."""
    k = scores.shape[1]
    if k < 2 or scores.shape[0] < 2:
        return float("nan")
    item_var = scores.var(axis=0, ddof=1).sum()
    total_var = scores.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - item_var / total_var)) if total_var > 0 else float("nan")


def classical_stats(data: ResponseData) -> ClassicalStats:
    """Classical statistics of every item (missing cells are skipped item by item)."""
    raw = data.to_dense(raw=True)
    observed = ~np.isnan(raw)
    n = observed.sum(axis=0)
    lo = np.array([c[0] for c in data.categories], dtype=float)
    hi = np.array([c[-1] for c in data.categories], dtype=float)
    p_value = (np.nanmean(raw, axis=0) - lo) / np.where(hi > lo, hi - lo, 1.0)
    filled = np.where(observed, raw, 0.0)
    total = filled.sum(axis=1)
    rpb = np.array([_corr(raw[observed[:, j], j], (total - filled[:, j])[observed[:, j]])
                    for j in range(data.n_items)])
    complete = raw[observed.all(axis=1)]
    alpha = cronbach_alpha(complete)
    if_deleted = np.array([cronbach_alpha(np.delete(complete, j, axis=1))
                           for j in range(data.n_items)])
    return ClassicalStats(data.item_ids, n, p_value, rpb, alpha, if_deleted,
                          option_counts(data))


def option_counts(data: ResponseData) -> list[dict]:
    """Per item, count of each raw value (distractor analysis) and of missing cells."""
    raw = data.raw_scores()
    out = []
    for j in range(data.n_items):
        values, counts = np.unique(raw[data.items == j], return_counts=True)
        row = {int(v): int(c) for v, c in zip(values, counts, strict=False)}
        row["missing"] = int(data.n_persons - counts.sum())
        out.append(row)
    return out


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
