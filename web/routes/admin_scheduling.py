"""Admin scheduling pages: institution scope, seat maps, batches of sittings, seats, staff on
duty, admission tickets, and a sitting's results (publication, export).

A refusal (out of scope, a booked room, related staff, a malformed field) comes back on
the same page with the reason beside its field and the 4xx status; nothing is committed
unless the whole operation succeeded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from engine import administration
from engine.errors import N_, DeliveryError, InvalidInputError, NotFoundError
from engine.models import Role, User
from engine.results import service as results
from engine.scheduling import service as scheduling
from engine.scheduling import tickets
from engine.scheduling.models import DutyRole, RoomLayout
from itembank.interchange.xlsx import rows_to_file
from itembank.levels import Level
from itembank.models import Occupation
from web.auth import allow
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.templating import render

router = APIRouter(prefix="/admin/scheduling")
BATCH_FIELDS = ("institution_id", "exam_definition_id", "code", "title", "starts_at", "room_ids")
EXPORT_TYPES = {"xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                "csv": (".csv", "text/csv; charset=utf-8")}


def _errors(request: Request, exc: DeliveryError, fields: tuple[str, ...]) -> dict[str, str]:
    field = exc.field if exc.field in fields else "_form"
    return {field: message_of(request, exc)}


def _number(raw: str, field: str) -> int:
    raw = raw.strip()
    if not raw.isdigit():
        raise InvalidInputError(N_("%(name)s must be a whole number"), field, name=field)
    return int(raw)


def _index(request: Request, db: Session, errors: dict | None = None, values: dict | None = None,
           failed: str | None = None, status_code: int = 200):
    tree = administration.institution_tree(db)
    layouts = {layout.room_id: layout for layout in db.exec(select(RoomLayout)).all()}
    return render(request, "admin/scheduling.html", {
        "batches": scheduling.batches(db), "tree": tree, "layouts": layouts,
        "scopes": {b.institution.id: {(s.occupation_id, s.level.value)
                                      for s in scheduling.scope_of(db, b.institution.id)} for b in tree},
        "occupations": list(db.exec(select(Occupation).order_by(Occupation.code)).all()),
        "levels": [level.value for level in Level], "definitions": administration.exam_definitions(db),
        "rooms": administration.room_choices(db), "policy": scheduling.policy(db),
        "staff": [u for u in administration.users(db) if u.role in (Role.supervisor, Role.examiner)],
        "errors": errors or {}, "values": values or {}, "failed": failed}, status_code=status_code)


def _refused(request: Request, db: Session, exc: DeliveryError, fields: tuple[str, ...], failed: str,
             values: dict | None = None):
    db.rollback()
    return _index(request, db, _errors(request, exc, fields), values, failed, status_for(exc))


@router.get("")
@allow(Role.admin)
def index(request: Request, db: Session = Depends(get_db)):
    """Batches of sittings, the scheduling form, institution scopes, seat maps and the staff rule."""
    return _index(request, db)


def _start_time(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInputError(N_("enter a date and time such as 2026-05-20T09:00"), "starts_at") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.post("/batches")
@allow(Role.admin)
def add_batch(request: Request, institution_id: str = Form(""), exam_definition_id: str = Form(""),
              code: str = Form(""), title: str = Form(""), starts_at: str = Form(""),
              room_ids: list[str] = Form([]), db: Session = Depends(get_db), admin: User = Depends(current_user),
              at: datetime = Depends(now)):
    """Schedule a batch: one sitting per chosen room, refused when a room is booked or out of scope."""
    values = {"institution_id": institution_id, "exam_definition_id": exam_definition_id, "code": code,
              "title": title, "starts_at": starts_at, "room_ids": room_ids}
    try:
        batch = scheduling.schedule_batch(db, _number(institution_id, "institution_id"),
                                          _number(exam_definition_id, "exam_definition_id"), code, title,
                                          _start_time(starts_at), [_number(r, "room_ids") for r in room_ids],
                                          admin.username, at)
    except DeliveryError as exc:
        return _refused(request, db, exc, BATCH_FIELDS, "batch", values)
    db.commit()
    return RedirectResponse(f"/admin/scheduling#batch-{batch.id}", status_code=303)


@router.post("/scope/{institution_id}")
@allow(Role.admin)
def set_scope(request: Request, institution_id: int, scope: list[str] = Form([]), db: Session = Depends(get_db),
              admin: User = Depends(current_user)):
    """Replace what an institution may certify: ticked "occupation:level" pairs."""
    try:
        entries = []
        for pair in scope:
            occupation, _, level = pair.partition(":")
            entries.append((_number(occupation, "scope"), level))
        scheduling.set_scope(db, institution_id, entries, admin.username)
    except NotFoundError:
        raise
    except DeliveryError as exc:
        return _refused(request, db, exc, ("scope",), f"scope-{institution_id}")
    db.commit()
    return RedirectResponse(f"/admin/scheduling#scope-{institution_id}", status_code=303)


@router.post("/rooms/{room_id}/layout")
@allow(Role.admin)
def set_layout(request: Request, room_id: int, rows: str = Form(""), columns: str = Form(""),
               missing_seats: str = Form(""), equipment: str = Form(""), standardized: str = Form(""),
               db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Record a room's seat map (rows × columns, seats that do not exist) and equipment."""
    try:
        scheduling.set_room_layout(db, room_id, _number(rows, "rows"), _number(columns, "columns"),
                                   missing_seats.replace(",", " ").split(), equipment, standardized == "on",
                                   admin.username)
    except NotFoundError:
        raise
    except DeliveryError as exc:
        values = {"rows": rows, "columns": columns, "missing_seats": missing_seats, "equipment": equipment}
        return _refused(request, db, exc, ("rows", "columns", "missing_seats", "equipment"), f"room-{room_id}",
                        values)
    db.commit()
    return RedirectResponse(f"/admin/scheduling#room-{room_id}", status_code=303)


@router.post("/policy")
@allow(Role.admin)
def set_policy(request: Request, forbid_related_staff: str = Form(""), db: Session = Depends(get_db),
               admin: User = Depends(current_user)):
    """Switch the rule that refuses supervisors and raters related to the sitting's institution."""
    scheduling.set_policy(db, forbid_related_staff == "on", admin.username)
    db.commit()
    return RedirectResponse("/admin/scheduling#policy", status_code=303)


@router.post("/relations")
@allow(Role.admin)
def add_relation(request: Request, user_id: str = Form(""), institution_id: str = Form(""), note: str = Form(""),
                 db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Declare a staff member's relation to an institution."""
    try:
        scheduling.add_relation(db, _number(user_id, "user_id"), _number(institution_id, "institution_id"), note,
                                admin.username)
    except DeliveryError as exc:
        return _refused(request, db, exc, ("user_id", "institution_id"), "relation")
    db.commit()
    return RedirectResponse("/admin/scheduling#policy", status_code=303)


# ---- one sitting -------------------------------------------------------------------------------


def _sitting_page(request: Request, db: Session, exam_session_id: int, at: datetime, errors: dict | None = None,
                  status_code: int = 200):
    exam_session = administration.get_exam_session(db, exam_session_id)
    publication = results.publication_of(db, exam_session_id)
    return render(request, "admin/scheduling_sitting.html", {
        "exam_session": exam_session, "booking": scheduling.booking_of(db, exam_session_id),
        "institution": scheduling.institution_of_exam_session(db, exam_session_id),
        "grid": scheduling.seat_grid(db, exam_session_id), "seats": scheduling.seats(db, exam_session_id),
        "lines": administration.roster(db, exam_session_id, at), "duties": scheduling.duties(db, exam_session_id),
        "staff": [u for u in administration.users(db) if u.role in (Role.supervisor, Role.examiner) and u.active],
        "duty_roles": [r.value for r in DutyRole], "publication": publication,
        "window_closes": results.window_closes(db, publication) if publication else None,
        "errors": errors or {}}, status_code=status_code)


@router.get("/sessions/{exam_session_id}")
@allow(Role.admin)
def sitting(request: Request, exam_session_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """A sitting's seat map, staff on duty, tickets and results."""
    return _sitting_page(request, db, exam_session_id, at)


def _sitting_action(request: Request, db: Session, exam_session_id: int, at: datetime, work, anchor: str):
    administration.get_exam_session(db, exam_session_id)  # an unknown sitting is a 404
    try:
        work()
    except DeliveryError as exc:
        db.rollback()
        return _sitting_page(request, db, exam_session_id, at, _errors(request, exc, ("user_id", "role")),
                             status_for(exc))
    db.commit()
    return RedirectResponse(f"/admin/scheduling/sessions/{exam_session_id}#{anchor}", status_code=303)


@router.post("/sessions/{exam_session_id}/seats")
@allow(Role.admin)
def assign_seats(request: Request, exam_session_id: int, db: Session = Depends(get_db),
                 admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Seat every candidate at random, keeping colleagues apart."""
    return _sitting_action(request, db, exam_session_id, at,
                           lambda: scheduling.assign_seats(db, exam_session_id, admin.username), "seats")


@router.post("/sessions/{exam_session_id}/duties")
@allow(Role.admin)
def assign_duty(request: Request, exam_session_id: int, user_id: str = Form(""), role: str = Form(""),
                db: Session = Depends(get_db), admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Put a supervisor or rater (of any institution) on duty at the sitting."""
    return _sitting_action(request, db, exam_session_id, at, lambda: scheduling.assign_duty(
        db, exam_session_id, _number(user_id, "user_id"), role, admin.username), "duties")


@router.post("/sessions/{exam_session_id}/publish")
@allow(Role.admin)
def publish(request: Request, exam_session_id: int, db: Session = Depends(get_db),
            admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Show the sitting's results to its candidates; the review window starts now."""
    return _sitting_action(request, db, exam_session_id, at,
                           lambda: results.publish(db, exam_session_id, admin.username, at), "results")


@router.get("/sessions/{exam_session_id}/tickets.pdf")
@allow(Role.admin)
def batch_tickets(request: Request, exam_session_id: int, db: Session = Depends(get_db)):
    """Every admission ticket of the sitting, one page each."""
    sheets = tickets.ticket_sheets(db, exam_session_id)
    return _pdf(tickets.render_tickets(sheets), f"tickets-{exam_session_id}.pdf")


@router.get("/sittings/{sitting_id}/ticket.pdf")
@allow(Role.admin)
def one_ticket(request: Request, sitting_id: int, db: Session = Depends(get_db)):
    """One candidate's admission ticket."""
    record = scheduling.get_sitting(db, sitting_id)
    sheets = tickets.ticket_sheets(db, record.exam_session_id, sitting_id)
    return _pdf(tickets.render_tickets(sheets), f"ticket-{sheets[0].ticket_number}.pdf")


@router.get("/sessions/{exam_session_id}/results.{kind}")
@allow(Role.admin)
def export_results(request: Request, exam_session_id: int, kind: str, db: Session = Depends(get_db)):
    """The sitting's results as XLSX or CSV, for reporting."""
    if kind not in EXPORT_TYPES:
        raise NotFoundError(N_("no export as '%(kind)s'; use xlsx or csv"), kind=kind[:10])
    suffix, media = EXPORT_TYPES[kind]
    content = rows_to_file(results.export_rows(db, exam_session_id), suffix, "成绩 results")
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="results-{exam_session_id}{suffix}"'})


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
