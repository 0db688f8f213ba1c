"""Control-room actions over HTTP and the sockets: check-in, workstation failover with the
old page cut, the incident report PDF, and the accommodations screen."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from engine.models import AuditEntry, CandidateSession, ProctoringEvent, Response
from tests.conftest import Visitor
from tests.web.test_proctoring_ws import _close_code, _connect, _exam_session_id, _start
from web.ws import CloseCode


@pytest.fixture
def candidate(app, demo):
    visitor = Visitor(TestClient(app, follow_redirects=False))
    visitor.sitting = _start(visitor, "candidate")
    return visitor


@pytest.fixture
def supervisor(app, demo):
    return Visitor(TestClient(app, follow_redirects=False)).login("supervisor")


class TestCheckIn:
    def test_check_in_is_recorded_and_shown_on_the_row_and_timeline(self, supervisor, candidate, db_engine):
        response = supervisor.post(f"/supervisor/sittings/{candidate.sitting}/check-in",
                                   {"id_checked": "yes", "photo_match": "yes", "notes": "核对无误"}, htmx=True)
        assert response.status_code == 200 and 'data-kind="identity_checked"' in response.text
        page = supervisor.get(f"/supervisor/sittings/{candidate.sitting}").text
        assert 'data-checkin="verified"' in page and 'data-kind="identity_checked"' in page

    def test_an_unchecked_box_records_a_mismatch_that_needs_attention(self, supervisor, candidate):
        supervisor.post(f"/supervisor/sittings/{candidate.sitting}/check-in", {"id_checked": "yes"}, htmx=True)
        page = supervisor.get(f"/supervisor/sittings/{candidate.sitting}").text
        assert 'data-checkin="mismatch"' in page and 'data-attention="true"' in page

    def test_bad_input_is_refused_with_its_field(self, supervisor, candidate, db_engine):
        response = supervisor.post(f"/supervisor/sittings/{candidate.sitting}/check-in",
                                   {"id_checked": "perhaps", "photo_match": "yes"}, htmx=True)
        assert response.status_code == 422 and "id_checked" in response.text
        with Session(db_engine) as session:
            assert not session.exec(select(ProctoringEvent).where(ProctoringEvent.kind == "identity_checked")).all()


class TestWorkstationFailover:
    def test_the_old_page_is_cut_and_may_not_return_and_the_new_one_continues(self, supervisor, candidate,
                                                                              db_engine):
        answer = f"/candidate/sessions/{candidate.sitting}/items/1/answer"
        assert candidate.post(answer, {"answer": "A", "seq": "1"}, htmx=True).status_code == 200
        with _connect(candidate, candidate.sitting, tab="pcA") as old:
            assert old.receive_json()["type"] == "state"
            response = supervisor.post(f"/supervisor/sittings/{candidate.sitting}/workstation",
                                       {"reason": "主机故障", "workstation": "B-12"}, htmx=True)
            assert response.status_code == 200
            assert old.receive_json()["type"] == "superseded"
            assert _close_code(old) == CloseCode.superseded
        with _connect(candidate, candidate.sitting, tab="pcA") as again:
            assert _close_code(again) == CloseCode.forbidden, "the replaced workstation stays out"
        with _connect(candidate, candidate.sitting, tab="pcB") as new:
            state = new.receive_json()
            assert state["type"] == "state" and state["status"] == "in_progress"
        assert candidate.post(f"/candidate/sessions/{candidate.sitting}/items/2/answer",
                              {"answer": "B", "seq": "2"}, htmx=True).status_code == 200
        with Session(db_engine) as session:
            kinds = session.exec(select(ProctoringEvent.kind).where(
                ProctoringEvent.candidate_session_id == candidate.sitting)).all()
            assert "workstation_authorized" in kinds and "workstation_switched" in kinds
            assert "second_connection_opened" not in kinds
            stored = session.exec(select(Response.position).where(
                Response.candidate_session_id == candidate.sitting)).all()
            assert sorted(stored) == [1, 2], "nothing lost"
            entry = session.exec(select(AuditEntry).where(
                AuditEntry.action == "proctoring.workstation_authorized")).one()
            assert entry.data["reason"] == "主机故障"

    def test_a_reason_is_required(self, supervisor, candidate, db_engine):
        response = supervisor.post(f"/supervisor/sittings/{candidate.sitting}/workstation", {"reason": ""},
                                   htmx=True)
        assert response.status_code == 422
        with Session(db_engine) as session:
            assert session.get(CandidateSession, candidate.sitting).status.value == "in_progress"
            assert not session.exec(select(AuditEntry).where(
                AuditEntry.action == "proctoring.workstation_authorized")).all()


class TestIncidentReport:
    def test_the_report_is_a_pdf_with_the_sittings_record(self, supervisor, candidate, app):
        supervisor.post(f"/supervisor/sittings/{candidate.sitting}/commands",
                        {"kind": "flag", "reason": "手机", "severity": "high", "category": "device_misuse"}, htmx=True)
        instant = app.state.clock()
        app.state.clock = lambda: instant  # the report prints when it was made, to the second
        response = supervisor.get(f"/supervisor/sittings/{candidate.sitting}/report.pdf")
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF") and b"STSong-Light" in response.content
        assert response.content == supervisor.get(f"/supervisor/sittings/{candidate.sitting}/report.pdf").content

    def test_a_candidate_may_not_read_it(self, candidate):
        assert candidate.get(f"/supervisor/sittings/{candidate.sitting}/report.pdf").status_code == 403


class TestAccommodationsScreen:
    def test_recorded_extra_time_moves_a_running_deadline_and_shows_on_the_grid(self, supervisor, candidate,
                                                                               db_engine):
        room = _exam_session_id(db_engine)
        with Session(db_engine) as session:
            sitting = session.get(CandidateSession, candidate.sitting)
            deadline, candidate_id = sitting.deadline, sitting.candidate_id
        screen = supervisor.get(f"/supervisor/sessions/{room}/accommodations")
        assert screen.status_code == 200 and f'data-candidate="{candidate_id}"' in screen.text
        with _connect(candidate, candidate.sitting) as page:
            page.receive_json()
            response = supervisor.post(f"/supervisor/sessions/{room}/accommodations",
                                       {"candidate_id": str(candidate_id), "extra_minutes": "20",
                                        "break_minutes": "10", "reason": "残障证明"}, htmx=True)
            assert response.status_code == 200
            told = page.receive_json()
            assert told["kind"] == "accommodation_changed" and told["minutes"] == 30
        with Session(db_engine) as session:
            assert (session.get(CandidateSession, candidate.sitting).deadline - deadline).total_seconds() == 1800
        row = supervisor.get(f"/supervisor/sittings/{candidate.sitting}").text
        assert "+30 min accommodation" in row and "incl. 10 min breaks" in row

    def test_a_candidate_of_another_session_is_refused(self, supervisor, candidate, db_engine):
        room = _exam_session_id(db_engine)
        response = supervisor.post(f"/supervisor/sessions/{room}/accommodations",
                                   {"candidate_id": "999999", "extra_minutes": "5", "break_minutes": "0",
                                    "reason": "x"}, htmx=True)
        assert response.status_code == 403

    def test_a_reason_is_required(self, supervisor, candidate, db_engine):
        room = _exam_session_id(db_engine)
        with Session(db_engine) as session:
            candidate_id = session.get(CandidateSession, candidate.sitting).candidate_id
        response = supervisor.post(f"/supervisor/sessions/{room}/accommodations",
                                   {"candidate_id": str(candidate_id), "extra_minutes": "5", "reason": ""}, htmx=True)
        assert response.status_code == 422
