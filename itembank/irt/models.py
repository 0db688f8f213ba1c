"""Item response models: probability, derivative and information kernels, and the item bank.

All models use the slope–intercept form on the logistic metric (no 1.7 constant):

``rasch``  P(X=1 | θ) = logistic(θ + d),            θ ~ N(0, σ²), σ estimated
``1pl``    P(X=1 | θ) = logistic(a θ + d),          a common to all 1pl items, θ ~ N(0, 1)
``2pl``    P(X=1 | θ) = logistic(a_j θ + d_j)
``3pl``    P(X=1 | θ) = c_j + (1 − c_j) logistic(a_j θ + d_j)
``grm``    P(X ≥ k | θ) = logistic(a_j θ + d_jk),   d_j1 > d_j2 > … (graded response)
``gpcm``   log P(X=k) / P(X=k−1) = a_j θ + d_jk      (generalized partial credit, step form)

Difficulties are ``b = −d / a`` (one per threshold/step for polytomous items).

The kernels are plain broadcasting functions: ``theta`` of any shape ``S`` and item
parameters broadcastable to ``S`` (``d`` with one trailing axis of thresholds) give
category probabilities of shape ``S + (K,)``. :class:`ItemBank` evaluates a whole bank
on a grid of abilities, ``(n_theta, n_items, max_categories)``; the adaptive engine
(``engine/cat``) reuses :meth:`ItemBank.category_probabilities` and
:meth:`ItemBank.item_information`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_softmax

from .errors import ModelError

MODELS: tuple[str, ...] = ("rasch", "1pl", "2pl", "3pl", "grm", "gpcm")
DICHOTOMOUS: frozenset[str] = frozenset({"rasch", "1pl", "2pl", "3pl"})
COMMON_SLOPE: frozenset[str] = frozenset({"rasch", "1pl"})

# Kernel families: every dichotomous model is a constrained 3PL.
FAMILY_DICHOTOMOUS, FAMILY_GRADED, FAMILY_PARTIAL_CREDIT = 0, 1, 2
_FAMILY = {"rasch": 0, "1pl": 0, "2pl": 0, "3pl": 0, "grm": 1, "gpcm": 2}
_TINY = 1e-300


def model_family(model: str) -> int:
    """Return the kernel family code of a model name (raises :class:`ModelError`)."""
    try:
        return _FAMILY[model]
    except KeyError:
        raise ModelError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}") from None


# ---------------------------------------------------------------------------------------
# Probability kernels
# ---------------------------------------------------------------------------------------


def dichotomous_probabilities(theta, a, d, c=0.0) -> np.ndarray:
    """P(X = 0) and P(X = 1) of the 3PL (2PL/1PL/Rasch when ``c = 0``).

    ``P1 = c + (1 − c) · logistic(a θ + d)``.

    Parameters
    ----------
    theta, a, c : array_like, broadcastable to shape S
    d : array_like, shape S + (1,) or broadcastable to S

    Returns
    -------
    ndarray, shape S + (2,)
    """
    d = np.asarray(d, dtype=float)
    if d.ndim and d.shape[-1] == 1:
        d = d[..., 0]
    p1 = c + (1.0 - np.asarray(c, dtype=float)) * expit(np.multiply(a, theta) + d)
    return np.stack([1.0 - p1, p1], axis=-1)


def _pad_thresholds(d) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    return np.where(np.isnan(d), -np.inf, d)


def graded_probabilities(theta, a, d) -> np.ndarray:
    """Category probabilities of the graded response model.

    ``P(X ≥ k) = logistic(a θ + d_k)`` for k = 1..K−1, ``P(X = k) = P(X ≥ k) − P(X ≥ k+1)``.
    NaN thresholds (padding of items with fewer categories) give zero probability.

    Parameters
    ----------
    theta, a : array_like, broadcastable to shape S
    d : array_like, shape S + (K − 1,)

    Returns
    -------
    ndarray, shape S + (K,)
    """
    d = _pad_thresholds(d)
    z = np.multiply(a, theta)[..., None] + d
    star = expit(z)
    ones = np.ones(star.shape[:-1] + (1,))
    cum = np.concatenate([ones, star, np.zeros_like(ones)], axis=-1)
    return np.maximum(cum[..., :-1] - cum[..., 1:], _TINY)


def partial_credit_log_probabilities(theta, a, d) -> np.ndarray:
    """Log category probabilities of the generalized partial credit model.

    ``log P(X=k) / P(X=k−1) = a θ + d_k``, i.e. ``P(X=k) ∝ exp(k a θ + Σ_{v ≤ k} d_v)``.

    Parameters
    ----------
    theta, a : array_like, broadcastable to shape S
    d : array_like, shape S + (K − 1,); NaN steps are padding (probability zero)

    Returns
    -------
    ndarray, shape S + (K,)
    """
    d = _pad_thresholds(d)
    steps = np.multiply(a, theta)[..., None] + d
    zero = np.zeros(steps.shape[:-1] + (1,))
    z = np.concatenate([zero, np.cumsum(steps, axis=-1)], axis=-1)
    return log_softmax(z, axis=-1)


def partial_credit_probabilities(theta, a, d) -> np.ndarray:
    """Category probabilities of the GPCM, shape S + (K,) (see the log version)."""
    return np.maximum(np.exp(partial_credit_log_probabilities(theta, a, d)), _TINY)


def family_probabilities(family: int, theta, a, d, c=0.0) -> np.ndarray:
    """Dispatch to the probability kernel of a family; returns shape S + (K,)."""
    if family == FAMILY_DICHOTOMOUS:
        return np.maximum(dichotomous_probabilities(theta, a, d, c), _TINY)
    if family == FAMILY_GRADED:
        return graded_probabilities(theta, a, d)
    return partial_credit_probabilities(theta, a, d)


# ---------------------------------------------------------------------------------------
# Derivative kernels (θ and item parameters)
# ---------------------------------------------------------------------------------------


def family_theta_derivative(family: int, theta, a, d, c=0.0, probs=None) -> np.ndarray:
    """∂P(X=k | θ)/∂θ, shape S + (K,).

    3PL: ``±(1−c) a s (1−s)`` with ``s = logistic(aθ+d)``; GRM: ``a (w_k − w_{k+1})``
    with ``w_k = P*_k (1 − P*_k)``; GPCM: ``a P_k (k − E[X])``.
    """
    if family == FAMILY_DICHOTOMOUS:
        d = np.asarray(d, dtype=float)
        d = d[..., 0] if d.ndim and d.shape[-1] == 1 else d
        s = expit(np.multiply(a, theta) + d)
        g = (1.0 - np.asarray(c, dtype=float)) * np.multiply(a, s * (1.0 - s))
        return np.stack([-g, g], axis=-1)
    if family == FAMILY_GRADED:
        star = expit(np.multiply(a, theta)[..., None] + _pad_thresholds(d))
        w = star * (1.0 - star)
        zero = np.zeros(w.shape[:-1] + (1,))
        w = np.concatenate([zero, w, zero], axis=-1)
        return np.asarray(a)[..., None] * (w[..., :-1] - w[..., 1:])
    p = family_probabilities(family, theta, a, d, c) if probs is None else probs
    k = np.arange(p.shape[-1])
    mean = (p * k).sum(axis=-1, keepdims=True)
    return np.asarray(a)[..., None] * p * (k - mean)


def family_parameter_jacobian(family: int, theta, a, d, c=0.0) -> np.ndarray:
    """∂P(X=k | θ)/∂ψ for the item parameter vector ``ψ = (a, d_1..d_{K−1}, logit c)``.

    Parameters
    ----------
    theta, a, c : array_like, broadcastable to shape S
    d : array_like, shape S + (K − 1,)

    Returns
    -------
    ndarray, shape S + (K, K + 1)
        Columns are ``a``, the K − 1 intercepts, then ``logit c`` (zero unless 3PL).
    """
    d = np.asarray(d, dtype=float)
    n_thr = d.shape[-1]
    theta_b = np.broadcast_to(np.asarray(theta, dtype=float), np.broadcast(theta, a).shape)
    if family == FAMILY_DICHOTOMOUS:
        c = np.asarray(c, dtype=float)
        s = expit(np.multiply(a, theta) + d[..., 0])
        base = (1.0 - c) * s * (1.0 - s)
        dp1 = np.stack([base * theta_b, base, (1.0 - s) * c * (1.0 - c)], axis=-1)
        return np.stack([-dp1, dp1], axis=-2)
    shape = np.broadcast(theta_b[..., None], d).shape[:-1]
    jac = np.zeros(shape + (n_thr + 1, n_thr + 2))
    if family == FAMILY_GRADED:
        star = expit(np.multiply(a, theta)[..., None] + _pad_thresholds(d))
        w = star * (1.0 - star)
        zero = np.zeros(w.shape[:-1] + (1,))
        wp = np.concatenate([zero, w, zero], axis=-1)
        jac[..., 0] = theta_b[..., None] * (wp[..., :-1] - wp[..., 1:])
        for m in range(1, n_thr + 1):
            jac[..., m, m] = w[..., m - 1]
            jac[..., m - 1, m] = -w[..., m - 1]
        return jac
    p = partial_credit_probabilities(theta, a, d)
    k = np.arange(n_thr + 1)
    mean = (p * k).sum(axis=-1, keepdims=True)
    jac[..., 0] = p * theta_b[..., None] * (k - mean)
    tail = np.cumsum(p[..., ::-1], axis=-1)[..., ::-1]  # P(X >= m)
    for m in range(1, n_thr + 1):
        jac[..., m] = p * ((k >= m) - tail[..., m : m + 1])
    return jac


def information_from_derivatives(probs: np.ndarray, dprobs: np.ndarray) -> np.ndarray:
    """Fisher information ``Σ_k (∂P_k/∂θ)² / P_k``; inputs shape S + (K,), output S."""
    return np.sum(dprobs * dprobs / probs, axis=-1)


# ---------------------------------------------------------------------------------------
# Item parameters and the bank
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """Latent ability distribution N(mean, sd²) of a calibration."""

    mean: float = 0.0
    sd: float = 1.0


@dataclass(frozen=True)
class ItemParams:
    """Parameters of one item.

    Attributes
    ----------
    id : item identifier
    model : one of :data:`MODELS`
    a : slope (1.0 for rasch items)
    d : intercepts, one for dichotomous items, K − 1 for polytomous ones
    c : lower asymptote (3PL only, else 0)
    categories : raw score value of each category (default ``0..K−1``)
    se : standard errors keyed ``"a"``, ``"d"`` (list) and ``"c"`` when estimated
    """

    id: str
    model: str
    a: float
    d: tuple[float, ...]
    c: float = 0.0
    categories: tuple[int, ...] | None = None
    se: dict | None = None

    def __post_init__(self) -> None:
        model_family(self.model)
        if len(self.d) < 1:
            raise ModelError(f"item {self.id!r}: at least one intercept is required")
        if self.model in DICHOTOMOUS and len(self.d) != 1:
            raise ModelError(f"item {self.id!r}: a {self.model} item has exactly one intercept")
        if not 0.0 <= self.c < 1.0:
            raise ModelError(f"item {self.id!r}: c must lie in [0, 1)")
        if self.categories is not None and len(self.categories) != len(self.d) + 1:
            raise ModelError(f"item {self.id!r}: {len(self.categories)} categories "
                             f"but {len(self.d)} intercepts")

    @property
    def n_categories(self) -> int:
        return len(self.d) + 1

    @property
    def b(self) -> float | tuple[float, ...]:
        """Difficulty ``−d/a`` (a tuple of step/threshold difficulties if polytomous)."""
        bs = tuple(-di / self.a for di in self.d)
        return bs[0] if self.model in DICHOTOMOUS else bs


@dataclass
class ItemBank:
    """A calibrated set of items as arrays, ready for vectorized evaluation.

    Attributes
    ----------
    ids : (n_items,) item identifiers
    models : (n_items,) model names
    a : (n_items,) slopes
    d : (n_items, max_categories − 1) intercepts, NaN-padded for items with fewer categories
    c : (n_items,) lower asymptotes
    categories : per item, the raw score value of each category
    """

    ids: tuple[str, ...]
    models: tuple[str, ...]
    a: np.ndarray
    d: np.ndarray
    c: np.ndarray
    categories: tuple[tuple[int, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        self.a = np.asarray(self.a, dtype=float)
        self.c = np.asarray(self.c, dtype=float)
        self.d = np.atleast_2d(np.asarray(self.d, dtype=float))
        n = len(self.ids)
        if not (len(self.models) == n == self.a.shape[0] == self.c.shape[0] == self.d.shape[0]):
            raise ModelError("ids, models, a, c and d must describe the same number of items")
        self.families = np.array([model_family(m) for m in self.models], dtype=int)
        self.n_categories = 1 + np.sum(~np.isnan(self.d), axis=1)
        if not self.categories:
            self.categories = tuple(tuple(range(k)) for k in self.n_categories)

    @property
    def n_items(self) -> int:
        return len(self.ids)

    @property
    def max_categories(self) -> int:
        return int(self.d.shape[1] + 1)

    @property
    def b(self) -> np.ndarray:
        """Difficulties ``−d/a``, shape (n_items, max_categories − 1), NaN-padded."""
        return -self.d / self.a[:, None]

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_items(cls, items: Sequence[ItemParams]) -> ItemBank:
        """Build a bank from :class:`ItemParams` (the order is kept)."""
        if not items:
            raise ModelError("an item bank needs at least one item")
        kmax = max(it.n_categories for it in items)
        d = np.full((len(items), kmax - 1), np.nan)
        for j, it in enumerate(items):
            d[j, : len(it.d)] = it.d
        cats = tuple(it.categories or tuple(range(it.n_categories)) for it in items)
        return cls(ids=tuple(it.id for it in items), models=tuple(it.model for it in items),
                   a=np.array([it.a for it in items]), d=d,
                   c=np.array([it.c for it in items]), categories=cats)

    def to_items(self, se: Sequence[dict | None] | None = None) -> list[ItemParams]:
        """Return one :class:`ItemParams` per item (with optional standard errors)."""
        out = []
        for j in range(self.n_items):
            k = int(self.n_categories[j])
            out.append(ItemParams(id=self.ids[j], model=self.models[j], a=float(self.a[j]),
                                  d=tuple(float(x) for x in self.d[j, : k - 1]),
                                  c=float(self.c[j]), categories=tuple(self.categories[j]),
                                  se=None if se is None else se[j]))
        return out

    def subset(self, index: Iterable[int]) -> ItemBank:
        """Bank restricted to the given item positions (padding trimmed)."""
        idx = np.asarray(list(index), dtype=int)
        kmax = int(self.n_categories[idx].max()) if idx.size else 2
        return ItemBank(ids=tuple(self.ids[i] for i in idx),
                        models=tuple(self.models[i] for i in idx), a=self.a[idx],
                        d=self.d[idx, : kmax - 1], c=self.c[idx],
                        categories=tuple(self.categories[i] for i in idx))

    def index(self, ids: Iterable[str]) -> np.ndarray:
        """Positions of the given item ids (raises :class:`ModelError` for unknown ids)."""
        pos = {item_id: j for j, item_id in enumerate(self.ids)}
        try:
            return np.array([pos[i] for i in ids], dtype=int)
        except KeyError as exc:
            raise ModelError(f"unknown item id {exc.args[0]!r}") from None

    # -- evaluation ---------------------------------------------------------------------

    def _by_family(self):
        for fam in np.unique(self.families):
            idx = np.flatnonzero(self.families == fam)
            kf = int(self.n_categories[idx].max())
            yield int(fam), idx, kf

    def category_probabilities(self, theta) -> np.ndarray:
        """P(X_j = k | θ) for every item on a grid of abilities.

        Parameters
        ----------
        theta : (n_theta,) abilities

        Returns
        -------
        ndarray, shape (n_theta, n_items, max_categories); padded categories are 0
        """
        th = np.atleast_1d(np.asarray(theta, dtype=float))[:, None]
        out = np.zeros((th.shape[0], self.n_items, self.max_categories))
        for fam, idx, kf in self._by_family():
            p = family_probabilities(fam, th, self.a[idx], self.d[idx, : kf - 1], self.c[idx])
            out[:, idx, :kf] = p
        pad = np.arange(self.max_categories)[None, :] >= self.n_categories[:, None]
        out[:, pad] = 0.0
        return out

    def log_category_probabilities(self, theta) -> np.ndarray:
        """log P(X_j = k | θ), shape (n_theta, n_items, max_categories); padding is −inf."""
        p = self.category_probabilities(theta)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def item_information(self, theta) -> np.ndarray:
        """Item Fisher information ``I_j(θ) = Σ_k (∂P_jk/∂θ)² / P_jk``, shape (n_theta, n_items)."""
        th = np.atleast_1d(np.asarray(theta, dtype=float))[:, None]
        out = np.zeros((th.shape[0], self.n_items))
        for fam, idx, kf in self._by_family():
            args = (th, self.a[idx], self.d[idx, : kf - 1], self.c[idx])
            p = family_probabilities(fam, *args)
            dp = family_theta_derivative(fam, *args, probs=p)
            out[:, idx] = information_from_derivatives(p, dp)
        return out

    def test_information(self, theta) -> np.ndarray:
        """Test information ``Σ_j I_j(θ)``, shape (n_theta,)."""
        return self.item_information(theta).sum(axis=1)

    def expected_scores(self, theta) -> np.ndarray:
        """Item characteristic curves ``E[X_j | θ]`` in raw score units, (n_theta, n_items)."""
        p = self.category_probabilities(theta)
        values = np.zeros((self.n_items, self.max_categories))
        for j, cats in enumerate(self.categories):
            values[j, : len(cats)] = cats
        return np.einsum("qjk,jk->qj", p, values)

    def test_characteristic(self, theta) -> np.ndarray:
        """Test characteristic curve (expected summed score), shape (n_theta,)."""
        return self.expected_scores(theta).sum(axis=1)
