"""Administration: institutions, test centers, rooms, exam sessions and enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from engine import audit, delivery
from engine.accounts import create_user
from engine.errors import N_, DuplicateError, InvalidInputError, NotFoundError
from engine.identity import parse_resident_id
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamSession,
    Institution,
    InstitutionKind,
    Role,
    Room,
    TestCenter,
    User,
)
from engine.proctoring import service as proctoring
from engine.quality import suspension


def _required(value: str, field: str, limit: int = 200) -> str:
    value = value.strip()
    if not value:
        raise InvalidInputError(N_("%(name)s is required"), field, name=field)
    if len(value) > limit:
        raise InvalidInputError(N_("%(name)s is longer than %(limit)s characters"), field, name=field, limit=limit)
    return value


def create_institution(session: Session, code: str, name: str, kind: str, actor: str) -> Institution:
    try:
        kind_value = InstitutionKind(kind)
    except ValueError:
        raise InvalidInputError(N_("unknown institution kind '%(kind)s'"), "kind", kind=kind) from None
    code = _required(code, "code", 32)
    if session.exec(select(Institution).where(Institution.code == code)).first():
        raise DuplicateError(N_("institution code '%(code)s' exists already"), "code", code=code)
    institution = Institution(code=code, name=_required(name, "name"), kind=kind_value)
    session.add(institution)
    session.flush()
    audit.record(session, actor, "institution.created", "institution", institution.id,
                 {"code": code, "kind": kind_value})
    return institution


def create_test_center(session: Session, institution_id: int, name: str, address: str, actor: str) -> TestCenter:
    if session.get(Institution, institution_id) is None:
        raise NotFoundError(N_("institution %(id)s not found"), id=institution_id)
    center = TestCenter(institution_id=institution_id, name=_required(name, "name"), address=address.strip())
    session.add(center)
    session.flush()
    audit.record(session, actor, "test_center.created", "test_center", center.id, {"name": center.name})
    return center


def create_room(session: Session, test_center_id: int, name: str, capacity: int, actor: str) -> Room:
    if session.get(TestCenter, test_center_id) is None:
        raise NotFoundError(N_("test center %(id)s not found"), id=test_center_id)
    if not 1 <= capacity <= 500:
        raise InvalidInputError(N_("capacity must be between 1 and 500"), "capacity")
    room = Room(test_center_id=test_center_id, name=_required(name, "name", 100), capacity=capacity)
    session.add(room)
    session.flush()
    audit.record(session, actor, "room.created", "room", room.id, {"name": room.name, "capacity": capacity})
    return room


def create_exam_session(session: Session, exam_definition_id: int, room_id: int, title: str,
                        starts_at: datetime, actor: str) -> ExamSession:
    if session.get(ExamDefinition, exam_definition_id) is None:
        raise NotFoundError(N_("exam definition %(id)s not found"), id=exam_definition_id)
    room = session.get(Room, room_id)
    if room is None:
        raise NotFoundError(N_("room %(id)s not found"), id=room_id)
    center = session.get(TestCenter, room.test_center_id)
    suspension.refuse_if_suspended(session, center.institution_id)  # the exit mechanism (engine/quality)
    sitting = ExamSession(exam_definition_id=exam_definition_id, room_id=room_id,
                          title=_required(title, "title"), starts_at=starts_at)
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "exam_session.created", "exam_session", sitting.id,
                 {"title": sitting.title, "starts_at": starts_at})
    return sitting


def enrol(session: Session, exam_session_id: int, name: str, resident_id: str, actor: str,
          username: str | None = None, password: str | None = None, today: date | None = None
          ) -> CandidateSession:
    """Enrol a person (created on first enrolment) in a sitting; optionally give them a login."""
    exam_session = session.get(ExamSession, exam_session_id)
    if exam_session is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    identity = parse_resident_id(resident_id, today)
    name = _required(name, "name", 120)
    candidate = session.exec(select(Candidate).where(Candidate.resident_id == identity.number)).first()
    if candidate is None:
        candidate = Candidate(name=name, resident_id=identity.number, sex=identity.sex,
                              birth_date=identity.birth_date)
        if username:
            candidate.user_id = create_user(session, username, name, Role.candidate, password or "", actor).id
        session.add(candidate)
        session.flush()
        audit.record(session, actor, "candidate.created", "candidate", candidate.id, {"name": name})
    if session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id,
                                                   CandidateSession.candidate_id == candidate.id)).first():
        raise DuplicateError(N_("%(name)s is already enrolled in this exam session"), "resident_id",
                             name=candidate.name)
    room = session.get(Room, exam_session.room_id)
    enrolled = len(session.exec(select(CandidateSession.id).where(
        CandidateSession.exam_session_id == exam_session_id)).all())
    if room is not None and enrolled >= room.capacity:
        raise InvalidInputError(N_("room %(room)s holds %(capacity)s candidates and is full"), "exam_session",
                                room=room.name, capacity=room.capacity)
    sitting = CandidateSession(exam_session_id=exam_session_id, candidate_id=candidate.id)
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "session.enrolled", "candidate_session", sitting.id,
                 {"candidate": candidate.id, "exam_session": exam_session_id})
    return sitting


@dataclass(frozen=True)
class RosterLine:
    candidate_session_id: int
    candidate_name: str
    masked_id: str
    status: CandidateSessionStatus
    answered: int
    total: int
    seconds_left: int
    score: float | None
    # live proctoring (engine/proctoring/service.py)
    presence: str = "never"  # online / offline / never
    deadline_ms: int | None = None
    accommodation_minutes: int = 0
    extension_minutes: int = 0
    incidents: int = 0
    anomalies: tuple[str, ...] = ()
    command: proctoring.CommandState | None = None

    @property
    def needs_attention(self) -> bool:
        """Offline during the exam, paused, flagged, or with anomalies to look at."""
        active = self.status in (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused)
        return bool(self.incidents or self.anomalies or self.status == CandidateSessionStatus.paused
                    or (active and self.presence != "online"))


def mask_resident_id(number: str) -> str:
    return number[:6] + "********" + number[-4:]


def roster(session: Session, exam_session_id: int, now: datetime) -> list[RosterLine]:
    """Who is sitting, how far along, and how much time each has left."""
    if session.get(ExamSession, exam_session_id) is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    rows = session.exec(
        select(CandidateSession, Candidate)
        .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
        .where(CandidateSession.exam_session_id == exam_session_id)
        .order_by(Candidate.name)
    ).all()
    return [_roster_line(session, sitting, candidate, now) for sitting, candidate in rows]


def roster_line(session: Session, candidate_session_id: int, now: datetime) -> RosterLine:
    """One candidate's row of the roster (pushed live to supervisors)."""
    sitting = session.get(CandidateSession, candidate_session_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=candidate_session_id)
    candidate = session.get(Candidate, sitting.candidate_id)
    assert candidate is not None
    return _roster_line(session, sitting, candidate, now)


def _roster_line(session: Session, sitting: CandidateSession, candidate: Candidate, now: datetime) -> RosterLine:
    items = delivery.presented_items(session, sitting)
    progress = delivery.progress_of(items)
    score = None
    if sitting.status == CandidateSessionStatus.submitted:
        score = delivery.result_of(session, sitting).score
    started = sitting.status != CandidateSessionStatus.scheduled
    return RosterLine(sitting.id, candidate.name, mask_resident_id(candidate.resident_id),
                      sitting.status, progress.answered, progress.total,
                      delivery.seconds_left(sitting, now), score,
                      presence=proctoring.presence(sitting, now),
                      deadline_ms=int(sitting.deadline.timestamp() * 1000) if sitting.deadline else None,
                      accommodation_minutes=sitting.accommodation_minutes if started else candidate.extra_time_minutes,
                      extension_minutes=sitting.extension_minutes,
                      incidents=proctoring.incident_count(session, sitting.id),
                      anomalies=tuple(a.code for a in proctoring.anomalies_of(session, sitting)) if started else (),
                      command=proctoring.last_command_state(session, sitting.id))


# ---- look-ups for the administration and supervision pages ------------------------


def users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.role, User.username)).all())


def exam_definitions(session: Session) -> list[ExamDefinition]:
    return list(session.exec(select(ExamDefinition).order_by(ExamDefinition.code)).all())


@dataclass(frozen=True)
class InstitutionBranch:
    """An institution with its test centers, each with its rooms."""

    institution: Institution
    centers: list[tuple[TestCenter, list[Room]]]


def institution_tree(session: Session) -> list[InstitutionBranch]:
    rooms: dict[int, list[Room]] = {}
    for room in session.exec(select(Room).order_by(Room.name)).all():
        rooms.setdefault(room.test_center_id, []).append(room)
    centers: dict[int, list[tuple[TestCenter, list[Room]]]] = {}
    for center in session.exec(select(TestCenter).order_by(TestCenter.name)).all():
        centers.setdefault(center.institution_id, []).append((center, rooms.get(center.id, [])))
    return [InstitutionBranch(institution, centers.get(institution.id, []))
            for institution in session.exec(select(Institution).order_by(Institution.kind, Institution.code)).all()]


def room_choices(session: Session) -> list[tuple[Room, TestCenter, Institution]]:
    rows = session.exec(
        select(Room, TestCenter, Institution)
        .join(TestCenter, col(TestCenter.id) == Room.test_center_id)
        .join(Institution, col(Institution.id) == TestCenter.institution_id)
        .order_by(Institution.code, TestCenter.name, Room.name)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def get_exam_session(session: Session, exam_session_id: int) -> ExamSession:
    exam_session = session.get(ExamSession, exam_session_id)
    if exam_session is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    return exam_session


@dataclass(frozen=True)
class ExamSessionSummary:
    exam_session: ExamSession
    definition: ExamDefinition
    room: Room
    counts: dict[CandidateSessionStatus, int]

    @property
    def enrolled(self) -> int:
        return sum(self.counts.values())


def exam_session_summaries(session: Session, today: date) -> list[ExamSessionSummary]:
    """Every exam session with its candidates counted by status; today's first, then the newest."""
    counts: dict[int, dict[CandidateSessionStatus, int]] = {}
    for exam_session_id, status, number in session.exec(
            select(CandidateSession.exam_session_id, CandidateSession.status, func.count())
            .group_by(CandidateSession.exam_session_id, CandidateSession.status)).all():
        counts.setdefault(exam_session_id, {})[CandidateSessionStatus(status)] = number
    rows = session.exec(
        select(ExamSession, ExamDefinition, Room)
        .join(ExamDefinition, col(ExamDefinition.id) == ExamSession.exam_definition_id)
        .join(Room, col(Room.id) == ExamSession.room_id)
        .order_by(col(ExamSession.starts_at).desc())
    ).all()
    summaries = [ExamSessionSummary(exam_session, definition, room,
                                    {s: counts.get(exam_session.id, {}).get(s, 0) for s in CandidateSessionStatus})
                 for exam_session, definition, room in rows]
    todays = sorted((s for s in summaries if s.exam_session.starts_at.date() == today),
                    key=lambda s: s.exam_session.starts_at)
    return todays + [s for s in summaries if s.exam_session.starts_at.date() != today]


MAX_ACCOMMODATION_MINUTES = 240


def set_accommodation(session: Session, candidate_id: int, extra_minutes: int, actor: str) -> Candidate:
    """Record extra time on the candidate's profile; it joins the deadline of every sitting started later."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFoundError(N_("candidate %(id)s not found"), id=candidate_id)
    if not 0 <= extra_minutes <= MAX_ACCOMMODATION_MINUTES:
        raise InvalidInputError(N_("extra time must be between 0 and %(limit)s minutes"), "extra_time_minutes",
                                limit=MAX_ACCOMMODATION_MINUTES)
    candidate.extra_time_minutes = extra_minutes
    session.add(candidate)
    session.flush()
    audit.record(session, actor, "candidate.accommodation_set", "candidate", candidate.id,
                 {"extra_time_minutes": extra_minutes})
    return candidate
