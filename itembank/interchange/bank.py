"""Write imported items into the bank (all or nothing) and read bank items out for export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from itembank import images, service
from itembank.errors import ItemValidationError
from itembank.interchange.model import ImportLine, ParsedItem, ReadResult
from itembank.irt.errors import IRTError
from itembank.irt.models import ItemParams
from itembank.levels import Level
from itembank.models import (
    AppraisalNode,
    CalibrationRun,
    Item,
    ItemCalibration,
    ItemVersion,
    NodeKind,
    Occupation,
)


@dataclass(frozen=True)
class Place:
    """Where imported items without their own placement go."""

    occupation_code: str | None = None
    level: str | None = None
    point_code: str | None = None


def parse_level(raw: str | None) -> str | None:
    """``4``, ``level4`` or ``四级`` → ``level4``; None when it names no level."""
    if raw is None:
        return None
    text = str(raw).strip()
    digits = {"五": "5", "四": "4", "三": "3", "二": "2", "一": "1"}
    if text and text[0] in digits:
        text = digits[text[0]]
    if text.endswith(".0"):
        text = text[:-2]
    candidate = f"level{text}" if text.isdigit() else text
    return candidate if candidate in {lv.value for lv in Level} else None


@dataclass
class ImportReport:
    lines: list[ImportLine] = field(default_factory=list)
    created: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(line.outcome == "imported" for line in self.lines)


class _Places:
    """Resolves codes to ids once per import."""

    def __init__(self, session: Session):
        self.session = session
        self.occupations = {o.code: o for o in session.exec(select(Occupation)).all()}
        self.points: dict[tuple[int, str, str], AppraisalNode] = {
            (p.occupation_id, p.level.value, p.code): p
            for p in session.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)).all()}

    def resolve(self, item: ParsedItem, default: Place) -> AppraisalNode | str:
        code = item.occupation_code or default.occupation_code
        level = parse_level(item.level) if item.level else parse_level(default.level)
        if not code or code not in self.occupations:
            return f"unknown occupation {code!r}" if code else "no occupation: pass --occupation"
        if level is None:
            return f"unknown level {item.level or default.level!r}"
        occupation = self.occupations[code]
        point_code = item.point_code or default.point_code
        if point_code:
            point = self.points.get((occupation.id, level, point_code))
            return point or f"no appraisal point {point_code!r} for {code} {level}"
        candidates = sorted((p for (o, lv, _c), p in self.points.items() if o == occupation.id and lv == level),
                            key=lambda p: p.code)
        return candidates[0] if candidates else f"{code} {level} has no appraisal points"


def _draft(item: ParsedItem, point: AppraisalNode) -> service.ItemDraft:
    return service.ItemDraft(occupation_id=point.occupation_id, level=point.level.value, item_type=item.item_type,
                             appraisal_point_id=point.id, stem=item.stem, options=item.options, key=item.key,
                             difficulty=item.difficulty, explanation=item.explanation, scoring=item.scoring,
                             min_options=2, source=item.source, tags=list(item.tags),
                             enemy_sets=list(item.enemy_sets))


def import_items(session: Session, read: ReadResult, actor: str, record: service.AuditSink,
                 default: Place = Place(), dry_run: bool = False,
                 column_of: dict[str, str] | None = None, image_root: Path | None = None) -> ImportReport:
    """Validate every item; write them all only when none is rejected or unsupported."""
    report = ImportReport(lines=list(read.problems))
    places = _Places(session)
    ready: list[tuple[ParsedItem, service.ItemDraft]] = []
    for item in read.items:
        where = places.resolve(item, default)
        label = item.identifier
        if isinstance(where, str):
            report.lines.append(ImportLine(label, "rejected", where))
            continue
        draft = _draft(item, where)
        problem = _parameter_problem(item)
        if problem:
            report.lines.append(ImportLine(label, "rejected", problem))
            continue
        try:
            service.validate(session, draft)
        except ItemValidationError as exc:
            columns = column_of or {}
            detail = "; ".join(f"{columns.get(name, name)}: {message}" for name, message in exc.errors.items())
            report.lines.append(ImportLine(label, "rejected", detail))
            continue
        ready.append((item, draft))
    if not report.ok or dry_run:
        if report.ok:
            report.lines.extend(ImportLine(item.identifier, "imported", "dry run") for item, _ in ready)
        return report
    for data in read.images.values():
        if image_root is not None:
            images.store(session, image_root, data, actor)
    calibrated: list[tuple[ParsedItem, Item]] = []
    for item, draft in ready:
        created = service.create_item(session, draft, actor, record)
        report.created.append(created.id)
        report.lines.append(ImportLine(item.identifier, "imported", f"item {created.id}"))
        if item.parameters:
            calibrated.append((item, created))
    record("bank.imported", "bank", "items", {"count": len(ready), "items": report.created})
    if calibrated:
        _store_parameters(session, calibrated, actor, record)
    return report


def _parameter_problem(item: ParsedItem) -> str | None:
    if not item.parameters:
        return None
    p = item.parameters
    try:
        ItemParams(id=item.identifier, model=p["model"], a=float(p["a"]), d=tuple(float(d) for d in p["d"]),
                   c=float(p.get("c") or 0.0))
    except (IRTError, KeyError, TypeError, ValueError) as exc:
        return f"IRT parameters: {exc}"
    return None


def _store_parameters(session: Session, calibrated: list[tuple[ParsedItem, Item]], actor: str,
                      record: service.AuditSink) -> None:
    """Parameters calibrated elsewhere land as one calibration run on the new versions."""
    models = sorted({item.parameters["model"] for item, _ in calibrated})
    run = CalibrationRun(model=models[0] if len(models) == 1 else "mixed", n_persons=0, n_items=len(calibrated),
                         source="imported QTI usage data", created_by=actor)
    session.add(run)
    session.flush()
    for item, created in calibrated:
        version = service.current_version(session, created)
        p = item.parameters
        session.add(ItemCalibration(calibration_run_id=run.id, item_version_id=version.id, model=p["model"],
                                    a=float(p["a"]), d=[float(d) for d in p["d"]],
                                    c=None if p.get("c") is None else float(p["c"])))
    session.flush()
    record("calibration.imported", "calibration_run", run.id, {"items": [c.id for _, c in calibrated]})


def bank_items(session: Session, occupation_code: str | None = None, level: str | None = None,
               point_code: str | None = None) -> list[tuple[Item, ItemVersion, ParsedItem]]:
    """Current versions of the chosen bank part, as exportable records (ordered by item id)."""
    query = (select(Item, ItemVersion, AppraisalNode, Occupation)
             .join(ItemVersion, (col(ItemVersion.item_id) == Item.id)
                   & (col(ItemVersion.version_no) == Item.current_version))
             .join(AppraisalNode, col(AppraisalNode.id) == Item.appraisal_point_id)
             .join(Occupation, col(Occupation.id) == Item.occupation_id))
    if occupation_code:
        query = query.where(Occupation.code == occupation_code)
    if level:
        query = query.where(Item.level == level)
    if point_code:
        query = query.where(AppraisalNode.code == point_code)
    rows = []
    found = session.exec(query.order_by(Item.id)).all()
    labels = service.item_labels(session, [item.id for item, *_ in found])
    for item, version, point, occupation in found:
        tags, enemy_sets = labels[item.id]
        rows.append((item, version, ParsedItem(
            identifier=f"item-{item.id}", item_type=item.item_type.value, stem=version.stem,
            options=list(version.options), key=list(version.key), scoring=version.scoring,
            explanation=version.explanation, difficulty=version.difficulty, occupation_code=occupation.code,
            level=item.level.value, point_code=point.code, source=version.source, tags=tags,
            enemy_sets=enemy_sets)))
    return rows
