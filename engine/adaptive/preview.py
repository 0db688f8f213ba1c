"""What the examiner sees before an exam runs, and the fixed form the assembler builds.

* adaptive: a simulated run of the stored settings over today's calibrated bank —
  conditional SE, RMSE and expected length by θ (``engine.cat.simulate``/``summarize``);
* fixed: a form assembled as a 0-1 program (``engine.assembly``) or the exam's current
  form, with its information curve, conditional SE and blueprint coverage
  (``engine.assembly.preview_form``); ``apply_form`` makes it the exam's form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, delete, select

from engine import audit
from engine.adaptive.design import bank_snapshot, blueprint_doc
from engine.adaptive.service import AdaptiveConfig, build_design
from engine.assembly import AssemblyError, AssemblyOptions, FormPreview, assemble_forms, preview_form
from engine.cat import Blueprint, CATBank, CATError, CATSettings, ScoreScale, simulate, summarize
from engine.errors import N_, InvalidInputError
from engine.models import ExamDefinition, ExamFormItem
from itembank.models import Item


@dataclass(frozen=True)
class AdaptivePreview:
    report: dict  # summarize(): bias, rmse, length, by_theta, exposure, classification, …
    n_items: int
    n_pretest_pool: int
    cut_theta: float


def adaptive_preview(session: Session, definition: ExamDefinition, config: AdaptiveConfig,
                     n_simulees: int = 400, seed: int = 1) -> AdaptivePreview:
    """Simulate the settings on simulees spread evenly over θ ∈ [−3, 3] (known truth)."""
    design = build_design(session, definition, config, seen=(), sympson_hetter=config.sympson_hetter)
    try:
        from engine.adaptive.design import bank_of

        bank = bank_of(design["bank"])
        settings = CATSettings.from_dict(design["settings"])
        k = design["sympson_hetter"]
        engine = settings.build(CATBank(bank), Blueprint.from_dict(design["blueprint"]),
                                sympson_hetter=None if k is None else np.array(k))
        scale = ScoreScale.from_reference(bank.subset(bank.index(design["reference"])), design["cut_theta"])
        rng = np.random.default_rng(seed)
        result = simulate(engine, rng.uniform(-3.0, 3.0, n_simulees), rng)
    except CATError as exc:
        raise InvalidInputError(N_("the adaptive settings are not valid: %(reason)s"), "settings",
                                reason=str(exc)) from None
    report = summarize(result, cut=scale.cut_theta)
    return AdaptivePreview(report, bank.n_items, len(design["pretest"]), scale.cut_theta)


@dataclass(frozen=True)
class FixedPreview:
    items: list[int]
    preview: FormPreview
    cut_theta: float
    uncalibrated: int  # form items without parameters (not in the curves)


def _fixed_blueprint(session: Session, definition: ExamDefinition, config: AdaptiveConfig, length: int):
    snapshot = bank_snapshot(session, definition)
    if not snapshot.params:
        raise InvalidInputError(N_("exam %(code)s has no calibrated active items for adaptive testing"),
                                code=definition.code)
    doc = blueprint_doc(snapshot, config.blueprint_level, config.type_bounds or {},
                        [list(e) for e in config.enemies], length, length)
    return snapshot, doc


def assemble(session: Session, definition: ExamDefinition, config: AdaptiveConfig, length: int) -> FixedPreview:
    """One form of ``length`` items meeting the blueprint, most informative at the cut."""
    snapshot, doc = _fixed_blueprint(session, definition, config, length)
    if not 1 <= length <= len(snapshot.params):
        raise InvalidInputError(N_("the form length must be between 1 and %(n)s"), "length", n=len(snapshot.params))
    bank = snapshot.item_bank()
    cut = _cut(bank, config.settings.cut_theta)
    try:
        forms = assemble_forms(bank, Blueprint.from_dict(doc), AssemblyOptions(n_forms=1, length=length,
                                                                               cut_theta=cut, time_limit=20.0))
    except (AssemblyError, CATError) as exc:
        raise InvalidInputError(N_("no form meets the blueprint: %(reason)s"), "length", reason=str(exc)) from None
    ids = sorted(int(i) for i in forms.forms[0])
    return FixedPreview(ids, preview_form(bank, [str(i) for i in ids], Blueprint.from_dict(doc), cut), cut, 0)


def current_form(session: Session, definition: ExamDefinition, config: AdaptiveConfig) -> FixedPreview | None:
    """The exam's present fixed form described like an assembled one (None without a form)."""
    ids = list(session.exec(select(ExamFormItem.item_id).where(ExamFormItem.exam_definition_id == definition.id)
                            .order_by(ExamFormItem.position)).all())
    if not ids:
        return None
    snapshot, doc = _fixed_blueprint(session, definition, config, len(ids))
    known = [i for i in ids if str(i) in set(snapshot.ids)]
    if not known:
        return None
    bank = snapshot.item_bank()
    cut = _cut(bank.subset(bank.index([str(i) for i in known])), config.settings.cut_theta)
    blueprint = Blueprint.from_dict({**doc, "items": {str(i): doc["items"][str(i)] for i in known}})
    return FixedPreview(ids, preview_form(bank, [str(i) for i in known], blueprint, cut), cut, len(ids) - len(known))


def _cut(bank, cut_theta: float | None) -> float:
    try:
        return ScoreScale.from_reference(bank, cut_theta).cut_theta
    except CATError:
        return 0.0 if cut_theta is None else cut_theta


def apply_form(session: Session, definition: ExamDefinition, item_ids: list[int], actor: str) -> int:
    """Make ``item_ids`` the exam's fixed form (one point each, in the given order)."""
    if not item_ids or len(set(item_ids)) != len(item_ids):
        raise InvalidInputError(N_("the form needs distinct items"), "item_ids")
    found = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(item_ids))).all()}
    for item_id in item_ids:
        item = found.get(item_id)
        if item is None or item.occupation_id != definition.occupation_id or item.level != definition.level:
            raise InvalidInputError(N_("item %(id)s is not in this exam's bank"), "item_ids", id=item_id)
    session.exec(delete(ExamFormItem).where(ExamFormItem.exam_definition_id == definition.id))
    for position, item_id in enumerate(item_ids, 1):
        session.add(ExamFormItem(exam_definition_id=definition.id, position=position, item_id=item_id, points=1.0))
    session.flush()
    audit.record(session, actor, "exam.form_assembled", "exam_definition", definition.id, {"items": item_ids})
    return len(item_ids)
