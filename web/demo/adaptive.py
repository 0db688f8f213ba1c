"""The demo's adaptive exam: illustrative calibrated parameters and one adaptive definition.

Parameters are derived from each demo item's classical difficulty (b = logit of the
share answering wrong, slopes from a fixed seed): illustrative, not from real data.
Four single-choice items stay uncalibrated and serve as the pretest pool. The fixed
demo form is the adaptive exam's reference paper for the 0–100 scale.
"""

from __future__ import annotations

import math

import numpy as np
from sqlmodel import Session, select

from engine import audit
from engine.adaptive import service as adaptive
from engine.models import ExamDefinition, ExamFormItem
from itembank.calibrations import store_calibration
from itembank.models import Item, ItemVersion

ACTOR = "demo-seed"
N_PRETEST_POOL = 4
SETTINGS = {"min_length": "8", "max_length": "12", "se_stop": "0.45", "estimator": "eap", "selection": "mfi",
            "exposure": "randomesque", "exposure_k": "2", "classification": "none", "n_pretest": "1",
            "blueprint_level": "module", "retake_window_days": "365", "type_min_truefalse": "2"}


def seed_adaptive(session: Session, fixed: ExamDefinition, created: list[tuple[str, Item]], minutes: int) -> str:
    record = lambda action, kind, entity, data: audit.record(session, ACTOR, action, kind, entity, data)  # noqa: E731
    on_form = set(session.exec(select(ExamFormItem.item_id).where(ExamFormItem.exam_definition_id == fixed.id)).all())
    pretest = [item.id for kind, item in reversed(created) if kind == "single" and item.id not in on_form]
    pretest = set(pretest[:N_PRETEST_POOL])
    rng = np.random.default_rng(2026)
    entries = []
    for _kind, item in created:
        if item.id in pretest:
            continue
        version = session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id)).first()
        p = min(max(version.difficulty or 0.6, 0.05), 0.95)
        a = float(rng.uniform(0.9, 1.8))
        b = math.log((1 - p) / p) + float(rng.normal(0.0, 0.3))
        entries.append({"id": item.id, "model": "2pl", "a": round(a, 3), "d": [round(-a * b, 3)]})
    store_calibration(session, {"model": "2pl", "n_persons": 1200, "items": entries}, ACTOR, record,
                      source="demo: illustrative parameters")
    definition = ExamDefinition(code="DG-4-THEORY-CAT", title="电工（四级/中级工）理论知识自适应考试（演示）",
                                occupation_id=fixed.occupation_id, level=fixed.level, duration_minutes=minutes,
                                theory_mode="adaptive")
    session.add(definition)
    session.flush()
    for line in session.exec(select(ExamFormItem).where(ExamFormItem.exam_definition_id == fixed.id)).all():
        session.add(ExamFormItem(exam_definition_id=definition.id, position=line.position, item_id=line.item_id,
                                 points=line.points))
    adaptive.save_config(session, definition, "adaptive", adaptive.parse_config(SETTINGS), ACTOR)
    return (f"adaptive exam {definition.code}: {len(entries)} calibrated items, {len(pretest)} pretest items "
            f"(schedule a session for it under Administration)")
