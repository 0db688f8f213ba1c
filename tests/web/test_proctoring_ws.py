"""The proctoring WebSockets: authorization, the candidate protocol and its fuzzing,
supervisor commands reaching the page, and live roster rows for supervisors."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from starlette.websockets import WebSocketDisconnect

from engine.models import AuditEntry, CandidateSession, CandidateSessionStatus, ExamSession, ProctoringEvent
from engine.proctoring.events import CONNECTION_EVENTS
from tests.conftest import Visitor
from web.ws import MAX_ERRORS, MAX_FRAME, CloseCode

ORIGIN = {"origin": "http://testserver"}
CONNECTION_KINDS = [k.value for k in CONNECTION_EVENTS]


def _exam_session_id(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(ExamSession.id)).one()


def _start(visitor: Visitor, username: str) -> int:
    visitor.login(username)
    sitting = int(re.search(r"/candidate/sessions/(\d+)/start", visitor.get("/candidate").text).group(1))
    assert visitor.post(f"/candidate/sessions/{sitting}/start").status_code == 303
    return sitting


def _written(db_engine) -> tuple[int, int]:
    """(audit entries, proctoring events other than the socket's own connect/disconnect)."""
    with Session(db_engine) as session:
        audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
        events = session.exec(select(func.count()).select_from(ProctoringEvent)
                              .where(ProctoringEvent.kind.not_in(CONNECTION_KINDS))).one()
    return audits, events


def _close_code(socket) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(10):
            socket.receive_text()
    return closed.value.code


@pytest.fixture
def candidate(app, demo):
    visitor = Visitor(TestClient(app, follow_redirects=False))
    visitor.sitting = _start(visitor, "candidate")
    return visitor


@pytest.fixture
def supervisor(app, demo):
    return Visitor(TestClient(app, follow_redirects=False)).login("supervisor")


def _connect(visitor: Visitor, sitting: int, tab: str = "tab1", headers=ORIGIN):
    return visitor.client.websocket_connect(f"/ws/candidate/{sitting}?tab={tab}", headers=headers)


class TestAuthorization:
    def test_a_running_sitting_gets_its_state_first(self, candidate):
        with _connect(candidate, candidate.sitting) as socket:
            state = socket.receive_json()
        assert state["type"] == "state" and state["status"] == "in_progress" and state["paused"] is False
        assert state["deadline_ms"] > state["server_now_ms"] and state["connection"].startswith("tab1.")

    @pytest.mark.parametrize("headers", [{}, {"origin": "http://evil.example"}, {"origin": "null"}])
    def test_a_foreign_or_missing_origin_is_closed_4403(self, candidate, db_engine, headers):
        with _connect(candidate, candidate.sitting, headers=headers) as socket:
            assert _close_code(socket) == CloseCode.forbidden
        with Session(db_engine) as session:
            assert session.exec(select(ProctoringEvent)).all() == [], "nothing written"

    def test_not_signed_in_is_closed_4401(self, app, candidate):
        stranger = TestClient(app)
        with stranger.websocket_connect(f"/ws/candidate/{candidate.sitting}", headers=ORIGIN) as socket:
            assert _close_code(socket) == CloseCode.not_signed_in

    def test_another_candidates_sitting_is_closed_4404(self, app, candidate, db_engine):
        other = Visitor(TestClient(app, follow_redirects=False))
        other_sitting = _start(other, "candidate2")
        with _connect(candidate, other_sitting) as socket:
            assert _close_code(socket) == CloseCode.not_found
        with Session(db_engine) as session:
            assert session.exec(select(ProctoringEvent)).all() == []

    def test_a_sitting_not_started_is_closed_4409(self, app, demo, db_engine):
        visitor = Visitor(TestClient(app, follow_redirects=False)).login("candidate3")
        sitting = int(re.search(r"/candidate/sessions/(\d+)/start", visitor.get("/candidate").text).group(1))
        with _connect(visitor, sitting) as socket:
            assert _close_code(socket) == CloseCode.not_active

    def test_a_supervisor_may_not_open_a_candidate_socket(self, supervisor, candidate):
        with _connect(supervisor, candidate.sitting) as socket:
            assert _close_code(socket) == CloseCode.forbidden

    def test_a_candidate_may_not_watch_the_room(self, candidate, db_engine):
        url = f"/ws/supervisor/sessions/{_exam_session_id(db_engine)}"
        with candidate.client.websocket_connect(url, headers=ORIGIN) as socket:
            assert _close_code(socket) == CloseCode.forbidden

    def test_unknown_room_is_closed_4404(self, supervisor):
        with supervisor.client.websocket_connect("/ws/supervisor/sessions/99999", headers=ORIGIN) as socket:
            assert _close_code(socket) == CloseCode.not_found


class TestProtocolFuzz:
    @pytest.mark.parametrize("frame, code", [
        ("not json", CloseCode.malformed),
        ("[1, 2]", CloseCode.malformed),
        ('{"no": "type"}', CloseCode.malformed),
        ('{"type": 5}', CloseCode.malformed),
        ('{"type": "integrity", "kind": "page_hidden", "sitting": 999999}', CloseCode.forbidden),
        ("{" + " " * MAX_FRAME + "}", CloseCode.too_big),
        ('{"type": "integrity", "kind": "page_hidden", "detail": {"x": "' + "y" * MAX_FRAME + '"}}',
         CloseCode.too_big),
    ])
    def test_bad_frames_close_with_a_clear_code_and_write_nothing(self, candidate, db_engine, frame, code):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            before = _written(db_engine)
            socket.send_text(frame)
            assert _close_code(socket) == code
        assert _written(db_engine) == before

    def test_binary_frames_close_1003(self, candidate, db_engine):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            before = _written(db_engine)
            socket.send_bytes(b'{"type": "heartbeat"}')
            assert _close_code(socket) == CloseCode.unsupported_data
        assert _written(db_engine) == before

    @pytest.mark.parametrize("message", [
        {"type": "launch_missiles"},
        {"type": "integrity", "kind": "paused"},
        {"type": "integrity", "kind": "connected"},
        {"type": "integrity", "kind": "page_hidden", "detail": {"nested": {"a": 1}}},
        {"type": "integrity", "kind": "page_hidden", "detail": [1, 2]},
        {"type": "ack", "command": "1"},
        {"type": "ack", "command": 999999},
        {"type": "ack", "command": True},
    ])
    def test_refused_messages_get_an_error_frame_and_the_socket_keeps_serving(self, candidate, db_engine, message):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            before = _written(db_engine)
            socket.send_json(message)
            error = socket.receive_json()
            assert error["type"] == "error" and error["code"] == 4422 and error["detail"]
            socket.send_json({"type": "heartbeat"})
            assert socket.receive_json()["type"] == "heartbeat_ack"
        assert _written(db_engine) == before

    def test_too_many_refusals_close_the_socket(self, candidate):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            for _ in range(MAX_ERRORS):
                socket.send_json({"type": "nonsense"})
                assert socket.receive_json()["type"] == "error"
            socket.send_json({"type": "nonsense"})
            assert _close_code(socket) == CloseCode.too_many_errors

    def test_the_server_keeps_serving_others_after_a_bad_client(self, app, candidate):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            socket.send_text("garbage")
            assert _close_code(socket) == CloseCode.malformed
        other = Visitor(TestClient(app, follow_redirects=False))
        sitting = _start(other, "candidate2")
        with _connect(other, sitting) as socket:
            assert socket.receive_json()["status"] == "in_progress"


class TestIntegrityEvidence:
    def test_integrity_event_is_stored_and_reaches_the_supervisors_row(self, candidate, supervisor, db_engine):
        room = f"/ws/supervisor/sessions/{_exam_session_id(db_engine)}"
        with supervisor.client.websocket_connect(room, headers=ORIGIN) as watch:
            table = watch.receive_text()
            assert 'id="roster-body" hx-swap-oob="true"' in table
            with _connect(candidate, candidate.sitting) as socket:
                socket.receive_json()
                row = watch.receive_text()  # the candidate came online
                assert f'id="row-{candidate.sitting}"' in row and 'data-presence="online"' in row
                assert 'hx-swap-oob="true"' in row
                socket.send_json({"type": "integrity", "kind": "window_blurred", "detail": {"ms": 900}})
                socket.send_json({"type": "heartbeat"})
                assert socket.receive_json()["type"] == "heartbeat_ack"
                watch.receive_text()  # the row after the event
        with Session(db_engine) as session:
            stored = session.exec(select(ProctoringEvent).where(ProctoringEvent.kind == "window_blurred")).one()
            assert stored.data == {"ms": 900} and stored.candidate_session_id == candidate.sitting

    def test_answers_push_the_row_with_progress(self, candidate, supervisor, db_engine):
        room = f"/ws/supervisor/sessions/{_exam_session_id(db_engine)}"
        with supervisor.client.websocket_connect(room, headers=ORIGIN) as watch:
            watch.receive_text()
            response = candidate.post(f"/candidate/sessions/{candidate.sitting}/items/1/answer",
                                      {"answer": "A", "seq": "7"}, htmx=True)
            assert response.status_code == 200
            row = watch.receive_text()
            assert "1 of 20 answered" in row


class TestCommands:
    def _command(self, supervisor, sitting, **form):
        return supervisor.post(f"/supervisor/sittings/{sitting}/commands", form, htmx=True)

    def test_pause_reaches_the_page_and_is_acknowledged(self, candidate, supervisor, db_engine):
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            assert self._command(supervisor, candidate.sitting, kind="pause", reason="fire drill").status_code == 200
            command = socket.receive_json()
            assert command["type"] == "command" and command["kind"] == "paused" and command["paused"] is True
            assert command["reason"] == "fire drill" and command["status"] == "paused"
            socket.send_json({"type": "ack", "command": command["id"]})
            socket.send_json({"type": "heartbeat"})
            assert socket.receive_json()["type"] == "heartbeat_ack"
        page = supervisor.get(f"/supervisor/sittings/{candidate.sitting}")
        assert 'data-command="paused" data-command-state="applied"' in page.text
        assert 'data-kind="command_delivered"' in page.text and 'data-kind="command_applied"' in page.text

    def test_a_command_for_an_offline_page_is_queued_and_delivered_on_connect(self, candidate, supervisor):
        assert self._command(supervisor, candidate.sitting, kind="warn", reason="eyes front").status_code == 200
        row = supervisor.get(f"/supervisor/sittings/{candidate.sitting}").text
        assert 'data-command-state="issued"' in row
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()  # state
            queued = socket.receive_json()
            assert queued["kind"] == "warned" and queued["reason"] == "eyes front"
            socket.send_json({"type": "heartbeat"})  # answered once the queue is delivered and recorded
            assert socket.receive_json()["type"] == "heartbeat_ack"
        with _connect(candidate, candidate.sitting) as socket:
            socket.receive_json()
            socket.send_json({"type": "heartbeat"})
            assert socket.receive_json()["type"] == "heartbeat_ack", "delivered once, not again"

    def test_extend_and_terminate(self, candidate, supervisor, db_engine):
        with _connect(candidate, candidate.sitting) as socket:
            state = socket.receive_json()
            self._command(supervisor, candidate.sitting, kind="update", reason="power cut", minutes="10")
            extended = socket.receive_json()
            assert extended["kind"] == "time_extended" and extended["minutes"] == 10
            assert extended["deadline_ms"] == state["deadline_ms"] + 10 * 60_000
            self._command(supervisor, candidate.sitting, kind="terminate", reason="notes found")
            ended = socket.receive_json()
            assert ended["kind"] == "terminated" and ended["status"] == "submitted"
        with Session(db_engine) as session:
            sitting = session.get(CandidateSession, candidate.sitting)
            assert sitting.status == CandidateSessionStatus.submitted and sitting.submit_reason == "terminated"

    @pytest.mark.parametrize("form, status", [
        ({"kind": "pause", "reason": "  "}, 422),
        ({"kind": "update", "reason": "x", "minutes": "0"}, 422),
        ({"kind": "explode", "reason": "x"}, 422),
        ({"kind": "resume", "reason": "not paused"}, 409),
        ({"kind": "flag", "reason": "x", "severity": "huge", "category": "other"}, 422),
    ])
    def test_bad_commands_are_refused_and_write_nothing(self, candidate, supervisor, db_engine, form, status):
        before = _written(db_engine)
        response = self._command(supervisor, candidate.sitting, **form)
        assert response.status_code == status
        assert _written(db_engine) == before

    def test_commands_need_the_csrf_token(self, candidate, supervisor, db_engine):
        before = _written(db_engine)
        response = supervisor.client.post(f"/supervisor/sittings/{candidate.sitting}/commands",
                                          data={"kind": "pause", "reason": "x"})
        assert response.status_code == 403 and _written(db_engine) == before

    def test_room_wide_pause_and_resume(self, app, candidate, supervisor, db_engine):
        other = Visitor(TestClient(app, follow_redirects=False))
        _start(other, "candidate2")
        room = _exam_session_id(db_engine)
        paused = supervisor.post(f"/supervisor/sessions/{room}/commands", {"kind": "pause", "reason": "alarm"},
                                 htmx=True)
        assert paused.status_code == 200 and "2 candidates" in paused.text
        with Session(db_engine) as session:
            statuses = session.exec(select(CandidateSession.status).where(
                CandidateSession.exam_session_id == room)).all()
        assert sorted(s.value for s in statuses) == ["paused", "paused", "scheduled"]
        resumed = supervisor.post(f"/supervisor/sessions/{room}/commands", {"kind": "resume", "reason": "ok"},
                                  htmx=True)
        assert "2 candidates" in resumed.text
        terminate = supervisor.post(f"/supervisor/sessions/{room}/commands",
                                    {"kind": "terminate", "reason": "no"}, htmx=True)
        assert terminate.status_code == 403, "a whole room is never terminated with one click"

    def test_paused_page_reload_shows_the_overlay_and_a_frozen_timer(self, candidate, supervisor):
        self._command(supervisor, candidate.sitting, kind="pause", reason="check")
        page = candidate.get(f"/candidate/sessions/{candidate.sitting}/items/1")
        assert page.status_code == 200
        overlay = re.search(r'<div class="proctor-overlay" id="proctor-paused"[^>]*>', page.text).group(0)
        assert "hidden" not in overlay
        assert 'data-paused="true"' in page.text
        refused = candidate.post(f"/candidate/sessions/{candidate.sitting}/items/1/answer",
                                 {"answer": "A", "seq": "9"}, htmx=True)
        assert refused.status_code == 409


class TestSecondConnection:
    def test_a_second_tab_supersedes_the_first(self, candidate, db_engine):
        with _connect(candidate, candidate.sitting, tab="first") as first:
            first.receive_json()
            with _connect(candidate, candidate.sitting, tab="second") as second:
                assert second.receive_json()["type"] == "state"
                assert first.receive_json()["type"] == "superseded"
                assert _close_code(first) == CloseCode.superseded
        with Session(db_engine) as session:
            assert session.exec(select(ProctoringEvent).where(
                ProctoringEvent.kind == "second_connection_opened")).one()

    def test_the_same_tab_reconnecting_is_not_a_second_connection(self, candidate, db_engine):
        for _ in range(3):
            with _connect(candidate, candidate.sitting, tab="same") as socket:
                socket.receive_json()
        with Session(db_engine) as session:
            kinds = session.exec(select(ProctoringEvent.kind)).all()
        assert "second_connection_opened" not in kinds and kinds.count("connected") == 3


class TestTimelinePage:
    def test_timeline_shows_facts_without_answer_content(self, candidate, supervisor):
        candidate.post(f"/candidate/sessions/{candidate.sitting}/items/1/answer", {"answer": "C", "seq": "3"},
                       htmx=True)
        self._flag(supervisor, candidate.sitting)
        page = supervisor.get(f"/supervisor/sittings/{candidate.sitting}")
        assert page.status_code == 200
        timeline = re.search(r'<table class="striped" data-testid="timeline">.*?</table>', page.text, re.S).group(0)
        assert 'data-kind="session.started"' in timeline and 'data-kind="response.recorded"' in timeline
        assert 'data-kind="incident_flagged"' in timeline and "position=1" in timeline
        assert "answer" not in json.dumps(re.findall(r'data-kind="response.recorded".*?</tr>', timeline, re.S))

    def _flag(self, supervisor, sitting):
        response = supervisor.post(f"/supervisor/sittings/{sitting}/commands",
                                   {"kind": "flag", "reason": "phone visible", "severity": "high",
                                    "category": "device_misuse"}, htmx=True)
        assert response.status_code == 200
