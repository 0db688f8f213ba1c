"""Seeded banks and blueprints shared by the adaptive-engine tests."""

from __future__ import annotations

import numpy as np

from engine.cat import Blueprint
from itembank.irt.models import ItemBank
from itembank.irt.simulate import random_bank

ELEMENTS = ("E1", "E2", "E3", "E4", "E5")
TYPES = ("single", "multiple", "judgement")


def bank_2pl(n_items: int, seed: int) -> ItemBank:
    """2PL bank with a ~ U(0.5, 2.0) and b ~ N(0, 1) (a common CAT simulation design)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    return ItemBank(ids=tuple(f"i{j}" for j in range(n_items)), models=("2pl",) * n_items,
                    a=a, d=(-a * b)[:, None], c=np.zeros(n_items))


def mixed_bank(seed: int) -> ItemBank:
    """A bank mixing 2PL, 3PL, GRM and GPCM items (40 each)."""
    rng = np.random.default_rng(seed)
    parts = [random_bank(40, m, rng, n_categories=4) for m in ("2pl", "3pl", "grm", "gpcm")]
    items = []
    for k, part in enumerate(parts):
        for it in part.to_items():
            items.append(type(it)(id=f"{it.model}{k}_{it.id}", model=it.model, a=it.a, d=it.d,
                                  c=it.c))
    return ItemBank.from_items(items)


def blueprint_for(bank: ItemBank, length: int = 30, n_enemy_pairs: int = 40) -> Blueprint:
    """Five elements (6 items each in a 30-item test), three item types with bounds, and
    enemy pairs among neighbouring items."""
    items = {item_id: {"element": ELEMENTS[j % 5], "type": TYPES[j % 3],
                       "points": 1 + (j % 3 == 1)}
             for j, item_id in enumerate(bank.ids)}
    per = length // 5
    return Blueprint.from_dict({
        "length": length,
        "items": items,
        "constraints": {"element": {e: per for e in ELEMENTS},
                        "type": {"single": {"min": length // 4, "max": length // 2},
                                 "judgement": {"max": length // 4}}},
        "enemies": [[bank.ids[2 * j], bank.ids[2 * j + 1]] for j in range(n_enemy_pairs)],
    })
