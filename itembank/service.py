"""Item bank operations: validate, create, edit (as a new version), list and look up.

The audit log belongs to the engine layer above; callers pass an ``AuditSink`` so that
every item change is recorded without this package importing upward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session, col, func, select

from itembank.errors import N_, ItemValidationError, NotFoundError
from itembank.levels import Level
from itembank.models import (
    CHOICE_TYPES,
    AppraisalNode,
    Item,
    ItemEnemy,
    ItemStatus,
    ItemTag,
    ItemType,
    ItemVersion,
    NodeKind,
    Occupation,
)
from itembank.sanitize import clean_html, plain_text
from itembank.scoring import CHOICE_MODES

MAX_STEM_LENGTH = 4000
MAX_STEM_HTML_LENGTH = 20000
MAX_OPTION_LENGTH = 1000
MAX_ANSWER_LENGTH = 200
MAX_RUBRIC_POINTS = 20
TEXT_MATCHING = ("case_sensitive", "ignore_width", "ignore_whitespace")
MAX_SOURCE_LENGTH = 300
MAX_LABEL_LENGTH = 60  # one tag or enemy-set name
MAX_LABELS = 20


class AuditSink(Protocol):
    def __call__(self, action: str, entity_type: str, entity_id: object, data: dict[str, Any]) -> object: ...


@dataclass
class ItemDraft:
    """What an examiner submits for an item; validated before anything is written."""

    occupation_id: int
    level: str
    item_type: str
    appraisal_point_id: int
    stem: str
    options: list[dict[str, str]]
    key: list[str]
    difficulty: float | None = None
    explanation: str = ""
    status: str = ItemStatus.draft.value
    scoring: dict[str, Any] | None = None
    # The editor asks for four options (the national item-writing rule); imported items
    # keep what their source had, from two up.
    min_options: int = 4
    source: str = ""  # 出处, stored on the version
    tags: list[str] = field(default_factory=list)
    enemy_sets: list[str] = field(default_factory=list)


@dataclass
class ItemFilter:
    occupation_id: int | None = None
    level: str | None = None
    appraisal_point_id: int | None = None
    status: str | None = None
    item_type: str | None = None
    text: str | None = None
    source: str | None = None  # part of the 出处
    tag: str | None = None
    enemy_set: str | None = None
    page: int = 1
    page_size: int = 50


@dataclass
class ItemPage:
    rows: list[tuple[Item, ItemVersion, AppraisalNode]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def validate(session: Session, draft: ItemDraft) -> dict[str, Any]:
    """Return the clean values or raise ItemValidationError with one message per field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    _check_enum(draft.level, Level, "level", clean, errors)
    _check_enum(draft.item_type, ItemType, "item_type", clean, errors)
    _check_enum(draft.status, ItemStatus, "status", clean, errors)
    if session.get(Occupation, draft.occupation_id) is None:
        errors["occupation_id"] = N_("unknown occupation")
    point = session.get(AppraisalNode, draft.appraisal_point_id)
    if point is None or point.kind != NodeKind.point:
        errors["appraisal_point_id"] = N_("choose an appraisal point")
    elif point.occupation_id != draft.occupation_id or point.level != draft.level:
        errors["appraisal_point_id"] = N_("the appraisal point belongs to another occupation or level")
    stem = clean_html(draft.stem)
    if not plain_text(stem) and "<img" not in stem and "<math" not in stem:
        errors["stem"] = N_("the stem is required")
    elif len(plain_text(stem)) > MAX_STEM_LENGTH or len(stem) > MAX_STEM_HTML_LENGTH:
        errors["stem"] = N_("the stem is too long")
    clean["stem"] = stem
    if "item_type" in clean and clean["item_type"] in CHOICE_TYPES:
        _check_options_and_key(clean["item_type"], draft.options, draft.key, clean, errors, draft.min_options)
        _check_choice_scoring(clean["item_type"], draft.scoring, clean, errors)
    elif clean.get("item_type") == ItemType.text:
        _check_text_entry(draft.key, draft.scoring, clean, errors)
    elif clean.get("item_type") == ItemType.extended:
        _check_rubric(draft.scoring, clean, errors)
    if draft.difficulty is not None and not 0.0 < draft.difficulty < 1.0:
        errors["difficulty"] = N_("difficulty is a proportion correct strictly between 0 and 1")
    _check_metadata(draft.source, draft.tags, draft.enemy_sets, clean, errors)
    if errors:
        raise ItemValidationError(errors)
    clean.setdefault("scoring", None)
    clean.update(difficulty=draft.difficulty, explanation=draft.explanation.strip(),
                 occupation_id=draft.occupation_id, appraisal_point_id=draft.appraisal_point_id)
    return clean


def labels(raw: str | list[str]) -> list[str]:
    """Tags or enemy-set names from a list or from text separated by commas (, or ，),
    semicolons, ``|`` or line breaks: trimmed, blanks and repeats dropped, order kept."""
    parts = raw if isinstance(raw, list) else [raw]
    found: list[str] = []
    for part in parts:
        for sep in "，;；|\n":
            part = part.replace(sep, ",")
        found.extend(label.strip() for label in part.split(","))
    return list(dict.fromkeys(label for label in found if label))


def _check_metadata(source: str, tags: list[str], enemy_sets: list[str], clean: dict, errors: dict) -> None:
    source = " ".join((source or "").split())
    if len(source) > MAX_SOURCE_LENGTH:
        errors["source"] = N_("the source is longer than 300 characters")
    for name, values in (("tags", labels(tags)), ("enemy_sets", labels(enemy_sets))):
        if len(values) > MAX_LABELS:
            errors[name] = N_("at most 20 names")
        elif any(len(v) > MAX_LABEL_LENGTH for v in values):
            errors[name] = N_("a name is longer than 60 characters")
        clean[name] = values
    clean["source"] = source


def check_labels(tags: list[str], enemy_sets: list[str]) -> tuple[list[str], list[str]]:
    """Clean tags and enemy-set names, or raise ItemValidationError naming the field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    _check_metadata("", tags, enemy_sets, clean, errors)
    if errors:
        raise ItemValidationError(errors)
    return clean["tags"], clean["enemy_sets"]


def _check_enum(value: str, enum: type, name: str, clean: dict, errors: dict) -> None:
    try:
        clean[name] = enum(value)
    except ValueError:
        errors[name] = N_("unknown value")


def _check_options_and_key(item_type: ItemType, options: list[dict[str, str]], key: list[str],
                           clean: dict, errors: dict, min_options: int = 4) -> None:
    options = [{"id": str(o["id"]).strip(), "text": clean_html(o["text"])} for o in options
               if plain_text(clean_html(o.get("text", ""))) or "<img" in clean_html(o.get("text", ""))]
    ids = [o["id"] for o in options]
    if item_type == ItemType.truefalse:
        options = [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}]
        ids = ["T", "F"]
    elif len(options) < max(2, min_options):
        errors["options"] = N_("give at least four options") if min_options >= 4 else N_("give at least two options")
    if len(set(ids)) != len(ids):
        errors["options"] = N_("option ids must be unique")
    if any(len(o["text"]) > MAX_OPTION_LENGTH for o in options):
        errors["options"] = N_("an option is too long")
    key = sorted(set(key))
    if not key:
        errors["key"] = N_("mark the correct answer")
    elif any(k not in ids for k in key):
        errors["key"] = N_("the key names an option that does not exist")
    elif item_type in (ItemType.single, ItemType.truefalse) and len(key) != 1:
        errors["key"] = N_("this item type has exactly one correct answer")
    elif item_type == ItemType.multiple and len(key) < 2:
        errors["key"] = N_("a multiple-choice item has at least two correct answers")
    clean["options"], clean["key"] = options, key


def _check_choice_scoring(item_type: ItemType, scoring: dict[str, Any] | None, clean: dict, errors: dict) -> None:
    """Multiple choice: all-or-nothing or partial credit; any choice type: a QTI value map."""
    scoring = dict(scoring or {})
    mode = scoring.get("mode", "all")
    if mode not in CHOICE_MODES or (mode == "partial" and item_type != ItemType.multiple):
        errors["scoring"] = N_("unknown scoring mode for this item type")
        return
    if mode == "map":
        _check_mapping(scoring, {o["id"] for o in clean.get("options", [])}, clean, errors)
        return
    clean["scoring"] = {"mode": mode} if mode != "all" else None


def _check_mapping(scoring: dict[str, Any], allowed: set[str] | None, clean: dict, errors: dict) -> None:
    mapping = scoring.get("mapping")
    try:
        values = {str(k): float(v) for k, v in dict(mapping or {}).items()}
        bounds = {name: float(scoring[name]) for name in ("default", "lower", "upper")
                  if scoring.get(name) is not None}
    except (TypeError, ValueError):
        errors["scoring"] = N_("the score map needs numbers")
        return
    if not values or (allowed is not None and not set(values) <= allowed):
        errors["scoring"] = N_("the score map must name existing answers")
        return
    clean["scoring"] = {**{k: scoring[k] for k in TEXT_MATCHING if k in scoring}, "mode": "map",
                        "mapping": values, **bounds}


def _check_text_entry(accepted: list[str], scoring: dict[str, Any] | None, clean: dict, errors: dict) -> None:
    """Text entry: one or more accepted answers and how leniently they are matched."""
    answers = list(dict.fromkeys(a.strip() for a in accepted if a and a.strip()))
    scoring = dict(scoring or {})
    if not answers and not scoring.get("mapping"):
        errors["key"] = N_("give at least one accepted answer")
    elif any(len(a) > MAX_ANSWER_LENGTH for a in answers):
        errors["key"] = N_("an accepted answer is too long")
    clean["options"], clean["key"] = [], answers
    matching = {name: bool(scoring.get(name, name != "case_sensitive")) for name in TEXT_MATCHING}
    if scoring.get("mapping"):
        _check_mapping({**scoring, **matching}, None, clean, errors)
    else:
        clean["scoring"] = matching


def _check_rubric(scoring: dict[str, Any] | None, clean: dict, errors: dict) -> None:
    """Extended items: 0..k points, each rubric level a whole number within that range."""
    scoring = dict(scoring or {})
    clean["options"], clean["key"] = [], []
    try:
        max_points = int(scoring.get("max_points", 0))
    except (TypeError, ValueError):
        max_points = 0
    if not 1 <= max_points <= MAX_RUBRIC_POINTS:
        errors["scoring"] = N_("maximum points is a whole number from 1 to 20")
        return
    rubric = []
    for level in scoring.get("rubric") or []:
        points, description = level.get("points"), clean_html(str(level.get("description", "")))
        if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= max_points:
            errors["scoring"] = N_("every rubric level needs points from 0 to the maximum")
            return
        rubric.append({"points": points, "description": description})
    clean["scoring"] = {"max_points": max_points, "rubric": sorted(rubric, key=lambda lv: lv["points"])}


def create_item(session: Session, draft: ItemDraft, author: str, record: AuditSink) -> Item:
    clean = validate(session, draft)
    item = Item(occupation_id=clean["occupation_id"], level=clean["level"], item_type=clean["item_type"],
                appraisal_point_id=clean["appraisal_point_id"], status=clean["status"], created_by=author)
    session.add(item)
    session.flush()
    version = _new_version(item, 1, clean, author)
    session.add(version)
    _add_labels(session, item.id, clean["tags"], clean["enemy_sets"])  # a new item has none to replace
    session.flush()
    record("item.created", "item", item.id, {"version": 1, "type": item.item_type, "status": item.status,
                                             **_label_data(clean["tags"], clean["enemy_sets"])})
    return item


def _label_data(tags: list[str], enemy_sets: list[str]) -> dict[str, list[str]]:
    return {name: values for name, values in (("tags", tags), ("enemy_sets", enemy_sets)) if values}


def _store_labels(session: Session, item_id: int, tags: list[str], enemy_sets: list[str]) -> None:
    for old in [*session.exec(select(ItemTag).where(ItemTag.item_id == item_id)).all(),
                *session.exec(select(ItemEnemy).where(ItemEnemy.item_id == item_id)).all()]:
        session.delete(old)
    session.flush()
    _add_labels(session, item_id, tags, enemy_sets)


def _add_labels(session: Session, item_id: int, tags: list[str], enemy_sets: list[str]) -> None:
    session.add_all([ItemTag(item_id=item_id, tag=tag) for tag in tags])
    session.add_all([ItemEnemy(item_id=item_id, enemy_set=name) for name in enemy_sets])


def set_labels(session: Session, item_id: int, tags: list[str], enemy_sets: list[str], actor: str,
               record: AuditSink) -> None:
    """Replace an item's tags and enemy sets. They classify the item and say what it may
    not be combined with; they are not content, so no new version and no new review."""
    _locked_item(session, item_id)
    tags, enemy_sets = check_labels(tags, enemy_sets)
    before = item_labels(session, [item_id]).get(item_id, ([], []))
    if (sorted(before[0]), sorted(before[1])) == (sorted(tags), sorted(enemy_sets)):
        return
    _store_labels(session, item_id, tags, enemy_sets)
    session.flush()
    record("item.labels_changed", "item", item_id, {"by": actor, "tags": tags, "enemy_sets": enemy_sets,
                                                    "previous_tags": before[0], "previous_enemy_sets": before[1]})


def item_labels(session: Session, item_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """Item id → (tags, enemy sets), each sorted, for the given items."""
    found: dict[int, tuple[list[str], list[str]]] = {item_id: ([], []) for item_id in item_ids}
    if not item_ids:
        return found
    for row in session.exec(select(ItemTag).where(col(ItemTag.item_id).in_(item_ids)).order_by(ItemTag.tag)):
        found[row.item_id][0].append(row.tag)
    for enemy in session.exec(select(ItemEnemy).where(col(ItemEnemy.item_id).in_(item_ids))
                              .order_by(ItemEnemy.enemy_set)):
        found[enemy.item_id][1].append(enemy.enemy_set)
    return found


def enemy_groups(session: Session, item_ids: list[int] | set[int]) -> list[list[int]]:
    """The enemy sets among ``item_ids``: each a sorted list of two or more of those items
    that must not be given together. This is what ``engine.assembly`` and ``engine.cat``
    take as a blueprint's ``enemies`` (after mapping ids to their own item keys)."""
    wanted = sorted(set(item_ids))
    if not wanted:
        return []
    members: dict[str, list[int]] = {}
    for row in session.exec(select(ItemEnemy).where(col(ItemEnemy.item_id).in_(wanted))
                            .order_by(ItemEnemy.enemy_set, ItemEnemy.item_id)):
        members.setdefault(row.enemy_set, []).append(row.item_id)
    return [ids for _name, ids in sorted(members.items()) if len(ids) > 1]


def enemy_partners(session: Session, item_id: int) -> list[int]:
    """Every other item that shares an enemy set with ``item_id``."""
    names = select(ItemEnemy.enemy_set).where(ItemEnemy.item_id == item_id)
    return list(session.exec(select(ItemEnemy.item_id).distinct()
                             .where(col(ItemEnemy.enemy_set).in_(names), ItemEnemy.item_id != item_id)
                             .order_by(ItemEnemy.item_id)).all())


def enemy_set_names(session: Session) -> list[str]:
    return list(session.exec(select(ItemEnemy.enemy_set).distinct().order_by(ItemEnemy.enemy_set)).all())


def tag_names(session: Session) -> list[str]:
    return list(session.exec(select(ItemTag.tag).distinct().order_by(ItemTag.tag)).all())


def edit_item(session: Session, item_id: int, draft: ItemDraft, author: str, record: AuditSink) -> ItemVersion:
    """Every edit is a new version; administered versions stay as they were.

    The status is not the editor's to set: a reviewed item that is edited returns to
    draft (``workflow.Command.revise``) and is reviewed again."""
    item = _locked_item(session, item_id)
    if draft.item_type != item.item_type:
        raise ItemValidationError({"item_type": N_("the type of an existing item cannot change")})
    clean = validate(session, draft)
    item.current_version += 1
    item.level, item.appraisal_point_id = clean["level"], clean["appraisal_point_id"]
    item.occupation_id = clean["occupation_id"]
    version = _new_version(item, item.current_version, clean, author)
    session.add(item)
    session.add(version)
    session.flush()
    record("item.version_created", "item", item.id, {"version": version.version_no, "status": item.status})
    if item.status != ItemStatus.draft:
        # Changed content has not been reviewed: it goes back through the workflow.
        from itembank import workflow

        workflow.apply(session, item, workflow.Command.revise, author, record)
    return version


def _new_version(item: Item, number: int, clean: dict[str, Any], author: str) -> ItemVersion:
    return ItemVersion(item_id=item.id, version_no=number, stem=clean["stem"], options=clean["options"],
                       key=clean["key"], scoring=clean["scoring"], difficulty=clean["difficulty"],
                       explanation=clean["explanation"], source=clean["source"], created_by=author)


def _locked_item(session: Session, item_id: int) -> Item:
    """The item, row-locked and freshly read: two simultaneous edits number their versions
    one after the other instead of both claiming the same next number."""
    item = session.exec(select(Item).where(Item.id == item_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if item is None:
        raise NotFoundError(f"item {item_id} not found")
    return item


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFoundError(f"item {item_id} not found")
    return item


def versions_of(session: Session, item_id: int) -> list[ItemVersion]:
    return list(session.exec(select(ItemVersion).where(ItemVersion.item_id == item_id)
                             .order_by(col(ItemVersion.version_no).desc())).all())


def current_version(session: Session, item: Item) -> ItemVersion:
    return session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                  ItemVersion.version_no == item.current_version)).one()


def list_items(session: Session, flt: ItemFilter) -> ItemPage:
    query = (select(Item, ItemVersion, AppraisalNode)
             .join(ItemVersion, (col(ItemVersion.item_id) == Item.id)
                   & (col(ItemVersion.version_no) == Item.current_version))
             .join(AppraisalNode, col(AppraisalNode.id) == Item.appraisal_point_id))
    conditions = []
    if flt.occupation_id:
        conditions.append(col(Item.occupation_id) == flt.occupation_id)
    if flt.level:
        conditions.append(col(Item.level) == flt.level)
    if flt.appraisal_point_id:
        conditions.append(col(Item.appraisal_point_id) == flt.appraisal_point_id)
    if flt.status:
        conditions.append(col(Item.status) == flt.status)
    if flt.item_type:
        conditions.append(col(Item.item_type) == flt.item_type)
    if flt.text:
        conditions.append(col(ItemVersion.stem).contains(flt.text.strip()))
    if flt.source:
        conditions.append(col(ItemVersion.source).contains(flt.source.strip()))
    if flt.tag:
        conditions.append(col(Item.id).in_(select(ItemTag.item_id).where(ItemTag.tag == flt.tag.strip())))
    if flt.enemy_set:
        conditions.append(col(Item.id).in_(select(ItemEnemy.item_id)
                                           .where(ItemEnemy.enemy_set == flt.enemy_set.strip())))
    for condition in conditions:
        query = query.where(condition)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = max(1, flt.page)
    rows = session.exec(query.order_by(Item.id).offset((page - 1) * flt.page_size).limit(flt.page_size)).all()
    return ItemPage(rows=[tuple(r) for r in rows], total=total, page=page, page_size=flt.page_size)  # type: ignore[misc]


def occupations(session: Session) -> list[Occupation]:
    return list(session.exec(select(Occupation).order_by(Occupation.code)).all())


def appraisal_points(session: Session, occupation_id: int | None = None, level: str | None = None
                     ) -> list[AppraisalNode]:
    query = select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)
    if occupation_id:
        query = query.where(AppraisalNode.occupation_id == occupation_id)
    if level:
        query = query.where(AppraisalNode.level == level)
    return list(session.exec(query.order_by(AppraisalNode.code)).all())


def appraisal_point(session: Session, point_id: int | None) -> AppraisalNode | None:
    """The appraisal point with this id, or None when there is no such point."""
    node = session.get(AppraisalNode, point_id) if point_id else None
    return node if node is not None and node.kind == NodeKind.point else None


@dataclass
class PointGroup:
    """The appraisal points of one occupation at one level, for a grouped picker."""

    occupation: Occupation
    level: Level
    points: list[AppraisalNode]


def appraisal_point_groups(session: Session) -> list[PointGroup]:
    by_id = {o.id: o for o in occupations(session)}
    groups: dict[tuple[int, str], PointGroup] = {}
    for point in appraisal_points(session):
        key = (point.occupation_id, point.level)
        if key not in groups:
            groups[key] = PointGroup(by_id[point.occupation_id], Level(point.level), [])
        groups[key].points.append(point)
    return sorted(groups.values(), key=lambda g: (g.occupation.code, list(Level).index(g.level)))
