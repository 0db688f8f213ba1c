"""Examiner pages: the item bank list with filters, and item authoring.

Every save of an existing item is a new version (the service guarantees it), so a
version a candidate has seen never changes. Examiners author items and therefore see
their keys; nothing here is reachable by candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from engine import audit
from engine.models import Role, User
from itembank import quality, workflow
from itembank import service as items
from itembank.diff import version_diff
from itembank.errors import IllegalTransitionError, ItemValidationError, SelfReviewError
from itembank.levels import Level
from itembank.models import CHOICE_TYPES, Item, ItemStatus, ItemType, ItemVersion
from itembank.sanitize import clean_html, plain_text
from web.auth import allow
from web.deps import current_user, get_db
from web.labels import N_
from web.routes import examiner_bank, marking
from web.templating import render, render_error

router = APIRouter(prefix="/examiner")
AUTHORS = (Role.examiner, Role.admin)
PAGE_SIZE = 25
OPTION_IDS = ("A", "B", "C", "D", "E")
# Stored rich text is sanitized again as it is rendered, so a row written by an older
# version or by hand can never put live markup on an examiner's page.
RICH_TEXT = {"rich": clean_html, "plain": plain_text}


@dataclass
class ItemForm:
    """The editor's fields exactly as typed, so an invalid form comes back as it was sent."""

    item_type: str = ItemType.single.value
    appraisal_point_id: str = ""
    stem: str = ""
    options: dict[str, str] = field(default_factory=dict)
    key: list[str] = field(default_factory=list)
    difficulty: str = ""
    explanation: str = ""
    scoring_mode: str = "all"  # multiple choice: all-or-nothing or partial credit
    accepted: str = ""  # text entry: accepted answers, one per line
    matching: list[str] = field(default_factory=lambda: ["ignore_width", "ignore_whitespace"])
    max_points: str = ""  # extended: k
    rubric: str = ""  # extended: one level per line, "points: description"
    source: str = ""  # 出处, saved with the version
    tags: str = ""  # comma-separated; set with a new item, later in the labels form
    enemy_sets: str = ""

    @classmethod
    def of_version(cls, item: Item, version: ItemVersion) -> ItemForm:
        choice = item.item_type in (ItemType.single, ItemType.multiple)
        scoring = version.scoring or {}
        return cls(item_type=item.item_type.value, appraisal_point_id=str(item.appraisal_point_id),
                   stem=version.stem, options={o["id"]: o["text"] for o in version.options} if choice else {},
                   key=list(version.key), explanation=version.explanation,
                   difficulty="" if version.difficulty is None else f"{version.difficulty:g}",
                   scoring_mode=scoring.get("mode", "all"),
                   accepted="\n".join(version.key) if item.item_type == ItemType.text else "",
                   matching=[n for n in items.TEXT_MATCHING if scoring.get(n, n != "case_sensitive")],
                   max_points=str(scoring.get("max_points", "")),
                   rubric="\n".join(f"{lv['points']}: {lv['description']}" for lv in scoring.get("rubric", [])),
                   source=version.source)


def item_form(item_type: str = Form(""), appraisal_point_id: str = Form(""), stem: str = Form(""),
              option_A: str = Form(""), option_B: str = Form(""), option_C: str = Form(""),
              option_D: str = Form(""), option_E: str = Form(""), key: list[str] = Form(default=[]),
              tf_key: str = Form(""), difficulty: str = Form(""), explanation: str = Form(""),
              scoring_mode: str = Form("all"), accepted: str = Form(""), matching: list[str] = Form(default=[]),
              max_points: str = Form(""), rubric: str = Form(""), source: str = Form(""), tags: str = Form(""),
              enemy_sets: str = Form("")) -> ItemForm:
    """Parse the editor's form; choice items send ``key`` checkboxes, true/false items ``tf_key``,
    text-entry items ``accepted`` lines, extended items ``max_points`` and ``rubric`` lines."""
    chosen = [tf_key] if tf_key else []
    return ItemForm(item_type=item_type, appraisal_point_id=appraisal_point_id, stem=stem,
                    options=dict(zip(OPTION_IDS, (option_A, option_B, option_C, option_D, option_E), strict=False)),
                    key=chosen if item_type == ItemType.truefalse else list(key), difficulty=difficulty.strip(),
                    explanation=explanation, scoring_mode=scoring_mode, accepted=accepted, matching=matching,
                    max_points=max_points.strip(), rubric=rubric, source=source, tags=tags, enemy_sets=enemy_sets)


def _scoring(form: ItemForm, unparsed: dict[str, str]) -> tuple[list[str], dict | None]:
    """The key and scoring settings the service expects, from the type-specific fields."""
    if form.item_type == ItemType.text:
        answers = [line for line in form.accepted.splitlines() if line.strip()]
        return answers, {name: name in form.matching for name in items.TEXT_MATCHING}
    if form.item_type == ItemType.extended:
        levels = []
        for _number, line in enumerate(form.rubric.splitlines(), start=1):
            if not line.strip():
                continue
            points, _, description = line.partition(":")
            if not points.strip().isdigit():
                unparsed["scoring"] = N_("write each rubric level as \"points: description\"")
                continue
            levels.append({"points": int(points), "description": description.strip()})
        return [], {"max_points": form.max_points or 0, "rubric": levels}
    return form.key, {"mode": form.scoring_mode}


def _number(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _draft(db: Session, form: ItemForm) -> items.ItemDraft:
    """Build the service's draft; the appraisal point decides occupation and level.

    Raises ItemValidationError with the service's messages plus any field the form
    could not even parse, so every problem is shown at once.
    """
    point = items.appraisal_point(db, _number(form.appraisal_point_id))
    unparsed: dict[str, str] = {}
    difficulty = None
    if form.difficulty:
        try:
            difficulty = float(form.difficulty)
        except ValueError:
            unparsed["difficulty"] = N_("enter a number such as 0.65")
    key, scoring = _scoring(form, unparsed)
    draft = items.ItemDraft(
        occupation_id=point.occupation_id if point else 0, level=point.level if point else "",
        item_type=form.item_type, appraisal_point_id=point.id if point else 0, stem=form.stem,
        options=[{"id": option_id, "text": form.options.get(option_id, "")} for option_id in OPTION_IDS],
        key=key, difficulty=difficulty, explanation=form.explanation, scoring=scoring, source=form.source,
        tags=items.labels(form.tags), enemy_sets=items.labels(form.enemy_sets))
    if unparsed:
        try:
            items.validate(db, draft)
            found: dict[str, str] = {}
        except ItemValidationError as exc:
            found = exc.errors
        raise ItemValidationError({**found, **unparsed})
    return draft


def _audit_as(db: Session, user: User) -> items.AuditSink:
    return lambda action, entity_type, entity_id, data: audit.record(
        db, user.username, action, entity_type, entity_id, data)


def _editor_context(db: Session, form: ItemForm, errors: dict[str, str]) -> dict:
    return {**RICH_TEXT, "form": form, "errors": errors, "point_groups": items.appraisal_point_groups(db),
            "option_ids": OPTION_IDS, "item_types": list(ItemType), "statuses": list(ItemStatus),
            "choice_types": [t.value for t in CHOICE_TYPES], "matching_names": items.TEXT_MATCHING,
            "known_tags": items.tag_names(db), "known_enemy_sets": items.enemy_set_names(db)}


# ---- the item list ------------------------------------------------------------------


def _choice(raw: str, allowed: type) -> str | None:
    """A filter value only when it names a member; anything else means "any"."""
    return raw if raw in {member.value for member in allowed} else None


@router.get("/items")
@allow(*AUTHORS)
def item_list(request: Request, occupation: str = "", level: str = "", point: str = "", status: str = "",
              item_type: str = Query("", alias="type"), q: str = "", source: str = "", tag: str = "",
              enemy: str = "", page: str = "1", db: Session = Depends(get_db)):
    """The item bank, filtered and paged; htmx requests get the table only."""
    filters = {"occupation": _number(occupation), "level": _choice(level, Level), "point": _number(point),
               "status": _choice(status, ItemStatus), "type": _choice(item_type, ItemType), "q": q.strip()[:200],
               "source": source.strip()[:300], "tag": tag.strip()[:60], "enemy": enemy.strip()[:60]}
    wanted = items.ItemFilter(
        occupation_id=filters["occupation"], level=filters["level"], appraisal_point_id=filters["point"],
        status=filters["status"], item_type=filters["type"], text=filters["q"] or None,
        source=filters["source"] or None, tag=filters["tag"] or None, enemy_set=filters["enemy"] or None,
        page=_number(page) or 1, page_size=PAGE_SIZE)
    found = items.list_items(db, wanted)
    if found.page > found.pages:  # a bookmarked page beyond the end shows the last one
        wanted.page = found.pages
        found = items.list_items(db, wanted)
    kept = {name: value for name, value in filters.items() if value}

    def page_url(number: int) -> str:
        return "/examiner/items?" + urlencode({**kept, "page": number})

    return render(request, "examiner/items.html", {
        **RICH_TEXT, "found": found, "filters": filters, "page_url": page_url, "occupations": items.occupations(db),
        "levels": list(Level), "point_groups": items.appraisal_point_groups(db), "statuses": list(ItemStatus),
        "item_types": list(ItemType), "bulk_commands": workflow.BULK_COMMANDS,
        "labels": items.item_labels(db, [item.id for item, _version, _point in found.rows]),
        "known_tags": items.tag_names(db), "known_enemy_sets": items.enemy_set_names(db),
        "moved": _number(request.query_params.get("moved"))}, block="items_table")


# ---- authoring ----------------------------------------------------------------------


@router.get("/items/new")
@allow(*AUTHORS)
def new_item(request: Request, db: Session = Depends(get_db)):
    """An empty item editor."""
    return render(request, "examiner/item.html", _editor_context(db, ItemForm(), {}))


@router.post("/items")
@allow(*AUTHORS)
def create(request: Request, form: ItemForm = Depends(item_form), db: Session = Depends(get_db),
           user: User = Depends(current_user)):
    """Create an item (version 1); invalid fields come back beside their inputs."""
    try:
        item = items.create_item(db, _draft(db, form), user.username, _audit_as(db, user))
    except ItemValidationError as exc:
        db.rollback()
        return render(request, "examiner/item.html", _editor_context(db, form, exc.errors), status_code=422)
    db.commit()
    return RedirectResponse(f"/examiner/items/{item.id}?saved=1", status_code=303)


def _item_page(request: Request, db: Session, item_id: int, form: ItemForm | None, errors: dict[str, str],
               status_code: int = 200, saved: bool = False, label_errors: dict[str, str] | None = None,
               labels_saved: bool = False):
    item = items.get_item(db, item_id)
    versions = items.versions_of(db, item_id)
    current = next(v for v in versions if v.version_no == item.current_version)
    context = _editor_context(db, form or ItemForm.of_version(item, current), errors)
    user = request.state.user
    context.update(item=item, current=current, versions=versions, saved=saved,
                   point=items.appraisal_point(db, item.appraisal_point_id),
                   commands=[c for c in workflow.Command if (item.status, c) in workflow.TRANSITIONS
                             and c != workflow.Command.revise],
                   is_author=user.username in workflow.authors_of(db, item),
                   reviews=workflow.history(db, item_id), diffs=_diffs(versions),
                   labels=items.item_labels(db, [item_id])[item_id], label_errors=label_errors or {},
                   labels_saved=labels_saved,
                   enemies=items.enemy_partners(db, item_id))
    calibration = quality.latest_calibration(db, item_id)
    context.update(calibration=calibration, curves=quality.curves_svg(calibration) if calibration else None)
    return render(request, "examiner/item.html", context, status_code=status_code)


@router.get("/items/{item_id}")
@allow(*AUTHORS)
def show_item(request: Request, item_id: int, saved: bool = False, labels_saved: bool = False,
              db: Session = Depends(get_db)):
    """The current version, the version history and the editor."""
    return _item_page(request, db, item_id, None, {}, saved=saved, labels_saved=labels_saved)


@router.post("/items/{item_id}")
@allow(*AUTHORS)
def edit(request: Request, item_id: int, form: ItemForm = Depends(item_form), db: Session = Depends(get_db),
         user: User = Depends(current_user)):
    """Save the editor as a new version; earlier versions stay exactly as they were."""
    items.get_item(db, item_id)  # a missing item is a 404, not a form error
    try:
        items.edit_item(db, item_id, _draft(db, form), user.username, _audit_as(db, user))
    except ItemValidationError as exc:
        db.rollback()
        return _item_page(request, db, item_id, form, exc.errors, status_code=422)
    db.commit()
    return RedirectResponse(f"/examiner/items/{item_id}?saved=1", status_code=303)


@router.post("/items/{item_id}/labels")
@allow(*AUTHORS)
def set_labels(request: Request, item_id: int, tags: str = Form(""), enemy_sets: str = Form(""),
               db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Tags and enemy sets: saved on the item without a new version or a new review."""
    items.get_item(db, item_id)
    try:
        items.set_labels(db, item_id, items.labels(tags), items.labels(enemy_sets), user.username,
                         _audit_as(db, user))
    except ItemValidationError as exc:
        db.rollback()
        return _item_page(request, db, item_id, None, {}, status_code=422, label_errors=exc.errors)
    db.commit()
    return RedirectResponse(f"/examiner/items/{item_id}?labels_saved=1", status_code=303)


def _diffs(versions: list[ItemVersion]) -> dict[int, object]:
    """Each version's changes against the one before it, keyed by the newer version number."""
    ordered = sorted(versions, key=lambda v: v.version_no)
    return {new.version_no: version_diff(old, new) for old, new in zip(ordered, ordered[1:], strict=False)}


# ---- the review workflow --------------------------------------------------------------


def _workflow_refused(request: Request, exc: Exception):
    status = 403 if isinstance(exc, SelfReviewError) else 409
    return render_error(request, status, request.state.gettext(exc.template, **exc.params))


@router.post("/items/{item_id}/workflow")
@allow(*AUTHORS)
def move_item(request: Request, item_id: int, command: str = Form(""), comment: str = Form(""),
              db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Submit, withdraw, approve, reject, activate, retire or reopen one item."""
    items.get_item(db, item_id)
    try:
        workflow.transition(db, item_id, workflow.parse_command(command), user.username, _audit_as(db, user),
                            comment)
    except (IllegalTransitionError, SelfReviewError) as exc:
        db.rollback()
        return _workflow_refused(request, exc)
    db.commit()
    return RedirectResponse(f"/examiner/items/{item_id}", status_code=303)


@router.post("/bulk")
@allow(*AUTHORS)
def bulk(request: Request, command: str = Form(""), comment: str = Form(""), item_ids: list[str] = Form(default=[]),
         back: str = Form("/examiner/items"), db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Apply one review action to every chosen item, or to none when any of them refuses."""
    ids = [number for number in map(_number, item_ids) if number is not None]
    try:
        moved = workflow.bulk_transition(db, ids, workflow.parse_command(command), user.username,
                                         _audit_as(db, user), comment)
    except workflow.BulkRefusedError as exc:
        db.rollback()
        return render(request, "examiner/refused.html", {"refusals": exc.refusals, "back": _local(back)},
                      status_code=409)
    db.commit()
    return RedirectResponse(f"{_local(back)}{'&' if '?' in _local(back) else '?'}moved={len(moved)}",
                            status_code=303)


def _local(path: str) -> str:
    """Only our own pages as a redirect target."""
    return path if path.startswith("/examiner/") and not path.startswith("//") else "/examiner/items"


@router.get("/review")
@allow(*AUTHORS)
def review_queue(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Submitted items waiting for a reviewer other than their authors."""
    return render(request, "examiner/review.html", {
        **RICH_TEXT, "queue": workflow.review_queue(db, user.username),
        "moved": _number(request.query_params.get("moved"))})


router.include_router(examiner_bank.router)
router.include_router(marking.router)
