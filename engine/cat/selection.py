"""Item selection criteria: larger is better; blocked items are set to −inf by the engine.

``mfi``     Fisher information ``I_j(θ̂)`` at the current estimate.
``kl``      Chang & Ying's Kullback–Leibler index
            ``KL_j = ∫_{θ̂−δ}^{θ̂+δ} Σ_k P_jk(θ̂) log(P_jk(θ̂)/P_jk(θ)) dθ`` with
            ``δ = z/√t`` after ``t`` responses (5-point Gauss–Legendre rule).
``astrat``  a-stratified selection (Chang & Ying 1999): the bank is split into S strata
            of increasing slope; stage s of the test draws from stratum s the item whose
            location is closest to θ̂ (other strata only if stratum s is exhausted).

A random start (the first ``n`` items at random among the eligible ones) is an engine
option, not a selector, so it combines with any of them and with content balancing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .bank import CATBank
from .errors import CATOptionsError


class ItemSelector(Protocol):
    """Role: score every item for the next step of every person."""

    name: str

    def criterion(self, bank: CATBank, theta: np.ndarray, length: np.ndarray,
                  max_length: int) -> np.ndarray:
        """Scores of shape (n, n_items) for abilities ``theta`` (n,) after ``length`` (n,)."""
        ...


@dataclass(frozen=True)
class MaxInfoSelector:
    """Maximum Fisher information at θ̂."""

    name: str = "mfi"

    def criterion(self, bank: CATBank, theta: np.ndarray, length: np.ndarray,
                  max_length: int) -> np.ndarray:
        return bank.information(theta)


@dataclass(frozen=True)
class KLSelector:
    """Kullback–Leibler information over a shrinking interval around θ̂."""

    z: float = 3.0
    name: str = "kl"

    def criterion(self, bank: CATBank, theta: np.ndarray, length: np.ndarray,
                  max_length: int) -> np.ndarray:
        x, w = np.polynomial.legendre.leggauss(5)
        delta = self.z / np.sqrt(np.maximum(length, 1))
        n = theta.size
        points = theta[:, None] + delta[:, None] * x[None, :]  # (n, 5)
        p_hat = bank.bank.category_probabilities(theta)  # (n, J, K)
        p_pts = bank.bank.category_probabilities(points.ravel()).reshape(
            n, x.size, bank.n_items, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(p_hat[:, None] > 0,
                             np.log(p_hat[:, None] / np.maximum(p_pts, 1e-300)), 0.0)
        kl = np.sum(p_hat[:, None] * ratio, axis=-1)  # (n, 5, J)
        return np.einsum("nqj,q->nj", kl, w) * delta[:, None]


@dataclass(frozen=True)
class AStratifiedSelector:
    """a-stratified selection with ``n_strata`` strata of equal size."""

    n_strata: int = 4
    name: str = "astrat"

    def __post_init__(self) -> None:
        if self.n_strata < 1:
            raise CATOptionsError("n_strata must be at least 1")

    def criterion(self, bank: CATBank, theta: np.ndarray, length: np.ndarray,
                  max_length: int) -> np.ndarray:
        order = np.argsort(bank.bank.a, kind="stable")
        stratum = np.empty(bank.n_items, dtype=np.int64)
        stratum[order] = np.arange(bank.n_items) * self.n_strata // bank.n_items
        stage = np.minimum(length * self.n_strata // max(max_length, 1), self.n_strata - 1)
        closeness = -np.abs(bank.location[None, :] - theta[:, None])
        # Items of other strata stay selectable, far behind, if a stratum runs out.
        return closeness - 1e6 * np.abs(stratum[None, :] - stage[:, None])


SELECTORS = {"mfi": MaxInfoSelector, "kl": KLSelector, "astrat": AStratifiedSelector}


def make_selector(name: str) -> ItemSelector:
    """Selector by name (``mfi``, ``kl``, ``astrat``)."""
    if name not in SELECTORS:
        raise CATOptionsError(f"unknown selection {name!r}; use one of {sorted(SELECTORS)}")
    return SELECTORS[name]()
