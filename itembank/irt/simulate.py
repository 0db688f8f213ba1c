"""Seeded simulation of item parameters and responses (for tests, recovery studies, bench)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .data import ResponseData
from .models import ItemBank


def random_bank(n_items: int, model: str, rng: np.random.Generator,
                n_categories: int = 2) -> ItemBank:
    """Draw plausible parameters: a ~ LogNormal(0, 0.25), b ~ N(0, 1) clipped to ±2.5,
    c ~ U(0.1, 0.25).

    Polytomous items get ``n_categories − 1`` ordered thresholds spread around b.
    """
    a = np.exp(rng.normal(0.0, 0.25, n_items))
    b = np.clip(rng.normal(0.0, 1.0, n_items), -2.5, 2.5)
    if model in ("grm", "gpcm"):
        spread = np.sort(rng.normal(0.0, 0.8, (n_items, n_categories - 1)), axis=1)
        spread -= spread.mean(axis=1, keepdims=True)
        d = -a[:, None] * (b[:, None] + spread)
        c = np.zeros(n_items)
    else:
        if model in ("rasch", "1pl"):
            a = np.ones(n_items)
        d = (-a * b)[:, None]
        c = rng.uniform(0.1, 0.25, n_items) if model == "3pl" else np.zeros(n_items)
    ids = tuple(f"i{j + 1}" for j in range(n_items))
    return ItemBank(ids=ids, models=(model,) * n_items, a=a, d=d, c=c)


def simulate_responses(bank: ItemBank, theta: np.ndarray, rng: np.random.Generator,
                       items_per_person: int | None = None) -> ResponseData:
    """Draw responses of persons with abilities ``theta`` (n_persons,) to the bank.

    With ``items_per_person`` each person answers that many items drawn at random
    without replacement (sparse data, built without a persons × items matrix).
    """
    n_persons, n_items = theta.size, bank.n_items
    if items_per_person is None:
        persons = np.repeat(np.arange(n_persons), n_items)
        items = np.tile(np.arange(n_items), n_persons)
    else:
        keys = rng.random((n_persons, n_items)) if n_persons * n_items <= 5e7 else None
        if keys is not None:
            items = np.argpartition(keys, items_per_person - 1, axis=1)[:, :items_per_person]
        else:
            items = np.stack([rng.choice(n_items, items_per_person, replace=False)
                              for _ in range(n_persons)])
        items = np.sort(items, axis=1).ravel()
        persons = np.repeat(np.arange(n_persons), items_per_person)
    scores = _draw(bank, theta, persons, items, rng)
    return ResponseData.from_triplets(persons, items, scores, (n_persons, n_items),
                                      bank.ids, categories=None)


def _draw(bank: ItemBank, theta, persons, items, rng, chunk: int = 2_000_000) -> np.ndarray:
    out = np.empty(persons.size, dtype=np.int64)
    for start in range(0, persons.size, chunk):
        sl = slice(start, start + chunk)
        out[sl] = _draw_chunk(bank, theta[persons[sl]], items[sl], rng)
    return out


def _draw_chunk(bank: ItemBank, th, items, rng) -> np.ndarray:
    from .models import family_probabilities

    kmax = bank.max_categories
    probs = np.zeros((items.size, kmax))
    for fam in np.unique(bank.families[items]):
        sel = bank.families[items] == fam
        it = items[sel]
        kf = int(bank.n_categories[it].max())
        probs[sel, :kf] = family_probabilities(int(fam), th[sel], bank.a[it], bank.d[it, : kf - 1],
                                               bank.c[it])
    cum = np.cumsum(probs, axis=1)
    u = rng.random(items.size)[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), bank.n_categories[items] - 1)


def to_sparse(data: ResponseData) -> sp.csr_matrix:
    """Raw scores as a CSR matrix whose stored entries (zeros included) are the responses."""
    mat = sp.csr_matrix((data.raw_scores().astype(float), (data.persons, data.items)),
                        shape=(data.n_persons, data.n_items))
    return mat
