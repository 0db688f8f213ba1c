"""PARAMS.json reading and writing (standard library only).

Layout::

    {"model": "2pl" | "mixed", "loglik": …, "n_persons": …, "n_items": …,
     "converged": …, "cycles": …, "population": {"mean": …, "sd": …},
     "items": [{"id": …, "model": …, "a": …, "d": [...], "b": … | [...], "c": …,
                "categories": [...], "se": {...} | null}]}
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import ModelError
from .estimation import CalibrationResult
from .models import ItemBank, ItemParams, Population


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def item_to_dict(item: ItemParams) -> dict:
    b = item.b
    return {"id": item.id, "model": item.model, "a": item.a, "d": list(item.d),
            "b": list(b) if isinstance(b, tuple) else b, "c": item.c,
            "categories": list(item.categories or range(item.n_categories)),
            "se": item.se}


def result_to_dict(result: CalibrationResult) -> dict:
    """The PARAMS.json document of a calibration."""
    models = set(result.bank.models)
    doc = {
        "model": models.pop() if len(models) == 1 else "mixed",
        "loglik": result.loglik,
        "log_posterior": result.log_posterior,
        "n_persons": result.n_persons,
        "n_items": result.n_items,
        "n_observed": result.n_observed,
        "converged": result.converged,
        "cycles": result.n_cycles,
        "max_change": result.max_change,
        "se_method": result.se_method,
        "population": {"mean": result.population.mean, "sd": result.population.sd},
        "population_se": result.population_se,
        "items": [dict(item_to_dict(it), estimated=bool(est))
                  for it, est in zip(result.items, result.estimated, strict=False)],
    }
    return _clean(doc)


def bank_to_dict(bank: ItemBank, population: Population = Population()) -> dict:
    models = set(bank.models)
    return _clean({"model": models.pop() if len(models) == 1 else "mixed",
                   "population": {"mean": population.mean, "sd": population.sd},
                   "n_items": bank.n_items,
                   "items": [item_to_dict(it) for it in bank.to_items()]})


def write_params(doc: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def read_params(path: str | Path) -> tuple[ItemBank, Population]:
    """Read PARAMS.json (or ANCHORS.json) into a bank and its population.

    Raises :class:`ModelError` naming the offending item for malformed entries.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list) or not doc["items"]:
        raise ModelError(f"{path}: expected an object with a non-empty 'items' list")
    items = [_item_from_dict(entry, k) for k, entry in enumerate(doc["items"])]
    pop = doc.get("population") or {}
    return ItemBank.from_items(items), Population(float(pop.get("mean", 0.0)),
                                                  float(pop.get("sd", 1.0)))


def _item_from_dict(entry, k: int) -> ItemParams:
    try:
        d = entry["d"]
        d = [float(v) for v in (d if isinstance(d, list) else [d])]
        cats = entry.get("categories")
        return ItemParams(id=str(entry["id"]), model=str(entry["model"]).lower(),
                          a=float(entry.get("a", 1.0)), d=tuple(d),
                          c=float(entry.get("c") or 0.0),
                          categories=tuple(int(v) for v in cats) if cats else None,
                          se=entry.get("se"))
    except (KeyError, TypeError, ValueError) as exc:
        name = entry.get("id", f"#{k + 1}") if isinstance(entry, dict) else f"#{k + 1}"
        raise ModelError(f"item {name}: malformed entry ({exc})") from None
