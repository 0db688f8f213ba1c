"""Storing calibrated IRT parameters on item versions, with the run that produced them.

Parameters belong to the version candidates answered: an item's latest administered
version, or its current version when none has been administered yet (pretest data from
another system). A PARAMS.json item id is the bank's item id (``17`` or ``"item-17"``).
"""

from __future__ import annotations

import math
from typing import Any

from sqlmodel import Session, col, select

from itembank.errors import N_, ItemValidationError
from itembank.irt.models import MODELS
from itembank.models import CalibrationRun, Item, ItemCalibration, ItemVersion
from itembank.service import AuditSink


def store_calibration(session: Session, doc: dict[str, Any], actor: str, record: AuditSink,
                      source: str = "") -> CalibrationRun:
    """Validate every item entry first, then write the run and one row per item (all or nothing)."""
    entries = doc.get("items")
    if not isinstance(entries, list) or not entries:
        raise ItemValidationError({"items": N_("the parameter file lists no items")})
    targets = [(_target_version(session, entry, index), entry) for index, entry in enumerate(entries)]
    population = doc.get("population") or {}
    run = CalibrationRun(model=str(doc.get("model", "mixed"))[:16], n_persons=int(doc.get("n_persons") or 0),
                         n_items=len(entries), loglik=_finite(doc.get("loglik")),
                         converged=bool(doc.get("converged", True)), cycles=doc.get("cycles"),
                         population_mean=float(population.get("mean", 0.0)),
                         population_sd=float(population.get("sd", 1.0)), source=source[:300], created_by=actor)
    session.add(run)
    session.flush()
    for version, entry in targets:
        session.add(ItemCalibration(calibration_run_id=run.id, item_version_id=version.id, model=entry["model"],
                                    a=float(entry["a"]), d=[float(x) for x in entry["d"]],
                                    c=_finite(entry.get("c")), se=entry.get("se")))
    session.flush()
    record("calibration.stored", "calibration_run", run.id,
           {"model": run.model, "items": run.n_items, "persons": run.n_persons, "loglik": run.loglik})
    return run


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _target_version(session: Session, entry: Any, index: int) -> ItemVersion:
    where = f"items[{index}]"
    if not isinstance(entry, dict):
        raise ItemValidationError({where: N_("each item entry must be an object")})
    item = session.get(Item, _item_id(entry.get("id"), where))
    if item is None:
        raise ItemValidationError({where: f"item {entry.get('id')!r} is not in the bank"})
    if entry.get("model") not in MODELS:
        raise ItemValidationError({where: f"unknown model {entry.get('model')!r}"})
    d = entry.get("d")
    if not isinstance(entry.get("a"), (int, float)) or not isinstance(d, list) or not d \
            or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in d):
        raise ItemValidationError({where: N_("a must be a number and d a non-empty list of numbers")})
    administered = session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                          col(ItemVersion.administered_at).is_not(None))
                                .order_by(col(ItemVersion.version_no).desc())).first()
    return administered or session.exec(select(ItemVersion).where(
        ItemVersion.item_id == item.id, ItemVersion.version_no == item.current_version)).one()


def _item_id(raw: Any, where: str) -> int:
    text = str(raw).removeprefix("item-")
    if not text.isdigit():
        raise ItemValidationError({where: f"item id {raw!r} is not a bank item id (17 or item-17)"})
    return int(text)


def latest_parameters(session: Session, item_version_ids: list[int]) -> dict[int, ItemCalibration]:
    """The most recent calibration of each given version (versions never calibrated are absent)."""
    rows = session.exec(select(ItemCalibration).where(col(ItemCalibration.item_version_id).in_(item_version_ids))
                        .order_by(col(ItemCalibration.calibration_run_id))).all()
    return {row.item_version_id: row for row in rows}  # later runs overwrite earlier ones
