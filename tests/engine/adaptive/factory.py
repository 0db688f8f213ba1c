"""A small calibrated bank with known parameters, an adaptive exam over it, and sittings.

Two modules (40 % and 60 %), two elements each, single-choice and true/false items with
2PL parameters drawn from a fixed seed; a few active items without parameters form the
pretest pool. ``answer_for`` answers like a simulee of known ability would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from sqlmodel import Session, select

from engine import administration, audit
from engine.adaptive import service as adaptive
from engine.identity import check_character
from engine.models import CandidateSession, ExamDefinition
from itembank import service as items
from itembank.calibrations import store_calibration
from itembank.levels import Level
from itembank.models import Item, ItemVersion
from itembank.taxonomy import get_or_create_occupation, import_tree
from itembank.timeutil import utcnow

ACTOR = "factory"


def _element(code: str, weight: int) -> dict:
    return {"code": code, "name": f"要素{code}", "weight": weight,
            "children": [{"code": f"{code}-001", "name": f"鉴定点{code}", "importance": "X"}]}


TREE = [
    {"code": "M1", "name": "模块一", "weight": 40, "children": [_element("M1-A", 20), _element("M1-B", 20)]},
    {"code": "M2", "name": "模块二", "weight": 60, "children": [_element("M2-A", 30), _element("M2-B", 30)]},
]
POINTS = ["M1-A-001", "M1-B-001", "M2-A-001", "M2-B-001"]
CHOICES = [{"id": k, "text": f"选项{k}"} for k in "ABCD"]
TRUEFALSE = [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}]


@dataclass
class Bank:
    definition_id: int
    exam_session_id: int
    params: dict[int, tuple[float, float]] = field(default_factory=dict)  # item id -> (a, d)
    pretest: list[int] = field(default_factory=list)


def make_bank(session: Session, n_items: int = 60, n_pretest: int = 4, seed: int = 7, code: str = "CAT-T") -> Bank:
    rng = np.random.default_rng(seed)
    occupation = get_or_create_occupation(session, code=code, name="测试工种")
    nodes = import_tree(session, occupation, Level.level4, TREE)
    record = lambda action, kind, entity, data: audit.record(session, ACTOR, action, kind, entity, data)  # noqa: E731
    made = []
    for k in range(n_items + n_pretest):
        truefalse = k % 4 == 3
        draft = items.ItemDraft(occupation_id=occupation.id, level=Level.level4.value,
                                item_type="truefalse" if truefalse else "single",
                                appraisal_point_id=nodes[POINTS[k % 4]].id, stem=f"第{k + 1}题",
                                options=TRUEFALSE if truefalse else CHOICES, key=["T"] if truefalse else ["A"],
                                status="active")
        made.append(items.create_item(session, draft, ACTOR, record))
    calibrated, pretest = made[:n_items], made[n_items:]
    a = rng.uniform(0.8, 2.0, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    doc = {"model": "2pl", "items": [{"id": item.id, "model": "2pl", "a": float(a[j]), "d": [float(-a[j] * b[j])]}
                                     for j, item in enumerate(calibrated)]}
    store_calibration(session, doc, ACTOR, record)
    definition = ExamDefinition(code=f"{code}-AD", title="自适应测试", occupation_id=occupation.id,
                                level=Level.level4, duration_minutes=60, theory_mode="adaptive")
    session.add(definition)
    session.flush()
    institution = administration.create_institution(session, f"S{code}", "测试机构", "social_org", ACTOR)
    center = administration.create_test_center(session, institution.id, "考点", "", ACTOR)
    room = administration.create_room(session, center.id, "考场", 30, ACTOR)
    exam_session = administration.create_exam_session(session, definition.id, room.id, "自适应场次",
                                                      utcnow() - timedelta(minutes=5), ACTOR)
    session.flush()
    return Bank(definition.id, exam_session.id,
                {item.id: (float(a[j]), float(-a[j] * b[j])) for j, item in enumerate(calibrated)},
                [item.id for item in pretest])


def configure(session: Session, bank: Bank, **form) -> None:
    raw = {"min_length": "12", "max_length": "16", "se_stop": "0.4", "exposure": "randomesque",
           "exposure_k": "2", "n_pretest": "2", "blueprint_level": "module", "retake_window_days": "365",
           "type_min_truefalse": "2", **form}
    definition = session.get(ExamDefinition, bank.definition_id)
    adaptive.save_config(session, definition, "adaptive", adaptive.parse_config(raw), ACTOR)
    session.flush()


def enrol(session: Session, bank: Bank, serial: int, username: str | None = None) -> CandidateSession:
    first17 = f"11010519850704{serial:03d}"
    return administration.enrol(session, bank.exam_session_id, f"考生{serial}", first17 + check_character(first17),
                                ACTOR, username=username, password=f"{username}-demo" if username else None)


def answer_for(session: Session, bank: Bank, position_item_version: int, theta: float,
               rng: np.random.Generator) -> list[str]:
    """The options a simulee of ability ``theta`` picks (pretest items: a fair coin)."""
    version = session.get(ItemVersion, position_item_version)
    item = session.get(Item, version.item_id)
    a, d = bank.params.get(item.id, (0.0, 0.0))
    right = rng.random() < 1.0 / (1.0 + math.exp(-(a * theta + d)))
    if item.item_type.value == "truefalse":
        return ["T"] if right else ["F"]
    return ["A"] if right else ["C"]


def sitting_of(session: Session, sitting_id: int) -> CandidateSession:
    return session.exec(select(CandidateSession).where(CandidateSession.id == sitting_id)).one()
