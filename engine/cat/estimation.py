"""Ability estimators for one step of an adaptive test, vectorized over persons.

``EAP``  posterior mean on the quadrature nodes under a N(μ, σ²) prior; SE = posterior SD.
``MAP``  maximizer of ``ℓ(θ) + log φ((θ−μ)/σ)``; SE = ``1/√(I(θ̂) + 1/σ²)``.
``ML``   maximizer of ``ℓ(θ) = Σ log P_{j,x_j}(θ)``; SE = ``1/√I(θ̂)``. While every answer
         is at the lowest (or every answer at the highest) category the likelihood has
         no maximum and a fallback estimator (EAP by default) is used and flagged.
``WLE``  Warm's weighted likelihood, root of ``ℓ'(θ) + J(θ)/(2 I(θ))`` with
         ``J = Σ_j Σ_k P'_jk P''_jk / P_jk``; SE = ``1/√I(θ̂)``.

The mode-type estimators start from the best quadrature node of their objective (the
node table of the fold, no extra kernel work) and are refined by Fisher scoring,
``θ ← θ + g(θ) / (I(θ) [+ 1/σ²])``, on the answered items with the IRT core's kernels,
until the step is below 1e-7 (at most 30 steps), inside [−bound, bound].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .bank import CATBank
from .errors import CATOptionsError
from .state import TrailState


@dataclass(frozen=True)
class AbilityEstimate:
    """Ability estimates of ``n`` persons.

    Attributes
    ----------
    theta, se : (n,) estimates and standard errors
    method : estimator name
    fallback : (n,) True where the fallback estimator replaced ML
    """

    theta: np.ndarray
    se: np.ndarray
    method: str
    fallback: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class AbilityEstimator(Protocol):
    """Role: estimate θ and its SE from a :class:`TrailState`."""

    name: str

    def estimate(self, bank: CATBank, state: TrailState) -> AbilityEstimate: ...


def _log_prior(nodes: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return -0.5 * ((nodes - mean) / sd) ** 2


def _check_prior(mean: float, sd: float) -> None:
    if not np.isfinite(mean) or not sd > 0:
        raise CATOptionsError("the prior needs a finite mean and a positive sd")


@dataclass(frozen=True)
class EAPEstimator:
    """Expected a posteriori estimate under a normal prior (the default)."""

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    name: str = "eap"

    def __post_init__(self) -> None:
        _check_prior(self.prior_mean, self.prior_sd)

    def estimate(self, bank: CATBank, state: TrailState) -> AbilityEstimate:
        w = state.loglik + _log_prior(bank.nodes, self.prior_mean, self.prior_sd)
        w -= w.max(axis=1, keepdims=True)
        np.exp(w, out=w)
        w /= w.sum(axis=1, keepdims=True)
        mean = w @ bank.nodes
        var = w @ (bank.nodes**2) - mean**2
        return AbilityEstimate(mean, np.sqrt(np.maximum(var, 0.0)), self.name,
                               np.zeros(mean.size, dtype=bool))


def _fisher_scoring(bank: CATBank, state: TrailState, theta: np.ndarray, kind: str,
                    prior: tuple[float, float], bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Refine ``theta`` (n,) by Fisher scoring; returns (theta, information without prior)."""
    width = max(int(state.length.max()), 1)
    items = state.items[:, :width]
    valid = items >= 0
    items = np.where(valid, items, 0)
    scores = np.where(valid, state.scores[:, :width], 0)
    mean, sd = prior
    info = np.zeros_like(theta)
    for _ in range(30):
        terms = bank.kernel_terms(theta, items, second=kind == "wle")
        p, dp = terms[0], terms[1]
        px = np.take_along_axis(p, scores[..., None], axis=-1)[..., 0]
        dpx = np.take_along_axis(dp, scores[..., None], axis=-1)[..., 0]
        grad = np.sum(np.where(valid, dpx / px, 0.0), axis=1)
        info = np.sum(np.where(valid[..., None], dp * dp / p, 0.0), axis=(1, 2))
        curv = info.copy()
        if kind == "map":
            grad -= (theta - mean) / sd**2
            curv += 1.0 / sd**2
        elif kind == "wle":
            j = np.sum(np.where(valid[..., None], dp * terms[2] / p, 0.0), axis=(1, 2))
            grad += j / (2.0 * np.maximum(info, 1e-12))
        step = np.clip(grad / np.maximum(curv, 1e-12), -1.0, 1.0)
        theta = np.clip(theta + step, -bound, bound)
        if np.all(np.abs(step) < 1e-7):
            break
    return theta, info


def _mode_start(bank: CATBank, state: TrailState, objective: np.ndarray) -> np.ndarray:
    return bank.nodes[np.argmax(objective, axis=1)]


@dataclass(frozen=True)
class MAPEstimator:
    """Bayes modal estimate under a normal prior."""

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    bound: float = 6.0
    name: str = "map"

    def __post_init__(self) -> None:
        _check_prior(self.prior_mean, self.prior_sd)

    def estimate(self, bank: CATBank, state: TrailState) -> AbilityEstimate:
        prior = _log_prior(bank.nodes, self.prior_mean, self.prior_sd)
        theta = _mode_start(bank, state, state.loglik + prior)
        theta, info = _fisher_scoring(bank, state, theta, "map",
                                      (self.prior_mean, self.prior_sd), self.bound)
        se = 1.0 / np.sqrt(info + 1.0 / self.prior_sd**2)
        return AbilityEstimate(theta, se, self.name, np.zeros(theta.size, dtype=bool))


def extreme_patterns(bank: CATBank, state: TrailState) -> np.ndarray:
    """(n,) True where no response was given or all are lowest, or all highest, categories."""
    width = max(int(state.length.max()), 1)
    items = state.items[:, :width]
    valid = items >= 0
    scores = state.scores[:, :width]
    top = bank.top_category[np.where(valid, items, 0)]
    all_low = np.all(~valid | (scores == 0), axis=1)
    all_high = np.all(~valid | (scores == top), axis=1)
    return all_low | all_high


@dataclass(frozen=True)
class MLEstimator:
    """Maximum likelihood with a fallback estimator for patterns without a finite maximum."""

    fallback: AbilityEstimator = field(default_factory=EAPEstimator)
    bound: float = 6.0
    name: str = "ml"

    def estimate(self, bank: CATBank, state: TrailState) -> AbilityEstimate:
        extreme = extreme_patterns(bank, state)
        theta = np.zeros(state.n)
        se = np.zeros(state.n)
        if extreme.any():
            fb = self.fallback.estimate(bank, state.rows(np.flatnonzero(extreme)))
            theta[extreme], se[extreme] = fb.theta, fb.se
        ok = np.flatnonzero(~extreme)
        if ok.size:
            part = state.rows(ok)
            start = _mode_start(bank, part, part.loglik)
            th, info = _fisher_scoring(bank, part, start, "ml", (0.0, 1.0), self.bound)
            theta[ok], se[ok] = th, 1.0 / np.sqrt(np.maximum(info, 1e-12))
        return AbilityEstimate(theta, se, self.name, extreme)


@dataclass(frozen=True)
class WLEEstimator:
    """Warm's weighted likelihood estimate (finite for extreme patterns)."""

    bound: float = 6.0
    name: str = "wle"

    def estimate(self, bank: CATBank, state: TrailState) -> AbilityEstimate:
        empty = state.length == 0
        objective = state.loglik + 0.5 * np.log(np.maximum(state.info_nodes, 1e-300))
        theta = _mode_start(bank, state, objective)
        theta[empty] = 0.0
        theta, info = _fisher_scoring(bank, state, theta, "wle", (0.0, 1.0), self.bound)
        se = np.where(empty, np.inf, 1.0 / np.sqrt(np.maximum(info, 1e-12)))
        return AbilityEstimate(theta, se, self.name, np.zeros(theta.size, dtype=bool))


ESTIMATORS = {"eap": EAPEstimator, "map": MAPEstimator, "ml": MLEstimator, "wle": WLEEstimator}


def make_estimator(name: str, prior_mean: float = 0.0, prior_sd: float = 1.0) -> AbilityEstimator:
    """Estimator by name (``eap``, ``map``, ``ml``, ``wle``)."""
    if name not in ESTIMATORS:
        raise CATOptionsError(f"unknown estimator {name!r}; use one of {sorted(ESTIMATORS)}")
    if name in ("eap", "map"):
        return ESTIMATORS[name](prior_mean=prior_mean, prior_sd=prior_sd)
    return ESTIMATORS[name]()
