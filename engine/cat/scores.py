"""The 0–100 score, pass/fail with its confidence, and decision quality at the cut.

Score mapping (see ``docs/cat.md``). Let ``T(θ)`` be the test characteristic curve of
the exam's reference form (expected summed score) and ``M`` its maximum, so
``p(θ) = 100·T(θ)/M`` is the expected percentage score on that form. With a cut
``θ_c`` fixed by standard setting and ``p_c = p(θ_c)``, the reported score is

    s(θ) = 60 · p(θ)/p_c                          if p(θ) ≤ p_c
    s(θ) = 60 + 40 · (p(θ) − p_c)/(100 − p_c)     otherwise,

a monotone map with s(θ_c) = 60 that equals p(θ) exactly when ``p_c = 60`` — which is
the case by construction when no cut is given: θ_c is then the root of p(θ) = 60.

Rudner's classification indices from θ̂ and SE (normal error): with
``π_i = Φ((θ̂_i − θ_c)/SE_i)`` the probability that person i's true θ is above the cut,
accuracy = mean of π_i for passed and 1 − π_i for failed persons, consistency =
mean of π_i² + (1 − π_i)² (two parallel administrations agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from itembank.irt.models import ItemBank

from .errors import CATOptionsError


@dataclass(frozen=True)
class ScoreScale:
    """The 0–100 scale of an exam defined by a reference form and a cut θ."""

    reference: ItemBank
    cut_theta: float

    @classmethod
    def from_reference(cls, reference: ItemBank, cut_theta: float | None = None) -> ScoreScale:
        """Scale with the given cut, or with the θ at which the expected score is 60%."""
        if cut_theta is None:
            scale = cls(reference, 0.0)
            f = lambda t: scale.percent(np.array([t]))[0] - 60.0  # noqa: E731
            if f(-8.0) >= 0 or f(8.0) <= 0:
                raise CATOptionsError("the reference form never crosses 60% on [−8, 8]")
            cut_theta = brentq(f, -8.0, 8.0, xtol=1e-10)
        return cls(reference, float(cut_theta))

    @property
    def max_points(self) -> float:
        return float(sum(max(c) for c in self.reference.categories))

    def percent(self, theta: np.ndarray) -> np.ndarray:
        """Expected percentage score on the reference form, shape of ``theta``."""
        th = np.atleast_1d(np.asarray(theta, dtype=float))
        th = np.clip(th, -20.0, 20.0)
        return 100.0 * self.reference.test_characteristic(th) / self.max_points

    def score(self, theta: np.ndarray) -> np.ndarray:
        """Reported 0–100 score (60 at the cut)."""
        p = self.percent(theta)
        pc = float(self.percent(np.array([self.cut_theta]))[0])
        return np.where(p <= pc, 60.0 * p / pc, 60.0 + 40.0 * (p - pc) / (100.0 - pc))


def pass_probability(theta: np.ndarray, se: np.ndarray, cut: float) -> np.ndarray:
    """P(true θ ≥ cut | θ̂, SE) under normal error."""
    se = np.maximum(np.asarray(se, dtype=float), 1e-12)
    return norm.cdf((np.asarray(theta, dtype=float) - cut) / se)


def classification_confidence(theta: np.ndarray, se: np.ndarray, cut: float) -> np.ndarray:
    """Probability that the pass/fail decision (θ̂ ≥ cut) is right for each person."""
    p = pass_probability(theta, se, cut)
    return np.where(np.asarray(theta) >= cut, p, 1.0 - p)


def rudner_accuracy_consistency(theta: np.ndarray, se: np.ndarray,
                                cut: float) -> tuple[float, float]:
    """Rudner's expected classification accuracy and consistency at the cut."""
    p = pass_probability(theta, se, cut)
    acc = np.where(np.asarray(theta) >= cut, p, 1.0 - p)
    return float(acc.mean()), float(np.mean(p**2 + (1.0 - p) ** 2))


def fixed_form_decision_quality(form: ItemBank, cut: float, mean: float = 0.0, sd: float = 1.0,
                                n_quadrature: int = 81) -> tuple[float, float]:
    """Rudner accuracy and consistency of a fixed form for a N(mean, sd²) population,
    with θ̂ ~ N(θ, 1/I(θ)) from the form's test information."""
    nodes = np.linspace(mean - 5 * sd, mean + 5 * sd, n_quadrature)
    w = norm.pdf(nodes, mean, sd)
    w /= w.sum()
    se = 1.0 / np.sqrt(np.maximum(form.test_information(nodes), 1e-12))
    p_pass = norm.cdf((nodes - cut) / se)  # P(θ̂ ≥ cut | θ)
    truth = nodes >= cut
    acc = np.where(truth, p_pass, 1.0 - p_pass)
    return float(w @ acc), float(w @ (p_pass**2 + (1.0 - p_pass) ** 2))
