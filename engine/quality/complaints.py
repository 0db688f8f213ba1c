"""Complaints and reports (投诉举报): public intake, triage, assignment, resolution.

Every step is a row change plus an audit entry in the caller's transaction. The working
rule of thumb — a preliminary look within 3 working days, a decision within 7 — gives
each complaint its due dates; the list marks the overdue ones.

    received ──triage──▶ triaged ──assign──▶ assigned ──resolve──▶ resolved
        │                   │                   │  ▲
        └──────dismiss──────┴──────dismiss──────┘  └─ assign (re-assign)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from engine import audit
from engine.errors import N_, IllegalTransitionError, InvalidInputError
from engine.lookup import get_or_not_found
from engine.models import Institution, Role, User
from engine.quality.models import Complaint, ComplaintSeverity, ComplaintStatus

CATEGORY_LABELS = {  # code -> label (translated in the web layer)
    "cheating": N_("Cheating or leaked items"),
    "proxy": N_("Proxy sitting (someone else sat the exam)"),
    "scoring": N_("Scoring or results"),
    "conduct": N_("Conduct of supervisors or raters"),
    "facility": N_("Rooms and equipment"),
    "fees": N_("Fees"),
    "certificate": N_("Certificates"),
    "other": N_("Something else"),
}
CATEGORIES = tuple(CATEGORY_LABELS)
PRELIMINARY_WORKING_DAYS, DECISION_WORKING_DAYS = 3, 7
PUBLIC_ACTOR = "public"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud over the phone
OPEN = (ComplaintStatus.received, ComplaintStatus.triaged, ComplaintStatus.assigned)

# command -> states it may start from
TRANSITIONS: dict[str, tuple[ComplaintStatus, ...]] = {
    "triage": (ComplaintStatus.received,),
    "assign": (ComplaintStatus.triaged, ComplaintStatus.assigned),
    "resolve": (ComplaintStatus.assigned,),
    "dismiss": OPEN,
}


def _text(value: str, field: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInputError(N_("%(name)s is required"), field, name=field)
    if len(value) > limit:
        raise InvalidInputError(N_("%(name)s is longer than %(limit)s characters"), field, name=field, limit=limit)
    return value


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise InvalidInputError(N_("unknown complaint category '%(category)s'"), "category", category=value[:40])
    return value


def _institution(db: Session, institution_id: int | None) -> int | None:
    if institution_id is None:
        return None
    if db.get(Institution, institution_id) is None:
        raise InvalidInputError(N_("institution %(id)s not found"), "institution_id", id=institution_id)
    return institution_id


def new_reference(db: Session) -> str:
    while True:
        reference = "TS" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if not db.exec(select(Complaint.id).where(Complaint.reference == reference)).first():
            return reference


def submit(db: Session, institution_id: int | None, category: str, subject: str, body: str, contact: str,
           now: datetime) -> Complaint:
    """Intake from the public form; anonymous when ``contact`` is empty."""
    complaint = Complaint(reference=new_reference(db), institution_id=_institution(db, institution_id),
                          category=_category(category), subject=_text(subject, "subject", 200),
                          body=_text(body, "body", 5000), contact=_text(contact, "contact", 200, required=False),
                          received_at=now)
    db.add(complaint)
    db.flush()
    audit.record(db, PUBLIC_ACTOR, "complaint.received", "complaint", complaint.id,
                 {"reference": complaint.reference, "institution": institution_id, "category": category})
    return complaint


def get(db: Session, complaint_id: int) -> Complaint:
    return get_or_not_found(db, Complaint, complaint_id, N_("complaint %(id)s not found"))


def _check(complaint: Complaint, command: str) -> None:
    if complaint.status not in TRANSITIONS[command]:
        raise IllegalTransitionError(N_("complaint %(reference)s is %(status)s; '%(command)s' is not possible now"),
                                     reference=complaint.reference, status=complaint.status.value, command=command)


def _save(db: Session, complaint: Complaint, actor: str, action: str, data: dict) -> Complaint:
    db.add(complaint)
    db.flush()
    audit.record(db, actor, f"complaint.{action}", "complaint", complaint.id,
                 {"reference": complaint.reference, "status": complaint.status.value, **data})
    return complaint


def triage(db: Session, complaint_id: int, severity: str, category: str, institution_id: int | None, actor: str,
           now: datetime) -> Complaint:
    """The preliminary look: confirm the category and institution, set the severity."""
    complaint = get(db, complaint_id)
    _check(complaint, "triage")
    try:
        level = ComplaintSeverity(severity)
    except ValueError:
        raise InvalidInputError(N_("severity must be low, medium or high"), "severity") from None
    complaint.category, complaint.severity = _category(category), level
    complaint.institution_id = _institution(db, institution_id)
    complaint.status, complaint.triaged_at = ComplaintStatus.triaged, now
    return _save(db, complaint, actor, "triaged", {"severity": level.value, "category": category,
                                                   "institution": institution_id})


def assign(db: Session, complaint_id: int, assignee: str, actor: str) -> Complaint:
    """Hand the complaint to a supervisor or administrator to investigate."""
    complaint = get(db, complaint_id)
    _check(complaint, "assign")
    user = db.exec(select(User).where(User.username == assignee.strip())).first()
    if user is None or not user.active or user.role not in (Role.supervisor, Role.admin):
        raise InvalidInputError(N_("'%(name)s' is not an active supervisor or administrator"), "assignee",
                                name=assignee.strip()[:80])
    previous = complaint.assignee
    complaint.assignee, complaint.status = user.username, ComplaintStatus.assigned
    return _save(db, complaint, actor, "assigned", {"assignee": user.username, "previous": previous})


def resolve(db: Session, complaint_id: int, resolution: str, actor: str, now: datetime,
            dismiss: bool = False) -> Complaint:
    """Record the decision and the written answer (or why the complaint is dismissed)."""
    complaint = get(db, complaint_id)
    _check(complaint, "dismiss" if dismiss else "resolve")
    complaint.resolution = _text(resolution, "resolution", 5000)
    complaint.status = ComplaintStatus.dismissed if dismiss else ComplaintStatus.resolved
    complaint.resolved_at = now
    return _save(db, complaint, actor, "dismissed" if dismiss else "resolved", {"resolution": complaint.resolution})


# ---- due dates and look-ups ---------------------------------------------------------------------------


def add_working_days(day: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``day``; public holidays are not modelled."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


@dataclass(frozen=True)
class ComplaintLine:
    complaint: Complaint
    institution: Institution | None
    preliminary_due: date
    decision_due: date
    overdue: bool


def line_of(db: Session, complaint: Complaint, today: date) -> ComplaintLine:
    received = complaint.received_at.date()
    preliminary = add_working_days(received, PRELIMINARY_WORKING_DAYS)
    decision = add_working_days(received, DECISION_WORKING_DAYS)
    late_triage = complaint.status == ComplaintStatus.received and today > preliminary
    late_decision = complaint.status in OPEN and today > decision
    institution = db.get(Institution, complaint.institution_id) if complaint.institution_id else None
    return ComplaintLine(complaint, institution, preliminary, decision, late_triage or late_decision)


def listing(db: Session, today: date, status: str = "", limit: int = 500) -> list[ComplaintLine]:
    query = select(Complaint).order_by(col(Complaint.id).desc()).limit(limit)
    if status in {s.value for s in ComplaintStatus}:
        query = query.where(Complaint.status == status)
    return [line_of(db, c, today) for c in db.exec(query).all()]


def handlers(db: Session) -> list[User]:
    return list(db.exec(select(User).where(col(User.role).in_([Role.supervisor, Role.admin]), User.active)
                        .order_by(User.username)).all())
