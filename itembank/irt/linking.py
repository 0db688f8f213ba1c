"""Linking two calibrations through common items.

Constants (A, B) put the *new* calibration on the *old* scale: ``θ_old = A θ_new + B``.
Applied to slope–intercept parameters: ``a* = a / A``, ``d* = d − a* B`` (c unchanged).

``mean-mean``    A = mean(a_new) / mean(a_old),  B = mean(b_old) − A mean(b_new)
``mean-sigma``   A = sd(b_old) / sd(b_new),      B likewise
``haebara``      minimizes Σ_q π_q Σ_j Σ_k (P_old,jk(θ_q) − P*_new,jk(θ_q))²
``stocking-lord`` minimizes Σ_q π_q (T_old(θ_q) − T*_new(θ_q))² (test characteristic curves)

The characteristic-curve criteria are evaluated on a 61-node grid on [−4, 4] weighted
by N(0, 1) on the old scale, and minimized from the mean/sigma solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .errors import ModelError, OptionsError
from .likelihood import Quadrature
from .models import ItemBank, Population

METHODS = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")


@dataclass(frozen=True)
class LinkingResult:
    """Linking constants ``θ_old = A θ_new + B`` and the common items used."""

    A: float
    B: float
    method: str
    common_items: tuple[str, ...]


def transform_bank(bank: ItemBank, A: float, B: float) -> ItemBank:
    """Put a bank onto the target scale ``θ' = A θ + B``."""
    a = bank.a / A
    return ItemBank(bank.ids, bank.models, a, bank.d - a[:, None] * B, bank.c, bank.categories)


def transform_population(population: Population, A: float, B: float) -> Population:
    return Population(A * population.mean + B, A * population.sd)


def link(old: ItemBank, new: ItemBank, method: str = "stocking-lord",
         common: list[str] | None = None) -> LinkingResult:
    """Linking constants from the common items of two calibrations."""
    if method not in METHODS:
        raise OptionsError(f"unknown linking method {method!r}; use one of {METHODS}")
    ids = common if common is not None else [i for i in new.ids if i in set(old.ids)]
    if len(ids) < 2:
        raise ModelError("linking needs at least two common items")
    o, n = old.subset(old.index(ids)), new.subset(new.index(ids))
    if o.models != n.models or not np.array_equal(o.n_categories, n.n_categories):
        raise ModelError("common items differ in model or number of categories")
    A, B = _moments(o, n, method)
    if method in ("haebara", "stocking-lord"):
        A, B = _characteristic_curve(o, n, method, A, B)
    return LinkingResult(float(A), float(B), method, tuple(ids))


def _moments(old: ItemBank, new: ItemBank, method: str):
    b_old, b_new = old.b[~np.isnan(old.b)], new.b[~np.isnan(new.b)]
    A = new.a.mean() / old.a.mean() if method == "mean-mean" else b_old.std() / b_new.std()
    return A, b_old.mean() - A * b_new.mean()


def _characteristic_curve(old: ItemBank, new: ItemBank, method: str, A0: float, B0: float):
    quad = Quadrature.grid(61, 4.0)
    w = np.exp(quad.log_weights())
    target = old.category_probabilities(quad.nodes)
    values = np.zeros((old.n_items, old.max_categories))
    for j, k in enumerate(old.n_categories):
        values[j, :k] = np.arange(k)
    tcc_old = np.einsum("qjk,jk->q", target, values)

    def loss(x):
        p = transform_bank(new, x[0], x[1]).category_probabilities(quad.nodes)
        if method == "haebara":
            return float(w @ ((target - p) ** 2).sum(axis=(1, 2)))
        return float(w @ (tcc_old - np.einsum("qjk,jk->q", p, values)) ** 2)

    res = minimize(loss, np.array([A0, B0]), method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-14, "maxiter": 4000})
    return res.x
