"""Rater agreement and severity, pure numpy (no database).

``icc`` computes the six intraclass correlations of Shrout & Fleiss (1979) from an
``n targets × k raters`` matrix by two-way ANOVA mean squares:

- ICC(1,1), ICC(1,k): each target rated by its own set of k raters (one-way model);
- ICC(2,1), ICC(2,k): the same k raters rate every target, raters a random sample;
- ICC(3,1), ICC(3,k): the same k raters, the only raters of interest (consistency).

The practical report uses the one-way forms, because each candidate may be rated by a
different panel; the two-way forms are reported too when one panel rated everyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ICC:
    n: int
    k: int
    bms: float  # between-targets mean square
    wms: float  # within-target mean square (one-way)
    jms: float  # between-raters (judges) mean square
    ems: float  # residual mean square
    icc1_1: float
    icc1_k: float
    icc2_1: float
    icc2_k: float
    icc3_1: float
    icc3_k: float


def icc(ratings: Sequence[Sequence[float]] | np.ndarray) -> ICC:
    """All six Shrout–Fleiss ICCs of a complete matrix (rows targets, columns raters)."""
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("ICC needs at least 2 targets and 2 raters in a complete matrix")
    if not np.isfinite(x).all():
        raise ValueError("ICC needs finite ratings")
    n, k = x.shape
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_targets = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_raters = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_within = ss_total - ss_targets
    ss_error = ss_within - ss_raters
    bms = ss_targets / (n - 1)
    wms = ss_within / (n * (k - 1))
    jms = ss_raters / (k - 1)
    ems = ss_error / ((n - 1) * (k - 1))
    return ICC(
        n=n, k=k, bms=bms, wms=wms, jms=jms, ems=ems,
        icc1_1=_ratio(bms - wms, bms + (k - 1) * wms),
        icc1_k=_ratio(bms - wms, bms),
        icc2_1=_ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        icc2_k=_ratio(bms - ems, bms + (jms - ems) / n),
        icc3_1=_ratio(bms - ems, bms + (k - 1) * ems),
        icc3_k=_ratio(bms - ems, bms),
    )


def _ratio(num: float, den: float) -> float:
    """A ratio that is NaN (undefined) rather than an error when every rating is equal."""
    return float(num / den) if den != 0 else float("nan")


def severity(ratings: Sequence[Mapping[str, float]]) -> dict[str, tuple[float, int]]:
    """Each rater's mean deviation from the other raters of the same target.

    ``ratings`` holds, per target, rater id -> score. A negative value is a severe rater
    (scores below the peers), a positive one a lenient rater; the second number is how
    many targets the mean is over (targets with a single rater say nothing).
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for target in ratings:
        if len(target) < 2:
            continue
        total = sum(target.values())
        for rater, score in target.items():
            peers = (total - score) / (len(target) - 1)
            sums[rater] = sums.get(rater, 0.0) + (score - peers)
            counts[rater] = counts.get(rater, 0) + 1
    return {rater: (sums[rater] / counts[rater], counts[rater]) for rater in sorted(sums)}
