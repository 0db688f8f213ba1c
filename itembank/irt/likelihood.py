"""Quadrature grid, per-person log-likelihood on a grid of abilities, and posteriors.

The kernel is one product: with ``Ind`` the persons × (items · K) category indicator of
the observed responses and ``B[j·K + k, q] = log P_jk(θ_q)``, the log-likelihood of every
person at every node is ``L = Ind @ B`` (shape persons × nodes). For sparse data ``Ind``
is CSR, so time and memory scale with the observed responses; no persons × items matrix
is ever formed. Expected counts of the M-step are the transposed product ``Ind.T @ W``.

For complete data (everyone answered every item) :class:`ResponseDesign` drops the
category-0 columns: ``L = X @ (log P_k − log P_0) + Σ_j log P_j0`` and the category-0
counts follow from the posterior totals, which halves the work for dichotomous items.
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


class ResponseDesign:
    """E-step products of one data set: log-likelihood on nodes and expected counts.

    Parameters
    ----------
    data : responses
    n_categories : K, the padded number of categories per item
    """

    def __init__(self, data: ResponseData, n_categories: int):
        self.n_items, self.k = data.n_items, n_categories
        self.complete = data.is_dense() and data.n_observed == data.n_persons * data.n_items
        if self.complete:
            x = np.zeros((data.n_persons, data.n_items * (n_categories - 1)))
            hit = data.scores > 0
            x[data.persons[hit], data.items[hit] * (n_categories - 1) + data.scores[hit] - 1] = 1.0
            self.matrix = x
            self.matrix_t = x.T
        else:
            self.matrix = data.indicator(n_categories)
            self.matrix_t = (self.matrix.T.tocsr() if hasattr(self.matrix, "tocsr")
                             else self.matrix.T)

    def loglik(self, logp: np.ndarray) -> np.ndarray:
        """(n_persons, n_nodes) log-likelihoods from ``logp`` (nodes, items, K), padding 0."""
        q = logp.shape[0]
        if not self.complete:
            table = logp.transpose(1, 2, 0).reshape(self.n_items * self.k, q)
            return np.asarray(self.matrix @ np.ascontiguousarray(table))
        diff = (logp[:, :, 1:] - logp[:, :, :1]).transpose(1, 2, 0).reshape(-1, q)
        out = self.matrix @ np.ascontiguousarray(diff)
        out += logp[:, :, 0].sum(axis=1)
        return out

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Expected counts r, shape (n_nodes, n_items, K), from posterior weights (persons, nodes)."""
        q = weights.shape[1]
        if not self.complete:
            flat = np.asarray(self.matrix_t @ weights)
            return flat.reshape(self.n_items, self.k, q).transpose(2, 0, 1)
        upper = (self.matrix_t @ weights).reshape(self.n_items, self.k - 1, q)
        total = weights.sum(axis=0)
        r = np.empty((q, self.n_items, self.k))
        r[:, :, 1:] = upper.transpose(2, 0, 1)
        r[:, :, 0] = total[:, None] - r[:, :, 1:].sum(axis=2)
        return r


def log_probability_array(bank: ItemBank, nodes: np.ndarray) -> np.ndarray:
    """log P_jk(θ_q), shape (n_nodes, n_items, K); padding categories set to 0."""
    p = bank.category_probabilities(nodes)
    with np.errstate(divide="ignore"):
        return np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)


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
    design = data._cache.get(("design", bank.max_categories))
    if design is None:
        design = ResponseDesign(data, bank.max_categories)
        data._cache[("design", bank.max_categories)] = design
    return design.loglik(log_probability_array(bank, nodes))


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
