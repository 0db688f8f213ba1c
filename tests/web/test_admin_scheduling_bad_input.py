"""Bad input in administration and results: each refused with a clear reason, nothing written.

Registrations (ineligible, duplicate and invalid resident IDs), overlapping room
bookings, out-of-scope sittings, related staff, certificates for failed results,
appeals after the window and second survey answers — each compared as a whole-database
snapshot before and after.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from engine.accounts import create_user
from engine.models import Candidate, CandidateSession, ExamSession, Role
from engine.results import service as results
from engine.scheduling import service as scheduling
from engine.scheduling.models import RoomBooking
from tests.conftest import Visitor
from tests.engine.certification.helpers import with_scores
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, resident_id, workbook
from tests.engine.scheduling.helpers import ACTOR, batch, setup
from tests.web.test_bad_input import snapshot


@pytest.fixture
def scheduled(db_engine, clock):
    """Demo data, scope and two rooms with seat maps, one batch booked in the first room tomorrow."""
    with Session(db_engine, expire_on_commit=False) as db:
        s = setup(db, rooms=2)
        starts = (clock() + timedelta(days=1)).replace(second=0, microsecond=0)
        created = batch(db, s, starts, rooms=[s.rooms[0]], now=clock())
        exam_session_id = db.exec(select(RoomBooking.exam_session_id).where(RoomBooking.batch_id == created.id)).one()
        db.commit()
    return s, starts, exam_session_id


@pytest.fixture
def admin(client) -> Visitor:
    return Visitor(client).login("admin")


def text(response) -> str:
    return html.unescape(response.text)


def upload(admin: Visitor, exam_session_id: int, rows: list[list[object]]):
    return admin.client.post(f"/admin/certificates/sessions/{exam_session_id}/registrations",
                             data={"csrf_token": admin.csrf},
                             files={"file": ("报名.xlsx", workbook(HEADERS_ZH, rows), "application/octet-stream")})


@pytest.mark.parametrize("bad_row, problem", [
    (good_row(3, years=1), "eligibility"),  # ineligible: level 4 needs years in the occupation
    (good_row(1), "appears already in row 2"),  # the same resident ID twice in the file
    (["考生九", resident_id("19900101", 9)[:-1] + "0"] + good_row(9)[2:], "check"),  # wrong check character
])
def test_bad_registration_rows_refuse_the_whole_file(scheduled, admin, db_engine, bad_row, problem):
    exam_session_id = scheduled[2]
    before = snapshot(db_engine)
    response = upload(admin, exam_session_id, [good_row(1), bad_row])
    assert response.status_code == 422 and "nothing was imported" in text(response)
    assert problem in text(response)
    assert snapshot(db_engine) == before


def test_ineligible_registration_names_the_condition(scheduled, admin, db_engine):
    response = upload(admin, scheduled[2], [good_row(1, years=1)])
    assert response.status_code == 422 and "eligibility" in text(response)


def test_overlapping_room_booking_is_refused_with_the_sitting_it_clashes_with(scheduled, admin, db_engine):
    s, starts, _ = scheduled
    before = snapshot(db_engine)
    response = admin.post("/admin/scheduling/batches", {
        "institution_id": str(s.institution.id), "exam_definition_id": str(s.definition.id), "code": "CLASH",
        "title": "冲突批次", "starts_at": (starts + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"),
        "room_ids": [str(s.rooms[1]), str(s.rooms[0])]})
    assert response.status_code == 409
    assert f"room 第11考场 is booked from {starts:%Y-%m-%d %H:%M}" in text(response)
    assert "'电工四级认定 · 第11考场'" in text(response)
    assert snapshot(db_engine) == before  # the free second room was not booked either


def test_out_of_scope_sitting_is_refused(scheduled, admin, db_engine):
    s, starts, _ = scheduled
    assert admin.post(f"/admin/scheduling/scope/{s.institution.id}", {}).status_code == 303  # scope emptied
    before = snapshot(db_engine)
    response = admin.post("/admin/scheduling/batches", {
        "institution_id": str(s.institution.id), "exam_definition_id": str(s.definition.id), "code": "SCOPE",
        "title": "超范围", "starts_at": (starts + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "room_ids": str(s.rooms[1])})
    assert response.status_code == 409 and "is not in its recorded scope" in text(response)
    assert snapshot(db_engine) == before


def test_related_rater_is_refused(scheduled, admin, db_engine):
    s, _, exam_session_id = scheduled
    with Session(db_engine) as db:
        scheduling.add_relation(db, s.rater.id, s.institution.id, "本机构培训讲师", ACTOR)
        db.commit()
    before = snapshot(db_engine)
    response = admin.post(f"/admin/scheduling/sessions/{exam_session_id}/duties",
                          {"user_id": str(s.rater.id), "role": "rater"})
    assert response.status_code == 409 and "is related to institution S370100001 (本机构培训讲师)" in text(response)
    assert snapshot(db_engine) == before


def test_malformed_seat_map_is_refused(scheduled, admin, db_engine):
    s = scheduled[0]
    before = snapshot(db_engine)
    response = admin.post(f"/admin/scheduling/rooms/{s.rooms[1]}/layout",
                          {"rows": "4", "columns": "4", "missing_seats": "05-01"})
    assert response.status_code == 422 and "seat 05-01 is outside the 4 × 4 room" in text(response)
    assert snapshot(db_engine) == before


def test_certificate_for_a_failed_result_is_refused(demo, admin, db_engine):
    with Session(db_engine, expire_on_commit=False) as db:
        failed = with_scores(db, "candidate2", 45, 80)
        db.commit()
    before = snapshot(db_engine)
    response = admin.post(f"/admin/certificates/sittings/{failed.id}/issue")
    assert response.status_code == 409 and "theory score 45" in text(response) and "did not pass" in text(response)
    assert snapshot(db_engine) == before


def test_appeal_after_the_window_is_refused(app, demo, db_engine, clock):
    with Session(db_engine, expire_on_commit=False) as db:
        sitting = with_scores(db, "candidate", 55, 80)
        results.publish(db, sitting.exam_session_id, ACTOR, clock() - timedelta(days=20))
        db.commit()
    candidate = Visitor(TestClient(app, follow_redirects=False)).login("candidate")
    before = snapshot(db_engine)
    response = candidate.post(f"/candidate/results/{sitting.id}/appeal", {"part": "theory", "reason": "请复核"})
    assert response.status_code == 409
    assert "the review window closed on" in text(response) and "15 days after publication" in text(response)
    assert snapshot(db_engine) == before


def test_appeal_of_someone_elses_sitting_is_not_found(app, demo, db_engine, clock):
    with Session(db_engine, expire_on_commit=False) as db:
        sitting = with_scores(db, "candidate2", 55, 80)
        results.publish(db, sitting.exam_session_id, ACTOR, clock())
        db.commit()
    intruder = Visitor(TestClient(app, follow_redirects=False)).login("candidate")
    before = snapshot(db_engine)
    response = intruder.post(f"/candidate/results/{sitting.id}/appeal", {"part": "theory", "reason": "x"})
    assert response.status_code == 404
    assert snapshot(db_engine) == before


def test_second_survey_answer_is_refused(app, demo, db_engine):
    with Session(db_engine, expire_on_commit=False) as db:
        sitting = with_scores(db, "candidate", 70, 80)
        db.commit()
    candidate = Visitor(TestClient(app, follow_redirects=False)).login("candidate")
    answer = {key: "5" for key in results.SURVEY_QUESTIONS}
    assert candidate.post(f"/candidate/survey/{sitting.id}", answer).status_code == 303
    before = snapshot(db_engine)
    again = candidate.post(f"/candidate/survey/{sitting.id}", answer)
    assert again.status_code == 409 and "answered this survey already" in text(again)
    assert snapshot(db_engine) == before


def test_supervisor_not_on_duty_gets_not_found_and_the_dispatched_one_gets_the_roster(app, scheduled, db_engine):
    s, _, exam_session_id = scheduled
    with Session(db_engine) as db:
        scheduling.assign_duty(db, exam_session_id, s.supervisor.id, "supervisor", ACTOR)
        create_user(db, "idle-supervisor", "闲置督考员", Role.supervisor, "password-1234", ACTOR)
        db.commit()
        legacy = db.exec(select(ExamSession.id).where(ExamSession.id != exam_session_id)).first()
        enrolled = db.exec(select(CandidateSession.id).join(Candidate).where(
            CandidateSession.exam_session_id == legacy)).first()
    on_duty = Visitor(TestClient(app, follow_redirects=False)).login("cross-supervisor", "password-1234")
    idle = Visitor(TestClient(app, follow_redirects=False)).login("idle-supervisor", "password-1234")
    assert on_duty.get(f"/supervisor/sessions/{exam_session_id}").status_code == 200
    assert idle.get(f"/supervisor/sessions/{exam_session_id}").status_code == 404
    assert f"/supervisor/sessions/{exam_session_id}\"" not in idle.get("/supervisor").text
    assert idle.get(f"/supervisor/sittings/{enrolled}").status_code == 200  # made before scheduling: open
