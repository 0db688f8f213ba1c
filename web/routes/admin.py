"""Admin pages: users, institutions with their test centers and rooms, exam sessions, enrolment.

Every form comes back with the entered values and the problem beside its field when
the service refuses it (422 for invalid input, 409 for a duplicate); nothing is
committed unless the whole operation succeeded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from engine import administration
from engine.accounts import create_user
from engine.errors import DuplicateError, InvalidInputError
from engine.models import InstitutionKind, Role, User
from engine.scheduling import service as scheduling
from engine.scheduling.service import SchedulingRefused
from web.auth import allow
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.labels import N_
from web.templating import render

router = APIRouter(prefix="/admin")
FORM_ERROR = "_form"  # a problem that belongs to the form as a whole, not one field
REFUSALS = (InvalidInputError, DuplicateError)


class FormProblem(Exception):
    """Fields the route could not parse; shown like the service's own refusals."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def _problems(request: Request, exc: Exception, fields: tuple[str, ...], default: str = FORM_ERROR
              ) -> dict[str, str]:
    """Place a refusal, in the user's language, beside the field it names, else beside ``default``."""
    if isinstance(exc, FormProblem):
        return exc.errors
    field = getattr(exc, "field", None)
    return {field if field in fields else default: message_of(request, exc)}


def _status(exc: Exception) -> int:
    return 422 if isinstance(exc, FormProblem) else status_for(exc)


def _number(raw: str, field: str, message: str) -> int:
    raw = raw.strip()
    if not raw.isdigit():
        raise FormProblem({field: message})
    return int(raw)


@router.get("")
@allow(Role.admin)
def dashboard(request: Request):
    """Links to every administration page."""
    return render(request, "admin/dashboard.html")


# ---- users ----------------------------------------------------------------------------

USER_FIELDS = ("username", "display_name", "role", "password")


def _users_page(request: Request, db: Session, values: dict, errors: dict, status_code: int = 200):
    return render(request, "admin/users.html", {"users": administration.users(db), "roles": list(Role),
                                                "values": values, "errors": errors}, status_code=status_code)


@router.get("/users")
@allow(Role.admin)
def users(request: Request, db: Session = Depends(get_db)):
    """Every account, and a form to add one."""
    return _users_page(request, db, {}, {})


@router.post("/users")
@allow(Role.admin)
def add_user(request: Request, username: str = Form(""), display_name: str = Form(""), role: str = Form(""),
             password: str = Form(""), db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Create an account with a role."""
    try:
        if role not in {r.value for r in Role}:
            raise FormProblem({"role": N_("choose a role")})
        create_user(db, username, display_name, Role(role), password, admin.username)
    except (FormProblem, *REFUSALS) as exc:
        db.rollback()
        values = {"username": username, "display_name": display_name, "role": role}
        return _users_page(request, db, values, _problems(request, exc, USER_FIELDS, "username"), _status(exc))
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


# ---- institutions, test centers, rooms -------------------------------------------------


def _institutions_page(request: Request, db: Session, failed: tuple[str, int | None] | None = None,
                       values: dict | None = None, errors: dict | None = None, status_code: int = 200):
    """``failed`` names the form (kind, parent id) whose values and errors are shown again."""
    return render(request, "admin/institutions.html", {
        "tree": administration.institution_tree(db), "kinds": list(InstitutionKind), "failed": failed,
        "values": values or {}, "errors": errors or {}}, status_code=status_code)


def _refused(request: Request, db: Session, form: tuple[str, int | None], values: dict, exc: Exception,
             fields: tuple[str, ...], default: str):
    db.rollback()
    return _institutions_page(request, db, form, values, _problems(request, exc, fields, default), _status(exc))


@router.get("/institutions")
@allow(Role.admin)
def institutions(request: Request, db: Session = Depends(get_db)):
    """Institutions of the three kinds, with their test centers and rooms."""
    return _institutions_page(request, db)


@router.post("/institutions")
@allow(Role.admin)
def add_institution(request: Request, code: str = Form(""), name: str = Form(""), kind: str = Form(""),
                    db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Create an institution."""
    try:
        administration.create_institution(db, code, name, kind, admin.username)
    except REFUSALS as exc:
        return _refused(request, db, ("institution", None), {"code": code, "name": name, "kind": kind}, exc,
                        ("code", "name", "kind"), "code")
    db.commit()
    return RedirectResponse("/admin/institutions", status_code=303)


@router.post("/institutions/{institution_id}/centers")
@allow(Role.admin)
def add_test_center(request: Request, institution_id: int, name: str = Form(""), address: str = Form(""),
                    db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Create a test center of an institution."""
    try:
        center = administration.create_test_center(db, institution_id, name, address, admin.username)
    except REFUSALS as exc:
        return _refused(request, db, ("center", institution_id), {"name": name, "address": address}, exc,
                        ("name", "address"), FORM_ERROR)
    db.commit()
    return RedirectResponse(f"/admin/institutions#center-{center.id}", status_code=303)


@router.post("/centers/{center_id}/rooms")
@allow(Role.admin)
def add_room(request: Request, center_id: int, name: str = Form(""), capacity: str = Form("30"),
             db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Create a room in a test center."""
    try:
        seats = _number(capacity, "capacity", N_("capacity must be a whole number"))
        administration.create_room(db, center_id, name, seats, admin.username)
    except (FormProblem, *REFUSALS) as exc:
        return _refused(request, db, ("room", center_id), {"name": name, "capacity": capacity}, exc,
                        ("name", "capacity"), FORM_ERROR)
    db.commit()
    return RedirectResponse(f"/admin/institutions#center-{center_id}", status_code=303)


# ---- exam sessions and enrolment --------------------------------------------------------

SESSION_FIELDS = ("exam_definition_id", "room_id", "title", "starts_at")


def _sessions_page(request: Request, db: Session, at: datetime, values: dict, errors: dict,
                   status_code: int = 200):
    return render(request, "admin/sessions.html", {
        "summaries": administration.exam_session_summaries(db, at.date()),
        "definitions": administration.exam_definitions(db), "rooms": administration.room_choices(db),
        "values": values, "errors": errors}, status_code=status_code)


def _start_time(raw: str) -> datetime:
    """A ``datetime-local`` value, read as UTC (the pages show every time in UTC)."""
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise FormProblem({"starts_at": N_("enter a date and time such as 2026-05-20T09:00")}) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.get("/sessions")
@allow(Role.admin)
def exam_sessions(request: Request, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Exam sessions and a form to schedule one."""
    return _sessions_page(request, db, at, {}, {})


@router.post("/sessions")
@allow(Role.admin)
def add_exam_session(request: Request, exam_definition_id: str = Form(""), room_id: str = Form(""),
                     title: str = Form(""), starts_at: str = Form(""), db: Session = Depends(get_db),
                     admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Schedule an exam definition in a room (the scheduling rules apply: scope, suspension, free room)."""
    try:
        definition = _number(exam_definition_id, "exam_definition_id", N_("choose an exam"))
        room = _number(room_id, "room_id", N_("choose a room"))
        created = scheduling.schedule_sitting(db, definition, room, title, _start_time(starts_at), admin.username,
                                              at)
    except (FormProblem, *REFUSALS, SchedulingRefused) as exc:
        db.rollback()
        values = {"exam_definition_id": exam_definition_id, "room_id": room_id, "title": title,
                  "starts_at": starts_at}
        return _sessions_page(request, db, at, values, _problems(request, exc, SESSION_FIELDS), _status(exc))
    db.commit()
    return RedirectResponse(f"/admin/sessions/{created.id}", status_code=303)


ENROL_FIELDS = ("name", "resident_id", "username", "password")


def _enrolment_page(request: Request, db: Session, exam_session_id: int, at: datetime, values: dict,
                    errors: dict, status_code: int = 200):
    exam_session = administration.get_exam_session(db, exam_session_id)
    return render(request, "admin/enrolment.html", {
        "exam_session": exam_session, "lines": administration.roster(db, exam_session_id, at),
        "values": values, "errors": errors}, status_code=status_code)


@router.get("/sessions/{exam_session_id}")
@allow(Role.admin)
def enrolment(request: Request, exam_session_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """The candidates of an exam session, and a form to enrol one."""
    return _enrolment_page(request, db, exam_session_id, at, {}, {})


@router.post("/sessions/{exam_session_id}/enrol")
@allow(Role.admin)
def enrol(request: Request, exam_session_id: int, name: str = Form(""), resident_id: str = Form(""),
          username: str = Form(""), password: str = Form(""), db: Session = Depends(get_db),
          admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Enrol a candidate (resident ID checked with its GB 11643 check digit); optionally give a login."""
    administration.get_exam_session(db, exam_session_id)  # an unknown session is a 404, not a form error
    try:
        administration.enrol(db, exam_session_id, name, resident_id, admin.username,
                             username=username.strip() or None, password=password or None, today=at.date())
    except REFUSALS as exc:
        db.rollback()
        values = {"name": name, "resident_id": resident_id, "username": username}
        return _enrolment_page(request, db, exam_session_id, at, values, _problems(request, exc, ENROL_FIELDS),
                               _status(exc))
    db.commit()
    return RedirectResponse(f"/admin/sessions/{exam_session_id}?enrolled=1", status_code=303)
