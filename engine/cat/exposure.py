"""Exposure control: choosing the item to serve from the scored candidates.

``none``            the best candidate.
``randomesque:k``   uniformly one of the k best candidates (Kingsbury & Zara).
``sympson-hetter``  walk down the candidates from the best; candidate j is served with
                    probability ``K_j`` and otherwise withdrawn for the rest of the test
                    (Sympson & Hetter). ``K`` comes from :func:`engine.cat.simulation.
                    calibrate_sympson_hetter`, the classic iteration
                    ``K_j ← min(1, r_max / P(S_j))`` over simulated tests, where
                    ``P(S_j)`` is the rate at which j was selected (reached the lottery).
A hard ceiling (:class:`ExposureCeiling`) is an eligibility filter applied before any
of these: items whose observed exposure rate has reached the ceiling are not served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .errors import CATOptionsError


@dataclass
class Choice:
    """The outcome of one exposure-controlled choice for ``n`` persons.

    Attributes
    ----------
    items : (n,) chosen item positions (−1 if a person had no candidate)
    rejected_rows, rejected_items : withdrawn (person, item) pairs, each (m,)
    considered_rows, considered_items : pairs that reached the lottery (selected), (m,)
    """

    items: np.ndarray
    rejected_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rejected_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    considered_rows: np.ndarray | None = None
    considered_items: np.ndarray | None = None


class ExposureControl(Protocol):
    """Role: pick one item per person from candidate scores (−inf = not a candidate)."""

    name: str

    def choose(self, scores: np.ndarray, rng: np.random.Generator) -> Choice: ...


def _best(scores: np.ndarray) -> np.ndarray:
    best = np.argmax(scores, axis=1)
    return np.where(np.isfinite(scores[np.arange(scores.shape[0]), best]), best, -1)


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns per row in descending order, and their scores, each (n, k)."""
    k = min(k, scores.shape[1])
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(k), scores.shape).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


@dataclass(frozen=True)
class NoExposureControl:
    """Always the best candidate."""

    name: str = "none"

    def choose(self, scores: np.ndarray, rng: np.random.Generator) -> Choice:
        return Choice(_best(scores))


@dataclass(frozen=True)
class Randomesque:
    """One of the ``k`` best candidates, uniformly."""

    k: int = 5
    name: str = "randomesque"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise CATOptionsError("randomesque needs k >= 1")

    def choose(self, scores: np.ndarray, rng: np.random.Generator) -> Choice:
        cols, vals = _top(scores, self.k)
        n_ok = np.isfinite(vals).sum(axis=1)
        pick = np.minimum((rng.random(scores.shape[0]) * n_ok).astype(np.int64),
                          np.maximum(n_ok - 1, 0))
        items = cols[np.arange(scores.shape[0]), pick]
        return Choice(np.where(n_ok > 0, items, -1))


@dataclass(frozen=True)
class SympsonHetter:
    """Probabilistic withdrawal with exposure parameters ``k`` of shape (n_items,).

    ``depth`` bounds how many candidates are examined per step; if all of them are
    withdrawn, the last one is served (it cannot happen when some ``K_j = 1``).
    """

    k: np.ndarray
    depth: int = 32
    name: str = "sympson-hetter"

    def __post_init__(self) -> None:
        k = np.asarray(self.k, dtype=float)
        if k.ndim != 1 or np.any((k < 0) | (k > 1)):
            raise CATOptionsError("Sympson–Hetter parameters must be a vector in [0, 1]")

    def choose(self, scores: np.ndarray, rng: np.random.Generator) -> Choice:
        n = scores.shape[0]
        cols, vals = _top(scores, self.depth)
        finite = np.isfinite(vals)
        passes = (rng.random(cols.shape) < np.asarray(self.k)[cols]) & finite
        n_ok = finite.sum(axis=1)
        first = np.where(passes.any(axis=1), np.argmax(passes, axis=1), np.maximum(n_ok - 1, 0))
        items = np.where(n_ok > 0, cols[np.arange(n), first], -1)
        before = np.arange(cols.shape[1])[None, :] < first[:, None]
        rej_r, rej_c = np.nonzero(before & finite & (n_ok > 0)[:, None])
        cons = np.arange(cols.shape[1])[None, :] <= first[:, None]
        con_r, con_c = np.nonzero(cons & finite)
        return Choice(items, rej_r, cols[rej_r, rej_c], con_r, cols[con_r, con_c])


@dataclass
class ExposureCeiling:
    """Hard ceiling: items administered in at least ``max_rate`` of the tests so far are
    not served. ``counts`` (n_items,) and ``n_tests`` are the ledger the caller keeps
    (from stored sessions in production, updated between cohorts in simulation); the
    ceiling applies once ``n_tests ≥ min_tests``.
    """

    max_rate: float
    counts: np.ndarray
    n_tests: int = 0
    min_tests: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.max_rate <= 1:
            raise CATOptionsError("the exposure ceiling must lie in (0, 1]")

    def over(self) -> np.ndarray:
        """(n_items,) True for items at or above the ceiling."""
        if self.n_tests < self.min_tests:
            return np.zeros(self.counts.size, dtype=bool)
        return self.counts >= self.max_rate * self.n_tests


def parse_exposure(spec: str, n_items: int) -> ExposureControl:
    """``none``, ``randomesque:K`` or ``sympson-hetter:RMAX`` (K set to ones; calibrate
    with :func:`engine.cat.simulation.calibrate_sympson_hetter`)."""
    name, _, arg = spec.partition(":")
    try:
        if name == "none":
            return NoExposureControl()
        if name == "randomesque":
            return Randomesque(int(arg or 5))
        if name == "sympson-hetter":
            float(arg or 0.2)
            return SympsonHetter(np.ones(n_items))
    except ValueError:
        pass
    raise CATOptionsError(f"bad exposure spec {spec!r}: use none, randomesque:K "
                          "or sympson-hetter:RMAX")
