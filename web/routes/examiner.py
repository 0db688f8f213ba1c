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
from itembank import service as items
from itembank.errors import ItemValidationError
from itembank.levels import Level
from itembank.models import Item, ItemStatus, ItemType, ItemVersion
from web.auth import allow
from web.deps import current_user, get_db
from web.labels import N_
from web.templating import render

router = APIRouter(prefix="/examiner")
AUTHORS = (Role.examiner, Role.admin)
PAGE_SIZE = 25
OPTION_IDS = ("A", "B", "C", "D", "E")


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
    status: str = ItemStatus.draft.value

    @classmethod
    def of_version(cls, item: Item, version: ItemVersion) -> ItemForm:
        choice = item.item_type != ItemType.truefalse
        return cls(item_type=item.item_type.value, appraisal_point_id=str(item.appraisal_point_id),
                   stem=version.stem, options={o["id"]: o["text"] for o in version.options} if choice else {},
                   key=list(version.key), explanation=version.explanation, status=item.status.value,
                   difficulty="" if version.difficulty is None else f"{version.difficulty:g}")


def item_form(item_type: str = Form(""), appraisal_point_id: str = Form(""), stem: str = Form(""),
              option_A: str = Form(""), option_B: str = Form(""), option_C: str = Form(""),
              option_D: str = Form(""), option_E: str = Form(""), key: list[str] = Form(default=[]),
              tf_key: str = Form(""), difficulty: str = Form(""), explanation: str = Form(""),
              status: str = Form("")) -> ItemForm:
    """Parse the editor's form; choice items send ``key`` checkboxes, true/false items ``tf_key``."""
    chosen = [tf_key] if tf_key else []
    return ItemForm(item_type=item_type, appraisal_point_id=appraisal_point_id, stem=stem,
                    options=dict(zip(OPTION_IDS, (option_A, option_B, option_C, option_D, option_E))),
                    key=chosen if item_type == ItemType.truefalse else list(key), difficulty=difficulty.strip(),
                    explanation=explanation, status=status)


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
    draft = items.ItemDraft(
        occupation_id=point.occupation_id if point else 0, level=point.level if point else "",
        item_type=form.item_type, appraisal_point_id=point.id if point else 0, stem=form.stem,
        options=[{"id": option_id, "text": form.options.get(option_id, "")} for option_id in OPTION_IDS],
        key=form.key, difficulty=difficulty, explanation=form.explanation, status=form.status)
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
    return {"form": form, "errors": errors, "point_groups": items.appraisal_point_groups(db),
            "option_ids": OPTION_IDS, "item_types": list(ItemType), "statuses": list(ItemStatus)}


# ---- the item list ------------------------------------------------------------------


def _choice(raw: str, allowed: type) -> str | None:
    """A filter value only when it names a member; anything else means "any"."""
    return raw if raw in {member.value for member in allowed} else None


@router.get("/items")
@allow(*AUTHORS)
def item_list(request: Request, occupation: str = "", level: str = "", point: str = "", status: str = "",
              item_type: str = Query("", alias="type"), q: str = "", page: str = "1",
              db: Session = Depends(get_db)):
    """The item bank, filtered and paged; htmx requests get the table only."""
    filters = {"occupation": _number(occupation), "level": _choice(level, Level), "point": _number(point),
               "status": _choice(status, ItemStatus), "type": _choice(item_type, ItemType), "q": q.strip()[:200]}
    wanted = items.ItemFilter(
        occupation_id=filters["occupation"], level=filters["level"], appraisal_point_id=filters["point"],
        status=filters["status"], item_type=filters["type"], text=filters["q"] or None,
        page=_number(page) or 1, page_size=PAGE_SIZE)
    found = items.list_items(db, wanted)
    if found.page > found.pages:  # a bookmarked page beyond the end shows the last one
        wanted.page = found.pages
        found = items.list_items(db, wanted)
    kept = {name: value for name, value in filters.items() if value}

    def page_url(number: int) -> str:
        return "/examiner/items?" + urlencode({**kept, "page": number})

    return render(request, "examiner/items.html", {
        "found": found, "filters": filters, "page_url": page_url, "occupations": items.occupations(db),
        "levels": list(Level), "point_groups": items.appraisal_point_groups(db), "statuses": list(ItemStatus),
        "item_types": list(ItemType)}, block="items_table")


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
               status_code: int = 200, saved: bool = False):
    item = items.get_item(db, item_id)
    versions = items.versions_of(db, item_id)
    current = next(v for v in versions if v.version_no == item.current_version)
    context = _editor_context(db, form or ItemForm.of_version(item, current), errors)
    context.update(item=item, current=current, versions=versions, saved=saved,
                   point=items.appraisal_point(db, item.appraisal_point_id))
    return render(request, "examiner/item.html", context, status_code=status_code)


@router.get("/items/{item_id}")
@allow(*AUTHORS)
def show_item(request: Request, item_id: int, saved: bool = False, db: Session = Depends(get_db)):
    """The current version, the version history and the editor."""
    return _item_page(request, db, item_id, None, {}, saved=saved)


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
