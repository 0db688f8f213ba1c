"""From the item bank to an adaptive design, and from a stored design to a session runner.

A *design* is a JSON document (frozen per sitting) holding the calibrated parameters
of the operational bank, each item's appraisal module/element and type, the blueprint
in the format of ``docs/cat.md``, the CAT settings, Sympson–Hetter parameters, the
pretest pool and the items blocked by the retake window. ``runner_for`` turns it back
into an :class:`engine.cat.SessionRunner` and the exam's :class:`engine.cat.ScoreScale`;
runners are cached by the design's hash because building a bank's tables costs about
0.1 ms per item and every request replays the sitting.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
from sqlmodel import Session, col, select

from engine.cat import Blueprint, CATBank, CATSettings, ScoreScale, SessionRunner
from engine.models import ExamDefinition, ExamFormItem
from itembank.calibrations import latest_parameters
from itembank.irt.models import ItemBank, ItemParams
from itembank.models import AppraisalNode, Item, ItemStatus, ItemType, ItemVersion, NodeKind
from itembank.service import enemy_groups

# Item types scored the moment they are answered; rubric items wait for a rater and so
# cannot steer an adaptive test.
ADAPTIVE_TYPES = (ItemType.single, ItemType.multiple, ItemType.truefalse, ItemType.text)
BLUEPRINT_LEVELS = ("module", "element")


@dataclass
class BankSnapshot:
    """The active, automatically scored items of one occupation and level."""

    params: list[dict] = field(default_factory=list)  # calibrated: {"id", "model", "a", "d", "c"}
    attributes: dict[str, dict] = field(default_factory=dict)  # id -> module, element, type
    versions: dict[str, int] = field(default_factory=dict)  # id -> item version served
    pretest: list[str] = field(default_factory=list)  # active but not yet calibrated
    weights: dict[str, dict[str, float]] = field(default_factory=dict)  # level -> code -> weight
    enemies: list[list[int]] = field(default_factory=list)  # the bank's enemy sets (item metadata)

    @property
    def ids(self) -> list[str]:
        return [p["id"] for p in self.params]

    def item_bank(self) -> ItemBank:
        return bank_of(self.params)


def bank_of(params: list[dict]) -> ItemBank:
    return ItemBank.from_items([ItemParams(id=p["id"], model=p["model"], a=float(p["a"]), d=tuple(p["d"]),
                                           c=float(p.get("c") or 0.0)) for p in params])


def bank_snapshot(session: Session, definition: ExamDefinition) -> BankSnapshot:
    """Calibrated parameters (of each item's current version) and blueprint attributes."""
    rows = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, (col(ItemVersion.item_id) == Item.id)
              & (col(ItemVersion.version_no) == Item.current_version))
        .where(Item.occupation_id == definition.occupation_id, Item.level == definition.level,
               Item.status == ItemStatus.active, col(Item.item_type).in_(ADAPTIVE_TYPES))
        .order_by(Item.id)).all()
    calibrations = latest_parameters(session, [version.id for _item, version in rows])
    nodes = {node.id: node for node in session.exec(select(AppraisalNode).where(
        AppraisalNode.occupation_id == definition.occupation_id, AppraisalNode.level == definition.level)).all()}
    snapshot = BankSnapshot()
    for level in BLUEPRINT_LEVELS:
        snapshot.weights[level] = {n.code: float(n.weight) for n in nodes.values()
                                   if n.kind.value == level and n.weight is not None}
    for item, version in rows:
        item_id = str(item.id)
        snapshot.versions[item_id] = version.id
        calibration = calibrations.get(version.id)
        if calibration is None:
            snapshot.pretest.append(item_id)
            continue
        snapshot.params.append({"id": item_id, "model": calibration.model, "a": calibration.a,
                                "d": list(calibration.d), "c": calibration.c})
        snapshot.attributes[item_id] = {**_ancestors(nodes, item.appraisal_point_id), "type": item.item_type.value}
    snapshot.enemies = enemy_groups(session, [int(i) for i in snapshot.ids])
    return snapshot


def _ancestors(nodes: dict[int, AppraisalNode], point_id: int) -> dict[str, str]:
    found = {}
    node = nodes.get(point_id)
    while node is not None:
        if node.kind in (NodeKind.module, NodeKind.element):
            found.setdefault(node.kind.value, node.code)
        node = nodes.get(node.parent_id) if node.parent_id is not None else None
    return found


def blueprint_doc(snapshot: BankSnapshot, level: str, type_bounds: dict, enemies: list[list[int]],
                  min_length: int, max_length: int) -> dict:
    """The blueprint: appraisal weights of ``level`` as count bounds, item-type bounds, enemies
    (the bank's enemy sets from the item metadata plus the exam's own ``enemies``).

    A weight w (share of the weights of that level) bounds the count between
    ⌊w·min_length⌋ and ⌈w·max_length⌉, so a variable-length test may stop early.
    """
    weights = {code: w for code, w in snapshot.weights.get(level, {}).items() if w > 0}
    total = sum(weights.values())
    constraints: dict[str, dict] = {}
    if total > 0:
        constraints[level] = {code: {"min": math.floor(w / total * min_length + 1e-9),
                                     "max": math.ceil(w / total * max_length - 1e-9)}
                              for code, w in sorted(weights.items())}
    if type_bounds:
        constraints["type"] = {t: dict(b) for t, b in sorted(type_bounds.items())}
    known = set(snapshot.ids)
    sets = [[str(i) for i in group if str(i) in known] for group in [*snapshot.enemies, *enemies]]
    return {"items": snapshot.attributes, "constraints": constraints,
            "enemies": [s for s in sets if len(s) > 1]}


def reference_form(session: Session, definition: ExamDefinition, snapshot: BankSnapshot) -> list[str]:
    """The exam's reference form for the 0–100 scale: its fixed form's calibrated items, else the bank."""
    lines = session.exec(select(ExamFormItem.item_id).where(ExamFormItem.exam_definition_id == definition.id)
                         .order_by(ExamFormItem.position)).all()
    known = set(snapshot.ids)
    form = [str(i) for i in lines if str(i) in known]
    return form or snapshot.ids


@dataclass(frozen=True)
class Built:
    runner: SessionRunner
    scale: ScoreScale
    settings: CATSettings
    key: str = ""  # the design's hash


_CACHE: OrderedDict[str, Built] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256  # one entry per live sitting (designs differ by retake and exposure snapshot)


def design_key(design: dict, exposure: dict) -> str:
    text = json.dumps([design, exposure], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def runner_for(design: dict, exposure: dict, key: str | None = None) -> Built:
    """The runner and score scale of a stored design (cached; raises CATError on bad designs).

    ``key`` is the design's hash when the caller already knows it (a sitting's design never changes).
    """
    key = key or design_key(design, exposure)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    built = replace(_build(design, exposure), key=key)
    with _CACHE_LOCK:
        _CACHE[key] = built
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return built


_BANKS: OrderedDict[str, CATBank] = OrderedDict()
_BANKS_SIZE = 8


def _cat_bank(params: list[dict]) -> CATBank:
    """The bank tables, shared by every sitting of the same calibrated bank (built once)."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    with _CACHE_LOCK:
        if key in _BANKS:
            _BANKS.move_to_end(key)
            return _BANKS[key]
    built = CATBank(bank_of(params))
    with _CACHE_LOCK:
        _BANKS[key] = built
        while len(_BANKS) > _BANKS_SIZE:
            _BANKS.popitem(last=False)
    return built


def _build(design: dict, exposure: dict) -> Built:
    cat_bank = _cat_bank(design["bank"])
    bank = cat_bank.bank
    settings = CATSettings.from_dict(design["settings"])
    blueprint = Blueprint.from_dict(design["blueprint"])
    k = design.get("sympson_hetter")
    counts = np.array([float(exposure.get("counts", {}).get(i, 0)) for i in bank.ids])
    engine = settings.build(cat_bank, blueprint, sympson_hetter=None if k is None else np.array(k),
                            exposure_counts=counts, n_tests=int(exposure.get("n_tests", 0)))
    pretest = list(design.get("pretest", []))
    runner = SessionRunner(engine, pretest_items=pretest, n_pretest=min(settings.n_pretest, len(pretest)))
    reference = bank.subset(bank.index(design["reference"]))
    scale = ScoreScale.from_reference(reference, design.get("cut_theta"))
    return Built(runner, scale, settings)


_STATES: OrderedDict[tuple, object] = OrderedDict()
_STATES_SIZE = 1024


def cached_state(key: tuple):
    """A sitting's state after exactly these stored responses, if this process computed it."""
    with _CACHE_LOCK:
        return _STATES.get(key)


def remember_state(key: tuple, state) -> None:
    with _CACHE_LOCK:
        _STATES[key] = state
        _STATES.move_to_end(key)
        while len(_STATES) > _STATES_SIZE:
            _STATES.popitem(last=False)


def clear_caches() -> None:
    """Forget every built runner, bank and state (as after a restart; used by tests)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _BANKS.clear()
        _STATES.clear()
