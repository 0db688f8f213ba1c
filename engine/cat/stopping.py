"""Stopping rules and the policy that combines them.

A test stops for a person when

* the maximum length is reached, or the time limit is spent; or
* at least the minimum length is reached, the blueprint's lower bounds are met by the
  items already answered, and any one of the precision/classification rules holds:

``SEThreshold(x)``          SE(θ̂) ≤ x.
``ConfidenceInterval(c)``   the (1−α) interval θ̂ ± z·SE excludes the cut c (decided).
``SPRT(c, δ, α, β)``        Wald's test of θ = c − δ against θ = c + δ:
                            ``Λ = ℓ(c+δ) − ℓ(c−δ)``; pass when ``Λ ≥ log((1−β)/α)``,
                            fail when ``Λ ≤ log(β/(1−α))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.stats import norm

from .bank import CATBank
from .errors import CATOptionsError
from .estimation import AbilityEstimate
from .state import TrailState


class StoppingRule(Protocol):
    """Role: say for each person whether the test may end now."""

    def satisfied(self, bank: CATBank, state: TrailState,
                  estimate: AbilityEstimate) -> np.ndarray: ...


def loglik_at(bank: CATBank, state: TrailState, theta: np.ndarray) -> np.ndarray:
    """Exact log-likelihood of each person's answers at ``theta`` (n,), shape (n,)."""
    width = max(int(state.length.max()), 1)
    items = state.items[:, :width]
    valid = items >= 0
    p, _ = bank.kernel_terms(theta, np.where(valid, items, 0))
    px = np.take_along_axis(p, state.scores[:, :width, None], axis=-1)[..., 0]
    return np.sum(np.where(valid, np.log(px), 0.0), axis=1)


@dataclass(frozen=True)
class SEThreshold:
    """Stop once the standard error is at most ``se``."""

    se: float

    def __post_init__(self) -> None:
        if not self.se > 0:
            raise CATOptionsError("the SE threshold must be positive")

    def satisfied(self, bank: CATBank, state: TrailState,
                  estimate: AbilityEstimate) -> np.ndarray:
        return estimate.se <= self.se


@dataclass(frozen=True)
class ConfidenceInterval:
    """Stop once the two-sided (1−α) confidence interval excludes the cut."""

    cut: float
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise CATOptionsError("alpha must lie in (0, 1)")

    def satisfied(self, bank: CATBank, state: TrailState,
                  estimate: AbilityEstimate) -> np.ndarray:
        z = norm.ppf(1 - self.alpha / 2)
        return np.abs(estimate.theta - self.cut) > z * estimate.se


@dataclass(frozen=True)
class SPRT:
    """Wald's sequential probability ratio test around the cut with indifference ±δ."""

    cut: float
    delta: float = 0.3
    alpha: float = 0.05
    beta: float = 0.05

    def __post_init__(self) -> None:
        if not (self.delta > 0 and 0 < self.alpha < 1 and 0 < self.beta < 1):
            raise CATOptionsError("SPRT needs δ > 0 and error rates in (0, 1)")

    def log_ratio(self, bank: CATBank, state: TrailState) -> np.ndarray:
        up = np.full(state.n, self.cut + self.delta)
        return loglik_at(bank, state, up) - loglik_at(bank, state, up - 2 * self.delta)

    def decision(self, bank: CATBank, state: TrailState) -> np.ndarray:
        """(n,) +1 pass, −1 fail, 0 undecided."""
        lr = self.log_ratio(bank, state)
        upper = np.log((1 - self.beta) / self.alpha)
        lower = np.log(self.beta / (1 - self.alpha))
        return np.where(lr >= upper, 1, np.where(lr <= lower, -1, 0))

    def satisfied(self, bank: CATBank, state: TrailState,
                  estimate: AbilityEstimate) -> np.ndarray:
        return self.decision(bank, state) != 0


@dataclass(frozen=True)
class StoppingPolicy:
    """Length bounds, an optional time limit, and rules of which any one may stop."""

    min_length: int = 1
    max_length: int = 30
    max_seconds: float | None = None
    rules: tuple[StoppingRule, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise CATOptionsError("need 1 <= min_length <= max_length")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise CATOptionsError("the time limit must be positive")

    def should_stop(self, bank: CATBank, state: TrailState, estimate: AbilityEstimate,
                    blueprint_met: np.ndarray | None = None) -> np.ndarray:
        """(n,) True where the test ends now."""
        stop = state.length >= self.max_length
        if self.max_seconds is not None:
            stop |= state.elapsed >= self.max_seconds
        may = state.length >= self.min_length
        if blueprint_met is not None:
            may &= blueprint_met
        if self.rules and may.any():
            hit = np.zeros(state.n, dtype=bool)
            for rule in self.rules:
                hit |= rule.satisfied(bank, state, estimate)
            stop |= may & hit
        return stop
