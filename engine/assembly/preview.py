"""What an examiner sees about a fixed form: information curve, coverage, decision quality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.cat.blueprint import Blueprint
from engine.cat.scores import fixed_form_decision_quality
from itembank.irt.models import ItemBank


@dataclass
class FormPreview:
    """A fixed form described for review.

    Attributes
    ----------
    theta : (n_points,) ability grid
    information : (n_points,) test information of the form
    se : (n_points,) conditional SE ``1/√I(θ)``
    expected_percent : (n_points,) expected percentage score (test characteristic curve)
    coverage : per blueprint bound: name, count on the form, min, max
    violations : names of the blueprint rules the form breaks
    rudner_accuracy, rudner_consistency : decision quality at the cut (None without cut)
    """

    theta: np.ndarray
    information: np.ndarray
    se: np.ndarray
    expected_percent: np.ndarray
    coverage: list[dict]
    violations: list[str]
    rudner_accuracy: float | None
    rudner_consistency: float | None


def preview_form(bank: ItemBank, item_ids: list[str], blueprint: Blueprint | None = None,
                 cut_theta: float | None = None,
                 theta: np.ndarray | None = None) -> FormPreview:
    """Describe the form made of ``item_ids`` (any order) from ``bank``."""
    grid = np.linspace(-4.0, 4.0, 81) if theta is None else np.asarray(theta, dtype=float)
    form = bank.subset(bank.index(item_ids))
    info = form.test_information(grid)
    max_points = float(sum(max(c) for c in form.categories))
    coverage, violations = [], []
    if blueprint is not None:
        compiled = blueprint.compile(bank.ids, len(item_ids))
        positions = bank.index(item_ids)
        counts = compiled.counts(positions)
        coverage = [{"name": b.name, "count": int(c), "min": b.min, "max": b.max}
                    for b, c in zip(compiled.bounds, counts, strict=False)]
        violations = compiled.violations(positions)
    acc = cons = None
    if cut_theta is not None:
        acc, cons = fixed_form_decision_quality(form, cut_theta)
    return FormPreview(grid, info, 1.0 / np.sqrt(np.maximum(info, 1e-12)),
                       100.0 * form.test_characteristic(grid) / max_points, coverage,
                       violations, acc, cons)
