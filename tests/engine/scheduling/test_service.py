"""Scope, seat maps, batches and room bookings, seats, staff on duty and supervision access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from engine import audit
from engine.accounts import create_user
from engine.certification import registration
from engine.errors import DuplicateError, IllegalTransitionError, InvalidInputError
from engine.models import ExamSession, Role, Room
from engine.scheduling import seating, tickets
from engine.scheduling import service as scheduling
from engine.scheduling.models import ExamBatch, RoomBooking, SeatAssignment
from tests.engine.certification.helpers import pdf_texts
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook
from tests.engine.scheduling.helpers import ACTOR, batch, setup

START = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def s(db: Session):
    return setup(db, rooms=2)


def test_out_of_scope_is_refused_naming_institution_occupation_and_level(db, s):
    scheduling.set_scope(db, s.institution.id, [], ACTOR)
    with pytest.raises(IllegalTransitionError, match="S370100001 may not certify 电工 at level4"):
        batch(db, s, START)
    assert db.exec(select(ExamBatch)).all() == []


def test_a_suspended_institution_cannot_schedule_new_sittings(db, s):
    from engine.quality import suspension

    suspension.suspend(db, s.institution.id, "评估不合格，暂停认定", ACTOR, START - timedelta(days=30))
    with pytest.raises(IllegalTransitionError, match="S370100001 is suspended from certifying"):
        batch(db, s, START)
    assert db.exec(select(ExamBatch)).all() == []


def test_a_batch_books_one_sitting_per_room(db, s):
    created = batch(db, s, START)
    bookings = db.exec(select(RoomBooking).where(RoomBooking.batch_id == created.id)).all()
    assert sorted(b.room_id for b in bookings) == sorted(s.rooms)
    assert all(b.ends_at - b.starts_at == timedelta(minutes=s.definition.duration_minutes) for b in bookings)
    assert {db.get(ExamSession, b.exam_session_id).room_id for b in bookings} == set(s.rooms)


def test_overlapping_room_booking_is_refused_with_the_clashing_sitting(db, s):
    batch(db, s, START)
    with pytest.raises(IllegalTransitionError, match=r"第11考场 is booked from 2030-05-20 09:00 to 2030-05-20 09:30 by"
                                                     r" sitting '电工四级认定 · 第11考场'"):
        batch(db, s, START + timedelta(minutes=29), code="B2", rooms=[s.rooms[0]])
    batch(db, s, START + timedelta(minutes=30), code="B3", rooms=[s.rooms[0]])  # back to back is fine


@pytest.mark.parametrize("change, problem", [
    (dict(code=""), "code of at most 40"), (dict(rooms=[]), "at least one room"),
    (dict(now=START + timedelta(hours=1)), "start in the future")])
def test_malformed_batches_are_refused(db, s, change, problem):
    code, rooms, now = change.get("code", "B9"), change.get("rooms", s.rooms), change.get("now")
    with pytest.raises(InvalidInputError, match=problem):
        scheduling.schedule_batch(db, s.institution.id, s.definition.id, code, "x", START, rooms, ACTOR,
                                  now or START - timedelta(days=1))
    assert db.exec(select(ExamBatch)).all() == []


def test_seat_map_sets_the_capacity(db, s):
    scheduling.set_room_layout(db, s.rooms[0], 5, 6, ["01-01", "05-06"], "投影仪", False, ACTOR)
    assert db.get(Room, s.rooms[0]).capacity == 28


def _enrolled_batch(db, s, employers: list[str]):
    created = batch(db, s, START, rooms=[s.rooms[0]])
    exam_session_id = db.exec(select(RoomBooking.exam_session_id).where(RoomBooking.batch_id == created.id)).one()
    rows = [good_row(i)[:5] + [employer] + good_row(i)[6:] for i, employer in enumerate(employers, start=1)]
    registration.import_registrations(db, workbook(HEADERS_ZH, rows), exam_session_id, ACTOR, START.date())
    return exam_session_id


def test_seats_keep_colleagues_apart_and_tickets_carry_seat_and_qr(db, s):
    employers = ["供电公司"] * 12 + ["机械厂"] * 12 + [""] * 6
    exam_session_id = _enrolled_batch(db, s, employers)
    placed = scheduling.assign_seats(db, exam_session_id, ACTOR, seed=3)
    assert len(placed) == 30 and len({p.seat for p in placed.values()}) == 30
    entry = db.exec(select(audit.AuditEntry).where(audit.AuditEntry.action == "seats.assigned")).one()
    assert entry.data["seed"] == 3 and entry.data["same_employer_pairs"] == 0
    sheets = tickets.ticket_sheets(db, exam_session_id)
    assert [t.ticket_number for t in sheets] == sorted(p.ticket_number for p in placed.values())
    pdf = tickets.render_tickets(sheets[:2])
    texts = pdf_texts(pdf)
    assert any(sheets[0].ticket_number in t for t in texts) and any("座 位 号：" + sheets[0].seat in t for t in texts)
    assert scheduling.find_ticket(db, sheets[0].ticket_number).exam_session_id == exam_session_id


def test_seats_need_a_seat_map_and_close_once_someone_started(db, s):
    exam_session_id = _enrolled_batch(db, s, ["甲"] * 3)
    scheduling.assign_seats(db, exam_session_id, ACTOR, seed=1)
    from engine import delivery
    from engine.models import CandidateSession

    first = db.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id)).first()
    delivery.start(db, first, "candidate", START)
    with pytest.raises(IllegalTransitionError, match="seats can no longer change"):
        scheduling.assign_seats(db, exam_session_id, ACTOR, seed=2)
    assert len(db.exec(select(SeatAssignment)).all()) == 3


def test_cross_dispatch_allowed_and_related_staff_refused_while_the_rule_is_on(db, s):
    created = batch(db, s, START, rooms=[s.rooms[0]])
    exam_session_id = db.exec(select(RoomBooking.exam_session_id).where(RoomBooking.batch_id == created.id)).one()
    scheduling.add_relation(db, s.supervisor.id, s.other.id, "原单位", ACTOR)  # related elsewhere only
    scheduling.assign_duty(db, exam_session_id, s.supervisor.id, "supervisor", ACTOR)
    scheduling.add_relation(db, s.rater.id, s.institution.id, "该机构培训教师", ACTOR)
    with pytest.raises(IllegalTransitionError, match="cross-rater is related to institution S370100001 "
                                                     r"\(该机构培训教师\) and may not act as rater"):
        scheduling.assign_duty(db, exam_session_id, s.rater.id, "rater", ACTOR)
    scheduling.set_policy(db, False, ACTOR)
    scheduling.assign_duty(db, exam_session_id, s.rater.id, "rater", ACTOR)
    with pytest.raises(DuplicateError):
        scheduling.assign_duty(db, exam_session_id, s.rater.id, "rater", ACTOR)
    with pytest.raises(InvalidInputError, match="not an active supervisor account"):
        scheduling.assign_duty(db, exam_session_id, s.rater.id, "supervisor", ACTOR)


def test_supervisors_see_only_scheduled_sittings_they_are_on_duty_at(db, s):
    created = batch(db, s, START)
    first, second = db.exec(select(RoomBooking.exam_session_id).where(RoomBooking.batch_id == created.id)
                            .order_by(RoomBooking.exam_session_id)).all()
    scheduling.assign_duty(db, first, s.supervisor.id, "supervisor", ACTOR)
    admin = create_user(db, "admin2", "管理员", Role.admin, "password-1234", ACTOR)
    assert scheduling.may_supervise(db, s.supervisor, first) and not scheduling.may_supervise(db, s.supervisor, second)
    assert scheduling.may_supervise(db, admin, second)
    assert not scheduling.may_supervise(db, s.rater, first)
    legacy = db.exec(select(ExamSession.id).where(ExamSession.id.not_in([first, second]))).first()
    assert scheduling.may_supervise(db, s.supervisor, legacy)  # made before scheduling: open as before
    with pytest.raises(Exception, match=f"exam session {second} not found"):
        scheduling.ensure_may_supervise(db, s.supervisor, second)


def test_seat_grid_shows_who_sits_where(db, s):
    exam_session_id = _enrolled_batch(db, s, ["甲", "乙"])
    scheduling.assign_seats(db, exam_session_id, ACTOR, seed=5)
    grid = scheduling.seat_grid(db, exam_session_id)
    taken = [cell for line in grid for cell in line if cell.candidate is not None]
    assert len(grid) == 6 and len(taken) == 2 and {c.employer for c in taken} == {"甲", "乙"}
    assert all(seating.parse_label(c.label) for c in taken)
