"""Scheduling services: scope, seat maps, batches of sittings, seats, staff on duty, access.

Services flush and never commit; every change is audited. Every check runs before the
first write, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from engine import administration, audit
from engine.certification.models import Registration  # the employer declared at registration
from engine.errors import N_, DuplicateError, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.lookup import get_or_not_found
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamSession,
    Institution,
    Role,
    Room,
    TestCenter,
    User,
)
from engine.quality import suspension
from engine.scheduling import seating
from engine.scheduling.models import (
    DutyAssignment,
    DutyRole,
    ExamBatch,
    InstitutionScope,
    RoomBooking,
    RoomLayout,
    SchedulingPolicy,
    SeatAssignment,
    StaffRelation,
)
from itembank.levels import Level
from itembank.models import Occupation

# who may hold which duty: supervisors supervise, examiners (考评员) rate
DUTY_ROLES = {DutyRole.supervisor: Role.supervisor, DutyRole.rater: Role.examiner}


class SchedulingRefused(IllegalTransitionError):
    """A scheduling request that the rules forbid (out of scope, suspended, room booked) → 409."""


# ---- institution scope --------------------------------------------------------------------------


def scope_of(session: Session, institution_id: int) -> list[InstitutionScope]:
    return list(session.exec(select(InstitutionScope).where(InstitutionScope.institution_id == institution_id)
                             .order_by(InstitutionScope.occupation_id, InstitutionScope.level)).all())


def set_scope(session: Session, institution_id: int, entries: list[tuple[int, str]], actor: str
              ) -> list[InstitutionScope]:
    """Replace an institution's scope with these (occupation id, level) pairs."""
    _institution(session, institution_id)
    parsed: set[tuple[int, Level]] = set()
    for occupation_id, level in entries:
        if session.get(Occupation, occupation_id) is None:
            raise NotFoundError(N_("occupation %(id)s not found"), id=occupation_id)
        try:
            parsed.add((occupation_id, Level(level)))
        except ValueError:
            raise InvalidInputError(N_("unknown level '%(level)s'"), "level", level=level) from None
    before = sorted((s.occupation_id, s.level.value) for s in scope_of(session, institution_id))
    session.exec(delete(InstitutionScope).where(col(InstitutionScope.institution_id) == institution_id))
    rows = [InstitutionScope(institution_id=institution_id, occupation_id=o, level=lv) for o, lv in sorted(parsed)]
    session.add_all(rows)
    session.flush()
    audit.record(session, actor, "institution.scope_set", "institution", institution_id,
                 {"before": before, "after": sorted((o, lv.value) for o, lv in parsed)})
    return rows


def check_scope(session: Session, institution: Institution, definition: ExamDefinition) -> None:
    allowed = session.exec(select(InstitutionScope.id).where(
        InstitutionScope.institution_id == institution.id, InstitutionScope.occupation_id == definition.occupation_id,
        InstitutionScope.level == definition.level)).first()
    if allowed is None:
        occupation = session.get(Occupation, definition.occupation_id)
        raise SchedulingRefused(N_("institution %(code)s may not certify %(occupation)s at %(level)s: "
                                   "it is not in its recorded scope"), "exam_definition_id",
                                code=institution.code, occupation=occupation.name if occupation else "?",
                                level=definition.level.value)


# ---- rooms and seat maps -------------------------------------------------------------------------


def set_room_layout(session: Session, room_id: int, rows: int, columns: int, missing: list[str], equipment: str,
                    standardized: bool, actor: str) -> RoomLayout:
    """Record a room's seat map and equipment; the room's capacity becomes its number of seats."""
    room = _room(session, room_id)
    labels = sorted({label.strip() for label in missing if label.strip()})
    seats = seating.seat_map(rows, columns, labels)
    if not seats:
        raise InvalidInputError(N_("the room has no seats left"), "missing_seats")
    if len(equipment) > 1000:
        raise InvalidInputError(N_("the equipment notes are longer than 1000 characters"), "equipment")
    layout = session.get(RoomLayout, room_id) or RoomLayout(room_id=room_id, rows=rows, columns=columns,
                                                             missing_seats=[])
    layout.rows, layout.columns, layout.missing_seats = rows, columns, labels
    layout.equipment, layout.standardized = equipment.strip(), standardized
    room.capacity = len(seats)
    session.add_all([layout, room])
    session.flush()
    audit.record(session, actor, "room.layout_set", "room", room_id,
                 {"rows": rows, "columns": columns, "missing": labels, "seats": len(seats),
                  "standardized": standardized})
    return layout


def seats_of(layout: RoomLayout) -> list[seating.Seat]:
    return seating.seat_map(layout.rows, layout.columns, layout.missing_seats)


# ---- policy ----------------------------------------------------------------------------------------


def policy(session: Session) -> SchedulingPolicy:
    return session.get(SchedulingPolicy, 1) or SchedulingPolicy()


def set_policy(session: Session, forbid_related_staff: bool, actor: str) -> SchedulingPolicy:
    current = session.get(SchedulingPolicy, 1) or SchedulingPolicy()
    current.forbid_related_staff = forbid_related_staff
    session.add(current)
    session.flush()
    audit.record(session, actor, "scheduling.policy_set", "policy", 1, {"forbid_related_staff": forbid_related_staff})
    return current


# ---- batches of sittings -------------------------------------------------------------------------


def institution_suspended(session: Session, institution_id: int) -> bool:
    """Quality supervision's exit mechanism (engine/quality/suspension.py): a suspended body schedules nothing."""
    return suspension.is_suspended(session, institution_id)


def schedule_sitting(session: Session, exam_definition_id: int, room_id: int, title: str, starts_at: datetime,
                     actor: str, now: datetime) -> ExamSession:
    """One sitting in one room: a one-room batch under the same rules (scope, suspension, free room)."""
    room = _room(session, room_id)
    center = session.get(TestCenter, room.test_center_id)
    taken = len(session.exec(select(ExamBatch.id)).all())
    code = f"{starts_at:%Y%m%d%H%M}-R{room.id}-{taken + 1}"
    batch = schedule_batch(session, center.institution_id, exam_definition_id, code, title, starts_at, [room.id],
                           actor, now, name_by_room=False)
    booking = session.exec(select(RoomBooking).where(RoomBooking.batch_id == batch.id)).one()
    return session.get(ExamSession, booking.exam_session_id)


def schedule_batch(session: Session, institution_id: int, exam_definition_id: int, code: str, title: str,
                   starts_at: datetime, room_ids: list[int], actor: str, now: datetime,
                   name_by_room: bool = True) -> ExamBatch:
    """A batch (批次) of sittings (场次), one per room, all starting together."""
    institution = _institution(session, institution_id)
    definition = session.get(ExamDefinition, exam_definition_id)
    if definition is None:
        raise NotFoundError(N_("exam definition %(id)s not found"), id=exam_definition_id)
    code, title = code.strip(), title.strip()
    if not code or len(code) > 40:
        raise InvalidInputError(N_("give the batch a code of at most 40 characters"), "code")
    if not title:
        raise InvalidInputError(N_("%(name)s is required"), "title", name="title")
    if session.exec(select(ExamBatch.id).where(ExamBatch.code == code)).first():
        raise DuplicateError(N_("batch code '%(code)s' exists already"), "code", code=code)
    if starts_at <= now:
        raise InvalidInputError(N_("a new sitting must start in the future"), "starts_at")
    if not room_ids:
        raise InvalidInputError(N_("choose at least one room"), "room_ids")
    if len(set(room_ids)) != len(room_ids):
        raise InvalidInputError(N_("a room is chosen twice"), "room_ids")
    if institution_suspended(session, institution_id):
        raise SchedulingRefused(N_("institution %(code)s is suspended from certifying and cannot schedule new "
                                   "sittings"), "institution_id", code=institution.code)
    check_scope(session, institution, definition)
    ends_at = starts_at + timedelta(minutes=definition.duration_minutes)
    rooms = [_room(session, room_id) for room_id in room_ids]
    for room in rooms:
        _check_room_free(session, room, starts_at, ends_at)
    batch = ExamBatch(code=code, institution_id=institution_id, exam_definition_id=definition.id,
                      starts_at=starts_at, ends_at=ends_at, created_by=actor)
    session.add(batch)
    session.flush()
    for room in rooms:
        sitting_title = f"{title} · {room.name}" if name_by_room else title
        sitting = administration.create_exam_session(session, definition.id, room.id, sitting_title, starts_at, actor)
        session.add(RoomBooking(exam_session_id=sitting.id, batch_id=batch.id, room_id=room.id,
                                starts_at=starts_at, ends_at=ends_at))
    session.flush()
    audit.record(session, actor, "batch.scheduled", "exam_batch", batch.id,
                 {"code": code, "institution": institution_id, "exam_definition": definition.id,
                  "rooms": room_ids, "starts_at": starts_at, "ends_at": ends_at})
    return batch


def _check_room_free(session: Session, room: Room, starts_at: datetime, ends_at: datetime) -> None:
    clash = session.exec(select(RoomBooking, ExamSession)
                         .join(ExamSession, col(ExamSession.id) == RoomBooking.exam_session_id)
                         .where(RoomBooking.room_id == room.id, col(RoomBooking.starts_at) < ends_at,
                                col(RoomBooking.ends_at) > starts_at)).first()
    if clash is not None:
        booking, other = clash
        raise SchedulingRefused(N_("room %(room)s is booked from %(start)s to %(end)s by sitting '%(title)s'"),
                                "room_ids", room=room.name, start=_minute(booking.starts_at),
                                end=_minute(booking.ends_at), title=other.title)


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class BatchLine:
    batch: ExamBatch
    institution: Institution
    definition: ExamDefinition
    sittings: list[tuple[ExamSession, Room, int]]  # exam session, room, candidates enrolled


def batches(session: Session) -> list[BatchLine]:
    lines = []
    for batch in session.exec(select(ExamBatch).order_by(col(ExamBatch.starts_at).desc())).all():
        rows = session.exec(select(ExamSession, Room)
                            .join(RoomBooking, col(RoomBooking.exam_session_id) == ExamSession.id)
                            .join(Room, col(Room.id) == RoomBooking.room_id)
                            .where(RoomBooking.batch_id == batch.id).order_by(Room.name)).all()
        sittings = [(exam_session, room, len(session.exec(select(CandidateSession.id).where(
            CandidateSession.exam_session_id == exam_session.id)).all())) for exam_session, room in rows]
        lines.append(BatchLine(batch, session.get(Institution, batch.institution_id),
                               session.get(ExamDefinition, batch.exam_definition_id), sittings))
    return lines


def booking_of(session: Session, exam_session_id: int) -> RoomBooking | None:
    return session.get(RoomBooking, exam_session_id)


def institution_of_exam_session(session: Session, exam_session_id: int) -> Institution:
    exam_session = administration.get_exam_session(session, exam_session_id)
    booking = session.get(RoomBooking, exam_session_id)
    if booking is not None:
        batch = session.get(ExamBatch, booking.batch_id)
        return _institution(session, batch.institution_id)
    return session.exec(select(Institution).join(TestCenter, col(TestCenter.institution_id) == Institution.id)
                        .join(Room, col(Room.test_center_id) == TestCenter.id)
                        .where(Room.id == exam_session.room_id)).one()


# ---- seats -------------------------------------------------------------------------------------------


def assign_seats(session: Session, exam_session_id: int, actor: str, seed: int | None = None
                 ) -> dict[int, SeatAssignment]:
    """Seat every enrolled candidate at random, colleagues (same employer) kept apart where possible.

    Re-seating is allowed until the first candidate starts; the seed is audited, so the
    placement can be reproduced.
    """
    exam_session = administration.get_exam_session(session, exam_session_id)
    room = _room(session, exam_session.room_id)
    layout = session.get(RoomLayout, room.id)
    if layout is None:
        raise IllegalTransitionError(N_("room %(room)s has no seat map yet; record its rows and columns first"),
                                     room=room.name)
    sittings = session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id)).all()
    if not sittings:
        raise IllegalTransitionError(N_("no candidates are enrolled in this sitting"))
    if any(s.status != CandidateSessionStatus.scheduled for s in sittings):
        raise IllegalTransitionError(N_("candidates have started; seats can no longer change"))
    employers = {r.candidate_session_id: r.employer.strip() for r in session.exec(
        select(Registration).where(col(Registration.candidate_session_id).in_([s.id for s in sittings]))).all()}
    seed = secrets.randbits(32) if seed is None else seed
    placement = seating.assign({s.id: employers.get(s.id, "") for s in sittings}, seats_of(layout), seed)
    session.exec(delete(SeatAssignment).where(col(SeatAssignment.exam_session_id) == exam_session_id))
    session.flush()
    rows = {sitting_id: SeatAssignment(candidate_session_id=sitting_id, exam_session_id=exam_session_id,
                                       seat=seat.label, ticket_number=ticket_number(exam_session_id, seat))
            for sitting_id, seat in placement.items()}
    session.add_all(rows.values())
    session.flush()
    audit.record(session, actor, "seats.assigned", "exam_session", exam_session_id,
                 {"seed": seed, "candidates": len(rows),
                  "same_employer_pairs": seating.same_employer_pairs(placement, {k: employers.get(k, "")
                                                                                 for k in placement})})
    return rows


def ticket_number(exam_session_id: int, seat: seating.Seat) -> str:
    """准考证号: the sitting (7 digits), then row and column (2 digits each)."""
    return f"{exam_session_id:07d}{seat.row:02d}{seat.column:02d}"


def seats(session: Session, exam_session_id: int) -> dict[int, SeatAssignment]:
    return {a.candidate_session_id: a for a in session.exec(
        select(SeatAssignment).where(SeatAssignment.exam_session_id == exam_session_id)).all()}


def find_ticket(session: Session, number: str) -> SeatAssignment:
    found = session.exec(select(SeatAssignment).where(SeatAssignment.ticket_number == number.strip())).first()
    if found is None:
        raise NotFoundError(N_("admission ticket %(number)s not found"), number=number.strip()[:24])
    return found


@dataclass(frozen=True)
class SeatCell:
    label: str
    exists: bool
    candidate: Candidate | None
    employer: str


def seat_grid(session: Session, exam_session_id: int) -> list[list[SeatCell]] | None:
    """The room's seat map with who sits where (None when the room has no map)."""
    exam_session = administration.get_exam_session(session, exam_session_id)
    layout = session.get(RoomLayout, exam_session.room_id)
    if layout is None:
        return None
    placed = {a.seat: a.candidate_session_id for a in seats(session, exam_session_id).values()}
    who = {s.id: c for s, c in session.exec(select(CandidateSession, Candidate)
                                            .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
                                            .where(CandidateSession.exam_session_id == exam_session_id)).all()}
    employers = {r.candidate_session_id: r.employer for r in session.exec(
        select(Registration).where(col(Registration.candidate_session_id).in_(list(who)))).all()}
    missing = set(layout.missing_seats)
    grid = []
    for row in range(1, layout.rows + 1):
        line = []
        for column in range(1, layout.columns + 1):
            label = seating.Seat(row, column).label
            sitting_id = placed.get(label)
            line.append(SeatCell(label, label not in missing, who.get(sitting_id) if sitting_id else None,
                                 employers.get(sitting_id, "") if sitting_id else ""))
        grid.append(line)
    return grid


# ---- supervisors and raters -----------------------------------------------------------------------


def add_relation(session: Session, user_id: int, institution_id: int, note: str, actor: str) -> StaffRelation:
    """Declare that a staff member is related to an institution (employee, trainer, relative …)."""
    user = _user(session, user_id)
    _institution(session, institution_id)
    if session.exec(select(StaffRelation.id).where(StaffRelation.user_id == user_id,
                                                   StaffRelation.institution_id == institution_id)).first():
        raise DuplicateError(N_("this relation is recorded already"), "institution_id")
    relation = StaffRelation(user_id=user_id, institution_id=institution_id, note=note.strip()[:200])
    session.add(relation)
    session.flush()
    audit.record(session, actor, "staff.relation_added", "user", user.id,
                 {"institution": institution_id, "note": relation.note})
    return relation


def assign_duty(session: Session, exam_session_id: int, user_id: int, role: str, actor: str) -> DutyAssignment:
    """Put a supervisor or rater on duty at a sitting, of any institution (cross-dispatch, 交叉派遣),
    unless the policy forbids staff related to the sitting's institution."""
    try:
        duty = DutyRole(role)
    except ValueError:
        raise InvalidInputError(N_("duty must be supervisor or rater, got '%(role)s'"), "role", role=role) from None
    institution = institution_of_exam_session(session, exam_session_id)
    user = _user(session, user_id)
    if user.role != DUTY_ROLES[duty] or not user.active:
        raise InvalidInputError(N_("%(user)s is not an active %(role)s account"), "user_id", user=user.username,
                                role=DUTY_ROLES[duty].value)
    if session.exec(select(DutyAssignment.id).where(DutyAssignment.exam_session_id == exam_session_id,
                                                    DutyAssignment.user_id == user_id,
                                                    DutyAssignment.role == duty)).first():
        raise DuplicateError(N_("%(user)s is already on duty at this sitting"), "user_id", user=user.username)
    relation = session.exec(select(StaffRelation).where(StaffRelation.user_id == user_id,
                                                        StaffRelation.institution_id == institution.id)).first()
    if relation is not None and policy(session).forbid_related_staff:
        raise SchedulingRefused(N_("%(user)s is related to institution %(code)s (%(note)s) and may not act as "
                                   "%(role)s for its candidates"), "user_id", user=user.username,
                                code=institution.code, note=relation.note or "-", role=duty.value)
    assignment = DutyAssignment(exam_session_id=exam_session_id, user_id=user_id, role=duty, assigned_by=actor)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "duty.assigned", "exam_session", exam_session_id,
                 {"user": user.username, "role": duty.value, "institution": institution.id,
                  "cross_dispatch": not relation})
    return assignment


def duties(session: Session, exam_session_id: int) -> list[tuple[DutyAssignment, User]]:
    return [tuple(row) for row in session.exec(  # type: ignore[misc]
        select(DutyAssignment, User).join(User, col(User.id) == DutyAssignment.user_id)
        .where(DutyAssignment.exam_session_id == exam_session_id).order_by(DutyAssignment.role, User.username)).all()]


def may_supervise(session: Session, user: User, exam_session_id: int) -> bool:
    """Admins see every sitting; a supervisor sees a scheduled sitting only when on duty there.

    Sittings created before scheduling existed (no room booking) stay open to every
    supervisor, as they were.
    """
    if user.role == Role.admin:
        return True
    if user.role != Role.supervisor:
        return False
    if session.get(RoomBooking, exam_session_id) is None:
        return True
    return session.exec(select(DutyAssignment.id).where(
        DutyAssignment.exam_session_id == exam_session_id, DutyAssignment.user_id == user.id,
        DutyAssignment.role == DutyRole.supervisor)).first() is not None


def ensure_may_supervise(session: Session, user: User, exam_session_id: int | None = None,
                         sitting_id: int | None = None) -> None:
    """Refuse as "not found" (no hint that the sitting exists) when ``may_supervise`` says no."""
    if sitting_id is not None:
        exam_session_id = get_sitting(session, sitting_id).exam_session_id
    assert exam_session_id is not None
    if not may_supervise(session, user, exam_session_id):
        if sitting_id is not None:
            raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)


def supervised_exam_session(session: Session, user: User, exam_session_id: int) -> ExamSession:
    """The exam session, when it exists and the user may supervise it (else "not found")."""
    exam_session = administration.get_exam_session(session, exam_session_id)
    ensure_may_supervise(session, user, exam_session_id)
    return exam_session


def visible_summaries(session: Session, user: User, summaries: list) -> list:
    """The exam-session summaries (``administration.exam_session_summaries``) the user may supervise."""
    return [s for s in summaries if may_supervise(session, user, s.exam_session.id)]


def visible_exam_session_ids(session: Session, user: User, exam_session_ids: list[int]) -> set[int]:
    return {i for i in exam_session_ids if may_supervise(session, user, i)}


# ---- helpers -------------------------------------------------------------------------------------------


def get_sitting(session: Session, candidate_session_id: int) -> CandidateSession:
    return get_or_not_found(session, CandidateSession, candidate_session_id, N_("exam sitting %(id)s not found"))


def _institution(session: Session, institution_id: int) -> Institution:
    return get_or_not_found(session, Institution, institution_id, N_("institution %(id)s not found"))


def _room(session: Session, room_id: int) -> Room:
    return get_or_not_found(session, Room, room_id, N_("room %(id)s not found"))


def _user(session: Session, user_id: int) -> User:
    return get_or_not_found(session, User, user_id, N_("user %(id)s not found"))
