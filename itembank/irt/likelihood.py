"""Quadrature grid, per-person log-likelihood on a grid of abilities, and posteriors.

The kernel is one product: with ``Ind`` the persons × (items · K) category indicator of
the observed responses and ``B[j·K + k, q] = log P_jk(θ_q)``, the log-likelihood of every
person at every node is ``L = Ind @ B`` (shape persons × nodes). For sparse data ``Ind``
is CSR, so time and memory scale with the observed responses; no persons × items matrix
is ever formed. Expected counts of the M-step are the transposed product ``Ind.T @ W``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .data import ResponseData
from .models import ItemBank


@dataclass(frozen=True)
class Quadrature:
    """Fixed rectangular quadrature for a normal latent distribution.

    Attributes
    ----------
    nodes : (n_nodes,) equally spaced abilities on [−range, range]
    """

    nodes: np.ndarray

    @classmethod
    def grid(cls, n_nodes: int = 61, bound: float = 6.0) -> "Quadrature":
        return cls(np.linspace(-bound, bound, n_nodes))

    def log_weights(self, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        """Normalized log prior weights of N(mean, sd²) at the nodes, shape (n_nodes,)."""
        z = -0.5 * ((self.nodes - mean) / sd) ** 2
        return z - logsumexp(z)


def log_probability_table(bank: ItemBank, nodes: np.ndarray) -> np.ndarray:
    """``B[j·K + k, q] = log P_jk(θ_q)``, shape (n_items · K, n_nodes); padding set to 0.

    Padding categories are never observed, so 0 (instead of −inf) keeps ``0 · B`` finite.
    """
    p = bank.category_probabilities(nodes)  # (Q, J, K)
    with np.errstate(divide="ignore"):
        logp = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    q, j, k = logp.shape
    return np.ascontiguousarray(logp.transpose(1, 2, 0).reshape(j * k, q))


def grid_log_likelihood(data: ResponseData, bank: ItemBank, nodes: np.ndarray) -> np.ndarray:
    """Log-likelihood of each person's observed responses at each node.

    Parameters
    ----------
    data : responses whose items are the bank's items, in order
    bank : item parameters
    nodes : (n_nodes,) abilities

    Returns
    -------
    ndarray, shape (n_persons, n_nodes)
    """
    table = log_probability_table(bank, nodes)
    return np.asarray(data.indicator(bank.max_categories) @ table)


@dataclass
class Posterior:
    """Posterior of θ on the quadrature nodes for every person.

    Attributes
    ----------
    weights : (n_persons, n_nodes) normalized posterior weights
    log_marginal : (n_persons,) log marginal likelihood of each person's responses
    """

    weights: np.ndarray
    log_marginal: np.ndarray

    @property
    def loglik(self) -> float:
        return float(self.log_marginal.sum())


def posterior(loglik_grid: np.ndarray, log_prior: np.ndarray) -> Posterior:
    """Normalize ``exp(L + log π)`` per person (in place on ``loglik_grid``).

    Parameters
    ----------
    loglik_grid : (n_persons, n_nodes) log-likelihoods, overwritten
    log_prior : (n_nodes,) log prior weights
    """
    w = loglik_grid
    w += log_prior
    top = w.max(axis=1, keepdims=True)
    w -= top
    np.exp(w, out=w)
    total = w.sum(axis=1, keepdims=True)
    w /= total
    return Posterior(w, (top + np.log(total))[:, 0])
