"""Quadrature grid, per-person log-likelihood on a grid of abilities, and posteriors.

The kernel is one product: with ``Ind`` the persons × (items · K) category indicator of
the observed responses and ``B[j·K + k, q] = log P_jk(θ_q)``, the log-likelihood of every
person at every node is ``L = Ind @ B`` (shape persons × nodes). ``Ind`` is CSR unless
the items are dichotomous and the data nearly complete (then a dense BLAS product is
faster), so for sparse data time and memory scale with the observed responses and no
persons × items matrix is ever formed. Expected counts of the M-step are the transposed
product ``Ind.T @ W`` (for CSR ``Ind``, by its CSC view). Sparse ``L`` runs on row blocks
in a small thread pool (scipy's sparse kernels release the GIL); dense products are
single OpenBLAS calls, which thread themselves.

For complete data (everyone answered every item) :class:`ResponseDesign` drops the
category-0 columns: ``L = X @ (log P_k − log P_0) + Σ_j log P_j0`` and the category-0
counts follow from the posterior totals, which halves the work for dichotomous items.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
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
    def grid(cls, n_nodes: int = 61, bound: float = 6.0) -> Quadrature:
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
    dtype : float64, or float32 for fast EM cycles (the calibration polishes in float64)
    """

    def __init__(self, data: ResponseData, n_categories: int, dtype=np.float64):
        self.n_items, self.k, self.dtype = data.n_items, n_categories, np.dtype(dtype)
        self.complete = data.is_dense() and data.n_observed == data.n_persons * data.n_items
        dense = data.is_dense() and n_categories == 2  # BLAS wins only for 0/1 items
        if self.complete:
            hit = data.scores > 0
            rows = data.persons[hit]
            cols = data.items[hit] * (n_categories - 1) + data.scores[hit] - 1
            shape = (data.n_persons, data.n_items * (n_categories - 1))
        else:
            rows, cols = data.persons, data.items * n_categories + data.scores
            shape = (data.n_persons, data.n_items * n_categories)
        if dense:
            mat = np.zeros(shape, dtype=self.dtype)
            mat[rows, cols] = 1.0
            # OpenBLAS threads each product itself: one call for L (row blocks in a
            # thread pool would oversubscribe the cores), and the person blocks of Indᵀ W
            # one after the other (the float64 sum of block partials is kept as it was).
            self.blocks_l = [mat]
            self.blocks = _dense_row_blocks(mat, _N_THREADS)
            self.blocks_t = [b.T for b in self.blocks]
            self.stack_t = False
        else:
            mat = sp.csr_matrix((np.ones(rows.size, dtype=self.dtype), (rows, cols)), shape=shape)
            # scipy's sparse kernels release the GIL: split rows over threads. The
            # transposed product runs on the CSC view ``mat.T`` (no copy): scipy's CSC
            # kernel streams through W's rows once and scatters into the small
            # (items · K) × nodes result, where a CSR copy of Indᵀ gathers W's rows at
            # random (3–4× slower, cache-bound). It is memory-bound, so threads gain
            # little; one block also keeps the summation order (persons ascending).
            self.blocks = self.blocks_l = _row_blocks(mat, _N_THREADS)
            self.blocks_t = [mat.T]
            self.stack_t = True
        self._edges = np.cumsum([0] + [b.shape[0] for b in self.blocks])

    def _product(self, blocks, rhs: np.ndarray) -> np.ndarray:
        rhs = np.ascontiguousarray(rhs, dtype=self.dtype)
        if len(blocks) == 1:
            return np.asarray(blocks[0] @ rhs, dtype=np.float64)
        parts = list(_pool().map(lambda b: b @ rhs, blocks))
        return np.vstack(parts).astype(np.float64, copy=False)

    def _product_t(self, weights: np.ndarray) -> np.ndarray:
        """``Indᵀ @ W``: row blocks of Indᵀ (sparse) or a sum over person blocks (dense)."""
        if self.stack_t or len(self.blocks_t) == 1:
            return self._product(self.blocks_t, weights)
        w = np.ascontiguousarray(weights, dtype=self.dtype)
        pieces = [w[a:b] for a, b in zip(self._edges[:-1], self._edges[1:], strict=False)]
        parts = [b @ piece for b, piece in zip(self.blocks_t, pieces, strict=False)]
        return np.sum(parts, axis=0, dtype=np.float64)

    def loglik(self, logp: np.ndarray) -> np.ndarray:
        """(n_persons, n_nodes) log-likelihoods from ``logp`` (nodes, items, K), padding 0."""
        q = logp.shape[0]
        if not self.complete:
            table = logp.transpose(1, 2, 0).reshape(self.n_items * self.k, q)
            return self._product(self.blocks_l, table)
        diff = (logp[:, :, 1:] - logp[:, :, :1]).transpose(1, 2, 0).reshape(-1, q)
        out = self._product(self.blocks_l, diff)
        out += logp[:, :, 0].sum(axis=1)
        return out

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Expected counts r (n_nodes, n_items, K) from posterior weights (persons, nodes)."""
        q = weights.shape[1]
        flat = self._product_t(weights)
        if not self.complete:
            return flat.reshape(self.n_items, self.k, q).transpose(2, 0, 1)
        upper = flat.reshape(self.n_items, self.k - 1, q)
        total = weights.sum(axis=0)
        r = np.empty((q, self.n_items, self.k))
        r[:, :, 1:] = upper.transpose(2, 0, 1)
        r[:, :, 0] = total[:, None] - r[:, :, 1:].sum(axis=2)
        return r


_N_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL: list = []


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=_N_THREADS))
    return _POOL[0]


def _dense_row_blocks(mat: np.ndarray, n: int) -> list:
    if n == 1 or mat.size < 1_000_000:
        return [mat]
    edges = np.linspace(0, mat.shape[0], n + 1).astype(int)
    return [mat[a:b] for a, b in zip(edges[:-1], edges[1:], strict=False)]


def _row_blocks(mat: sp.csr_matrix, n: int) -> list:
    """Split a CSR matrix into ``n`` row blocks of about equal numbers of stored entries."""
    if n == 1 or mat.nnz < 100_000:
        return [mat]
    cuts = np.searchsorted(mat.indptr, np.linspace(0, mat.nnz, n + 1)[1:-1])
    edges = np.r_[0, cuts, mat.shape[0]]
    return [mat[a:b] for a, b in zip(edges[:-1], edges[1:], strict=False) if b > a]


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
    # Flush weights below float32's smallest normal number (~1.2e-38) to zero: they
    # change no count visibly, but as subnormal numbers they slow every following
    # product (counts, in float32 above all) by up to ~8×.
    w[w < _FLUSH_BELOW] = 0.0
    return Posterior(w, (top + np.log(total))[:, 0])


_FLUSH_BELOW = float(np.finfo(np.float32).tiny)
