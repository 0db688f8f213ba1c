"""The item bank as the adaptive engine sees it: kernels precomputed on grids.

:class:`CATBank` wraps an :class:`itembank.irt.models.ItemBank` and evaluates the IRT
core's own kernels once, on two grids:

* the quadrature nodes ``θ_q`` (default 61 points on [−6, 6]): the table
  ``log P_jk(θ_q)`` lets the posterior of one person be updated in O(n_nodes) per
  response (``loglik[q] += log P_{j,x}(θ_q)``);
* a fine information grid (step 0.01 on [−5, 5]): ``I_j(θ)`` at any ability is read by
  linear interpolation, so maximum-information selection over a 5,000-item bank costs
  two gathers instead of a kernel evaluation. The interpolation error is below 1e-4
  relative for the slopes met in practice; abilities outside the grid are clamped.

No probability formula is written here: all of them come from ``itembank.irt.models``.
"""

from __future__ import annotations

import numpy as np

from itembank.irt.models import (
    ItemBank,
    family_probabilities,
    family_theta_derivative,
    information_from_derivatives,
)


class CATBank:
    """An :class:`ItemBank` with the tables used at every adaptive step.

    Parameters
    ----------
    bank : calibrated items
    n_quadrature, bound : quadrature nodes ``linspace(−bound, bound, n_quadrature)``
    info_step, info_bound : information grid ``arange(−info_bound, info_bound + step, step)``

    Attributes
    ----------
    nodes : (n_nodes,) quadrature abilities
    log_prob : (n_items · K, n_nodes) ``log P_jk(θ_q)`` at row ``j·K + k`` (padding 0)
    info_nodes : (n_items, n_nodes) item information at the quadrature nodes
    location : (n_items,) item location (``b``; mean step difficulty if polytomous)
    """

    def __init__(self, bank: ItemBank, n_quadrature: int = 61, bound: float = 6.0,
                 info_step: float = 0.01, info_bound: float = 5.0) -> None:
        self.bank = bank
        self.ids = bank.ids
        self.n_items = bank.n_items
        self.K = bank.max_categories
        self.nodes = np.linspace(-bound, bound, n_quadrature)
        with np.errstate(divide="ignore"):
            logp = bank.log_category_probabilities(self.nodes)  # (Q, J, K); padding −inf
        logp = np.where(np.isfinite(logp), logp, 0.0)  # padding is never observed
        self.log_prob = np.ascontiguousarray(
            logp.transpose(1, 2, 0).reshape(self.n_items * self.K, self.nodes.size))
        self.info_nodes = np.ascontiguousarray(bank.item_information(self.nodes).T)
        n_grid = int(round(2 * info_bound / info_step)) + 1
        self._grid0, self._step = -info_bound, 2 * info_bound / (n_grid - 1)
        # float32 halves the memory traffic of the two row gathers per step; selection
        # only ranks items, and 7 significant digits are plenty for that.
        self._info_grid = bank.item_information(
            np.linspace(-info_bound, info_bound, n_grid)).astype(np.float32)
        self.location = np.nanmean(bank.b, axis=1)
        self.top_category = bank.n_categories - 1
        self._index = {item_id: j for j, item_id in enumerate(bank.ids)}

    def index_of(self, item_id: str) -> int:
        """Position of an item id (``KeyError`` if unknown)."""
        return self._index[item_id]

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Item information at each ability by interpolation on the fine grid.

        Parameters
        ----------
        theta : (n,) abilities

        Returns
        -------
        ndarray, shape (n, n_items), float32
        """
        t = (np.clip(np.asarray(theta, dtype=float), self._grid0, -self._grid0)
             - self._grid0) / self._step
        i = np.minimum(t.astype(np.int64), self._info_grid.shape[0] - 2)
        f = (t - i).astype(np.float32)[:, None]
        lo = self._info_grid[i]
        hi = self._info_grid[i + 1]
        hi -= lo
        hi *= f
        hi += lo
        return hi

    def response_rows(self, items: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Rows of :attr:`log_prob` for (item, category index) pairs, same shape as inputs."""
        return np.asarray(items) * self.K + np.asarray(scores)

    def kernel_terms(self, theta: np.ndarray, items: np.ndarray, second: bool = False):
        """Probabilities and θ-derivatives of given items at person-specific abilities.

        Parameters
        ----------
        theta : (n,) abilities
        items : (n, L) item positions (any valid position; callers mask padding)
        second : also return ∂²P/∂θ² by central difference of the analytic derivative

        Returns
        -------
        p, dp[, d2p] : ndarrays, shape (n, L, K)
        """
        bank = self.bank
        th = np.asarray(theta, dtype=float)[:, None]
        shape = items.shape + (self.K,)
        p, dp = np.zeros(shape), np.zeros(shape)
        d2p = np.zeros(shape) if second else None
        fams = bank.families[items]
        for fam in np.unique(fams):
            sel = fams == fam
            it = np.where(sel, items, items[sel][0])
            kf = int(bank.n_categories[it].max())
            args = (bank.a[it], bank.d[it, : kf - 1], bank.c[it])
            pf = family_probabilities(int(fam), th, *args)
            p[..., :kf] = np.where(sel[..., None], pf, p[..., :kf])
            dpf = family_theta_derivative(int(fam), th, *args, probs=pf)
            dp[..., :kf] = np.where(sel[..., None], dpf, dp[..., :kf])
            if second:
                h = 1e-4
                up = family_theta_derivative(int(fam), th + h, *args)
                down = family_theta_derivative(int(fam), th - h, *args)
                d2p[..., :kf] = np.where(sel[..., None], (up - down) / (2 * h), d2p[..., :kf])
        pad = np.arange(self.K) >= bank.n_categories[items][..., None]
        p[pad] = 1.0  # padding never observed; 1 keeps logs and ratios finite
        dp[pad] = 0.0
        if second:
            d2p[pad] = 0.0
            return p, dp, d2p
        return p, dp

    def information_at(self, theta: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Exact item information of ``items`` (n, L) at abilities ``theta`` (n,), shape (n, L)."""
        p, dp = self.kernel_terms(theta, items)
        return information_from_derivatives(p, dp)
