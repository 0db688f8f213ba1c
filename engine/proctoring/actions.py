"""Control-room actions beyond the LTI commands: identity check-in, workstation failover,
accommodations.

Each needs a reason or a record a person wrote, lands in the audit log and in the
sitting's proctoring stream (so the timeline and the roster show it), flushes and never
commits: the caller commits, then publishes to the event bus. Bad input raises
``InvalidInputError`` naming the field before anything is written.

Called from the supervisor pages (web/routes/supervisor.py) and from scripted runs
(``check_in`` is what a test center's check-in desk records for each candidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from engine import audit
from engine.errors import N_, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import Candidate, CandidateSession, CandidateSessionStatus, ProctoringEvent
from engine.proctoring import service, timing
from engine.proctoring.commands import MAX_REASON
from engine.proctoring.events import EventKind
from engine.proctoring.models import Accommodation

MAX_NOTES = 1000
MAX_WORKSTATION = 40
MAX_ACCOMMODATION_MINUTES = 240
ID_DOCUMENTS = ("resident_id", "passport", "other")
RUNNING = (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused)


def _text(value: str | None, field: str, limit: int, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInputError(N_("a reason is required for every supervisor action"), field)
    if len(text) > limit:
        raise InvalidInputError(N_("the text of '%(name)s' is longer than %(limit)s characters"), field,
                                name=field, limit=limit)
    return text


def _flag(value: object, field: str) -> bool:
    """A yes/no from a form or a script: true/false, yes/no, on/off, 1/0; anything else is refused."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise InvalidInputError(N_("'%(name)s' must be yes or no"), field, name=field)


# ---- identity check-in -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    """What the check-in desk saw: the ID document checked, the photo matching the person."""

    id_checked: bool
    photo_match: bool
    document: str = "resident_id"
    notes: str = ""

    @property
    def verified(self) -> bool:
        return self.id_checked and self.photo_match


def check_in(session: Session, sitting_id: int, actor: str, now: datetime, *, id_checked: object,
             photo_match: object, document: str = "resident_id", notes: str | None = "") -> ProctoringEvent:
    """Record the identity check of a candidate at the room, as a proctoring action of the sitting.

    ``id_checked``: the ID document was inspected and its number matches the enrolment;
    ``photo_match``: the person matches the photo. A failed check is recorded too (a
    ``mismatch`` the roster shows as needing attention); it does not block the sitting —
    the supervisor decides. Allowed before and during the sitting, not after hand-in.
    Repeating the check records it again; the latest one counts.
    """
    if document not in ID_DOCUMENTS:
        raise InvalidInputError(N_("unknown identity document '%(value)s'"), "document", value=str(document)[:40])
    record = CheckIn(_flag(id_checked, "id_checked"), _flag(photo_match, "photo_match"), document,
                     _text(notes, "notes", MAX_NOTES, required=False))
    sitting = service.get_sitting(session, sitting_id)
    if sitting.status == CandidateSessionStatus.submitted:
        raise IllegalTransitionError(N_("this sitting is already handed in; check-in is closed"))
    data = {"id_checked": record.id_checked, "photo_match": record.photo_match, "document": record.document,
            "notes": record.notes, "verified": record.verified}
    event = service.append(session, sitting.id, EventKind.identity_checked, actor, now, data)
    audit.record(session, actor, "proctoring.identity_checked", "candidate_session", sitting.id,
                 {**data, "event": event.id})
    return event


def latest_check_in(session: Session, sitting_id: int) -> ProctoringEvent | None:
    return session.exec(select(ProctoringEvent).where(
        ProctoringEvent.candidate_session_id == sitting_id, ProctoringEvent.kind == EventKind.identity_checked.value)
        .order_by(ProctoringEvent.id.desc())).first()  # type: ignore[union-attr]


# ---- workstation failover ------------------------------------------------------------------


def authorize_workstation(session: Session, sitting_id: int, reason: str, actor: str, now: datetime,
                          workstation: str | None = "") -> ProctoringEvent:
    """A supervisor moves a running sitting to another computer (the old one failed).

    The page currently holding the sitting is cut (``revoked`` connection, told by the
    caller over the bus) and may not come back: its browser tab is barred from this
    sitting. The next page to connect takes the sitting over where it was — answers are
    stored server-side, the deadline is the server's, so nothing is lost.
    """
    reason = _text(reason, "reason", MAX_REASON, required=True)
    workstation = _text(workstation, "workstation", MAX_WORKSTATION, required=False)
    sitting = service.get_sitting(session, sitting_id)
    if sitting.status not in RUNNING:
        raise IllegalTransitionError(N_("only a running sitting can move to another workstation"))
    revoked = sitting.connection_id
    data = {"reason": reason, "workstation": workstation, "revoked": revoked,
            "revoked_tab": service.tab_of(revoked) if revoked else None}
    sitting.connection_id = None
    session.add(sitting)
    event = service.append(session, sitting.id, EventKind.workstation_authorized, actor, now, data)
    audit.record(session, actor, "proctoring.workstation_authorized", "candidate_session", sitting.id,
                 {**data, "event": event.id})
    return event


def barred_tabs(session: Session, sitting_id: int) -> set[str]:
    """Browser tabs of workstations a supervisor replaced: they may not hold the sitting again."""
    events = session.exec(select(ProctoringEvent).where(
        ProctoringEvent.candidate_session_id == sitting_id,
        ProctoringEvent.kind == EventKind.workstation_authorized.value)).all()
    return {str(e.data["revoked_tab"]) for e in events if e.data.get("revoked_tab")}


def open_authorization(session: Session, sitting_id: int) -> ProctoringEvent | None:
    """The latest failover authorization no page has taken over yet."""
    latest = session.exec(select(ProctoringEvent).where(
        ProctoringEvent.candidate_session_id == sitting_id,
        ProctoringEvent.kind == EventKind.workstation_authorized.value)
        .order_by(ProctoringEvent.id.desc())).first()  # type: ignore[union-attr]
    if latest is None:
        return None
    taken = session.exec(select(ProctoringEvent.id).where(
        ProctoringEvent.ref_id == latest.id, ProctoringEvent.kind == EventKind.workstation_switched.value)).first()
    return None if taken else latest


def take_over(session: Session, sitting_id: int, connection_id: str, actor: str, now: datetime,
              ip: str | None = None) -> ProctoringEvent | None:
    """A page connected after an authorization: record that it took the sitting over."""
    authorization = open_authorization(session, sitting_id)
    if authorization is None:
        return None
    return service.append(session, sitting_id, EventKind.workstation_switched, actor, now,
                          {"connection": connection_id, "ip": ip}, ref_id=authorization.id)


# ---- accommodations --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccommodationChange:
    candidate: Candidate
    record: Accommodation
    adjusted: list[ProctoringEvent]  # one per running sitting whose deadline moved (shown on its page)


def _minutes(value: object, field: str) -> int:
    try:
        minutes = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except ValueError:
        raise InvalidInputError(N_("'%(name)s' must be a whole number of minutes"), field, name=field) from None
    if not 0 <= minutes <= MAX_ACCOMMODATION_MINUTES:
        raise InvalidInputError(N_("'%(name)s' must be between 0 and %(limit)s minutes"), field,
                                name=field, limit=MAX_ACCOMMODATION_MINUTES)
    return minutes


def set_accommodation(session: Session, candidate_id: int, extra_minutes: object, break_minutes: object,
                      reason: str, actor: str, now: datetime) -> AccommodationChange:
    """Record extra time and a break allowance on the candidate's profile, with the reason.

    Both join the deadline: ``Candidate.extra_time_minutes`` (what delivery adds at start)
    becomes their sum. A sitting already running moves its deadline by the difference
    and its page is told (an ``accommodation_changed`` command event).
    """
    extra = _minutes(extra_minutes, "extra_minutes")
    breaks = _minutes(break_minutes, "break_minutes")
    if extra + breaks > MAX_ACCOMMODATION_MINUTES:
        raise InvalidInputError(N_("extra time and breaks together exceed %(limit)s minutes"), "extra_minutes",
                                limit=MAX_ACCOMMODATION_MINUTES)
    reason = _text(reason, "reason", MAX_REASON, required=True)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFoundError(N_("candidate %(id)s not found"), id=candidate_id)
    record = session.exec(select(Accommodation).where(Accommodation.candidate_id == candidate_id)).first()
    if record is None:
        record = Accommodation(candidate_id=candidate_id, reason=reason, set_by=actor)
    record.extra_minutes, record.break_minutes, record.reason, record.set_by, record.set_at = (
        extra, breaks, reason, actor, now)
    candidate.extra_time_minutes = extra + breaks
    session.add_all([record, candidate])
    session.flush()
    audit.record(session, actor, "candidate.accommodation_set", "candidate", candidate.id,
                 {"extra_minutes": extra, "break_minutes": breaks, "extra_time_minutes": extra + breaks,
                  "reason": reason})
    adjusted = [_move_deadline(session, sitting, extra + breaks, reason, actor, now)
                for sitting in session.exec(select(CandidateSession).where(
                    CandidateSession.candidate_id == candidate_id,
                    CandidateSession.status.in_([s.value for s in RUNNING]))).all()  # type: ignore[attr-defined]
                if sitting.accommodation_minutes != extra + breaks]
    return AccommodationChange(candidate, record, adjusted)


def _move_deadline(session: Session, sitting: CandidateSession, minutes: int, reason: str, actor: str,
                   now: datetime) -> ProctoringEvent:
    assert sitting.deadline is not None
    difference = minutes - sitting.accommodation_minutes
    sitting.deadline = timing.extended(sitting.deadline, difference)
    sitting.accommodation_minutes = minutes
    session.add(sitting)
    session.flush()
    data = {"reason": reason, "minutes": difference, "accommodation_minutes": minutes,
            **service.sitting_clock(sitting, now)}
    event = service.append(session, sitting.id, EventKind.accommodation_changed, actor, now, data)
    audit.record(session, actor, "session.accommodation_changed", "candidate_session", sitting.id,
                 {"deadline": sitting.deadline, "minutes": difference, "event": event.id})
    return event


def accommodation_of(session: Session, candidate_id: int) -> Accommodation | None:
    return session.exec(select(Accommodation).where(Accommodation.candidate_id == candidate_id)).first()


@dataclass(frozen=True)
class AccommodationRow:
    candidate: Candidate
    sitting: CandidateSession
    record: Accommodation | None


def accommodations_in(session: Session, exam_session_id: int) -> list[AccommodationRow]:
    """Every candidate of an exam session with their recorded accommodation (if any)."""
    rows = session.exec(select(CandidateSession, Candidate)
                        .join(Candidate, Candidate.id == CandidateSession.candidate_id)  # type: ignore[arg-type]
                        .where(CandidateSession.exam_session_id == exam_session_id).order_by(Candidate.name)).all()
    records = {r.candidate_id: r for r in session.exec(select(Accommodation).where(
        Accommodation.candidate_id.in_([c.id for _s, c in rows]))).all()}  # type: ignore[union-attr]
    return [AccommodationRow(candidate, sitting, records.get(candidate.id)) for sitting, candidate in rows]
