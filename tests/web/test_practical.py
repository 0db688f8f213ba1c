"""The practical part over HTTP and WebSockets on both databases: the candidate performs the
electrician ticket through the action endpoint, refusals write nothing, examiners upload,
dry-run and replay, raters score independently, supervisors watch."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from starlette.websockets import WebSocketDisconnect

from engine.certification.models import PartScoreRecord
from engine.models import ExamSession, User
from engine.practical.models import PracticalAction, PracticalAttempt, PracticalTask, RaterScore, ScenarioVersion
from simulations.scenarios import builtin_path
from tests.conftest import Visitor
from tests.engine.practical.helpers import model_ticket

ORIGIN = {"origin": "http://testserver"}


def count(db_engine, model) -> int:
    with Session(db_engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def task_id(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(PracticalTask.id)).first()


def sitting_of(visitor: Visitor) -> int:
    page = visitor.get("/candidate/practical").text
    return int(re.search(r"/candidate/practical/sittings/(\d+)/tasks/", page).group(1))


def start(visitor: Visitor, db_engine, username: str = "candidate") -> int:
    visitor.login(username)
    sitting = sitting_of(visitor)
    response = visitor.post(f"/candidate/practical/sittings/{sitting}/tasks/{task_id(db_engine)}/start")
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def act(visitor: Visitor, attempt: int, action, args=None, raw: str | None = None):
    body = raw if raw is not None else json.dumps({"action": action, "args": args or {}})
    return visitor.client.post(f"/candidate/practical/{attempt}/actions", content=body,
                               headers={"Content-Type": "application/json", "X-CSRF-Token": visitor.csrf})


@pytest.fixture
def candidate(client, demo) -> Visitor:
    return Visitor(client)


class TestCandidate:
    def test_page_shows_the_generated_mimic_and_no_rubric(self, candidate, db_engine):
        attempt = start(candidate, db_engine)
        page = candidate.get(f"/candidate/practical/{attempt}")
        assert page.status_code == 200
        for control in ("QF1_handle", "QS1_handle", "QS2_handle", "earth_set", "tester"):
            assert f'data-control="{control}"' in page.text and 'role="button" tabindex="0"' in page.text
        assert 'class="box box-single_line"' in page.text
        assert "V1" not in page.text and "rubric" not in page.text  # vetoes and scoring rules stay on the server

    def test_the_model_ticket_through_the_endpoint_scores_100_and_sets_the_part(self, candidate, db_engine, clock):
        attempt = start(candidate, db_engine)
        elapsed = 0.0
        for entry in model_ticket():
            clock.advance(seconds=entry["t"] - elapsed)
            elapsed = entry["t"]
            response = act(candidate, attempt, entry["action"], entry["args"])
            assert response.status_code == 200, response.text
            assert response.json()["state"]["last_action"]["accepted"] is True
        assert response.json()["status"] == "scored"
        with Session(db_engine) as session:
            stored = session.get(PracticalAttempt, attempt)
            record = session.exec(select(PartScoreRecord)).one()
        assert (stored.score, stored.veto, record.score) == (100.0, False, 100.0)
        done = candidate.get(f"/candidate/practical/{attempt}")
        assert 'data-testid="practical-score">100.0<' in done.text

    def test_state_endpoint_follows_the_server_clock(self, candidate, db_engine, clock):
        attempt = start(candidate, db_engine)
        act(candidate, attempt, "don_ppe")
        clock.advance(seconds=30)
        state = candidate.get(f"/candidate/practical/{attempt}/state").json()["state"]
        assert state["time"] >= 30 and state["values"]["ppe_worn"] is True and state["remaining"] <= 1170


class TestCandidateRefusals:
    @pytest.mark.parametrize("action, args, raw, status, message", [
        ("fly", {}, None, 422, "unknown action 'fly'"),
        ("acknowledge", {"alarm": "NOPE"}, None, 422, "acknowledge"),
        (None, None, "not json", 422, "must be JSON"),
        (None, None, "[1, 2]", 422, "must be JSON"),
    ])
    def test_bad_actions_get_a_clear_error_and_nothing_is_written(self, candidate, db_engine, action, args, raw,
                                                                  status, message):
        attempt = start(candidate, db_engine)
        response = act(candidate, attempt, action, args, raw)
        assert response.status_code == status and message in response.json()["detail"]
        assert count(db_engine, PracticalAction) == 0

    def test_an_action_after_the_deadline_is_refused(self, candidate, db_engine, clock):
        attempt = start(candidate, db_engine)
        clock.advance(seconds=1201)
        response = act(candidate, attempt, "don_ppe")
        assert response.status_code == 409 and "time" in response.json()["detail"]
        assert count(db_engine, PracticalAction) == 0
        with Session(db_engine) as session:  # the overdue attempt itself is settled by the server
            assert session.get(PracticalAttempt, attempt).ended_by == "time_limit"

    def test_the_sweeper_ends_an_overdue_attempt_without_any_request(self, candidate, db_engine, clock, app):
        from web.app import _sweep_once

        attempt = start(candidate, db_engine)
        act(candidate, attempt, "don_ppe")
        clock.advance(seconds=1199)
        _sweep_once(app)
        with Session(db_engine) as session:
            assert session.get(PracticalAttempt, attempt).status.value == "running"
        clock.advance(seconds=2)
        _sweep_once(app)
        with Session(db_engine) as session:
            settled = session.get(PracticalAttempt, attempt)
            record = session.exec(select(PartScoreRecord)).one()
        assert (settled.status.value, settled.ended_by, settled.veto) == ("scored", "time_limit", True)
        assert record.veto is True  # the time-limit veto fails the practical part

    def test_another_candidates_attempt_is_not_found(self, client, demo, db_engine, app):
        owner = Visitor(client)
        attempt = start(owner, db_engine, "candidate")
        other = Visitor(TestClient(app, follow_redirects=False)).login("candidate2")
        assert other.get(f"/candidate/practical/{attempt}").status_code == 404
        response = act(other, attempt, "don_ppe")
        assert response.status_code == 404 and f"practical attempt {attempt} not found" in response.json()["detail"]
        assert count(db_engine, PracticalAction) == 0


class TestSockets:
    def test_candidate_socket_pushes_state_and_takes_actions(self, candidate, db_engine):
        attempt = start(candidate, db_engine)
        with candidate.client.websocket_connect(f"/ws/practical/{attempt}", headers=ORIGIN) as socket:
            first = json.loads(socket.receive_text())
            assert first["type"] == "state" and first["state"]["values"]["QF1"] == "closed"
            socket.send_text(json.dumps({"type": "action", "action": "don_ppe", "args": {}}))
            frame = json.loads(socket.receive_text())
            while frame["type"] != "receipt":
                frame = json.loads(socket.receive_text())
            assert frame["seq"] == 1 and frame["state"]["values"]["ppe_worn"] is True
            socket.send_text(json.dumps({"type": "action", "action": "nope"}))
            frame = json.loads(socket.receive_text())
            while frame["type"] != "error":
                frame = json.loads(socket.receive_text())
            assert frame["code"] == 4422 and "unknown action" in frame["detail"]
        assert count(db_engine, PracticalAction) == 1

    def test_supervisor_watches_read_only_and_sees_the_room(self, candidate, db_engine, app, clock):
        attempt = start(candidate, db_engine)
        act(candidate, attempt, "don_ppe")
        clock.advance(seconds=2)  # an action takes effect at the next tick boundary
        supervisor = Visitor(TestClient(app, follow_redirects=False)).login("supervisor")
        with supervisor.client.websocket_connect(f"/ws/practical/{attempt}", headers=ORIGIN) as socket:
            assert json.loads(socket.receive_text())["state"]["values"]["ppe_worn"] is True
            socket.send_text(json.dumps({"type": "action", "action": "open_QF1"}))
            frame = json.loads(socket.receive_text())
            while frame["type"] != "error":
                frame = json.loads(socket.receive_text())
            assert frame["code"] == 4403
        with Session(db_engine) as session:
            exam_session = session.exec(select(ExamSession.id)).one()
        with supervisor.client.websocket_connect(f"/ws/practical/monitor/{exam_session}", headers=ORIGIN) as socket:
            rows = json.loads(socket.receive_text())["rows"]
        mine = [t for row in rows for t in row["tasks"] if t["attempt"] == attempt]
        assert mine[0]["actions"] == 1 and mine[0]["last_action"] == "don_ppe" and mine[0]["status"] == "running"
        page = supervisor.get(f"/practical/monitor/{exam_session}")
        assert page.status_code == 200 and "don_ppe" in page.text
        with Session(db_engine) as session:
            sitting = session.get(PracticalAttempt, attempt).candidate_session_id
        timeline = supervisor.get(f"/supervisor/sittings/{sitting}")  # the proctoring timeline shows the steps
        assert timeline.status_code == 200 and timeline.text.count('data-kind="practical_progressed"') == 2
        assert count(db_engine, PracticalAction) == 1

    def test_a_stranger_cannot_open_the_socket(self, candidate, db_engine, app):
        attempt = start(candidate, db_engine)
        other = Visitor(TestClient(app, follow_redirects=False)).login("candidate2")
        with other.client.websocket_connect(f"/ws/practical/{attempt}", headers=ORIGIN) as socket:
            assert json.loads(socket.receive_text())["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as closed:
                socket.receive_text()
        assert closed.value.code == 4404


class TestExaminer:
    def test_upload_versions_and_a_rejected_file_names_line_and_field(self, client, demo, db_engine):
        examiner = Visitor(client).login("examiner")
        before = count(db_engine, ScenarioVersion)
        text = builtin_path("chemical-cstr-control").read_text("utf-8")
        bad = text.replace('"L >= 75"', '"L >= 75 + nope"')
        response = examiner.client.post("/examiner/scenarios", data={"csrf_token": examiner.csrf},
                                        files={"file": ("cstr_bad.yaml", bad.encode(), "text/yaml")})
        assert response.status_code == 422
        assert re.search(r"cstr_bad\.yaml:\d+: alarms\[0\]\.when: unknown name", response.text)
        assert count(db_engine, ScenarioVersion) == before
        response = examiner.client.post("/examiner/scenarios", data={"csrf_token": examiner.csrf},
                                        files={"file": ("cstr.yaml", text.encode(), "text/yaml")})
        assert response.status_code == 303
        page = examiner.get(response.headers["location"])
        assert "v1" in page.text and count(db_engine, ScenarioVersion) == before + 1

    def test_dry_run_shows_the_score_sheet_and_refuses_bad_lists(self, client, demo, db_engine):
        examiner = Visitor(client).login("examiner")
        with Session(db_engine) as session:
            scenario_id = session.exec(select(ScenarioVersion.scenario_id)).first()
        ok = examiner.post(f"/examiner/scenarios/{scenario_id}/dry-run",
                           {"actions": json.dumps(model_ticket()), "seed": "3"})
        assert ok.status_code == 200 and 'data-testid="sheet-total">100<' in ok.text
        bad = examiner.post(f"/examiner/scenarios/{scenario_id}/dry-run", {"actions": '[{"t": -1}]', "seed": "0"})
        assert bad.status_code == 422 and "entry 0: &#39;t&#39; must be a number of seconds" in bad.text

    def test_replay_of_a_candidates_attempt_matches(self, client, demo, db_engine, app, clock):
        candidate = Visitor(client)
        attempt = start(candidate, db_engine)
        act(candidate, attempt, "don_ppe")
        clock.advance(seconds=10)
        act(candidate, attempt, "open_QS2")  # a veto: under load
        act(candidate, attempt, "finish")
        examiner = Visitor(TestClient(app, follow_redirects=False)).login("examiner")
        page = examiner.get(f"/examiner/practical/attempts/{attempt}")
        assert page.status_code == 200 and 'data-matches="true"' in page.text
        assert 'data-line="V1" class="veto veto-triggered"' in page.text


class TestRaters:
    RUBRIC = {"criteria": [{"id": "C1", "text": "接线", "points": 50}, {"id": "C2", "text": "工艺", "points": 50}]}

    def test_assign_rate_independently_and_report(self, client, demo, db_engine, app):
        from engine.accounts import create_user
        from engine.models import Role

        with Session(db_engine) as session:
            for name in ("r1", "r2", "r3"):
                create_user(session, name, name.upper(), Role.examiner, f"{name}-demo-pass", "test")
            session.commit()
            definition = session.exec(select(ExamSession.exam_definition_id)).first()
            ids = {u.username: u.id for u in session.exec(select(User)).all()}
        admin = Visitor(client).login("admin")
        examiner = Visitor(TestClient(app, follow_redirects=False)).login("examiner")
        created = examiner.post(f"/examiner/practical/definitions/{definition}",
                                {"kind": "rated", "title": "接线实操", "weight": "1", "rubric": json.dumps(self.RUBRIC),
                                 "raters_required": "3", "spread_threshold": "20"})
        assert created.status_code == 303
        bad = examiner.post(f"/examiner/practical/definitions/{definition}",
                            {"kind": "rated", "title": "x", "rubric": "{not json"})
        assert bad.status_code == 422 and "not valid JSON" in bad.text
        with Session(db_engine) as session:
            task = session.exec(select(PracticalTask).where(PracticalTask.title == "接线实操")).one()
            sitting = session.exec(select(PracticalAttempt.candidate_session_id)).first()
        sitting = sitting or _first_sitting(db_engine)
        short = admin.post(f"/rating/tasks/{task.id}/assign", {"sitting_id": str(sitting), "raters": [str(ids["r1"])]})
        assert short.status_code == 422 and "needs 3 raters" in short.text
        assigned = admin.post(f"/rating/tasks/{task.id}/assign",
                              {"sitting_id": str(sitting), "raters": [str(ids[n]) for n in ("r1", "r2", "r3")]})
        assert assigned.status_code == 303
        raters = {n: Visitor(TestClient(app, follow_redirects=False)).login(n, f"{n}-demo-pass")
                  for n in ("r1", "r2", "r3")}
        forms = {n: int(re.search(r"/rating/forms/(\d+)", v.get("/rating").text).group(1)) for n, v in raters.items()}
        assert raters["r2"].get(f"/rating/forms/{forms['r1']}").status_code == 404  # not r2's form
        refused = raters["r1"].post(f"/rating/forms/{forms['r1']}", {"score_C1": "60", "score_C2": "10"})
        assert refused.status_code == 422 and "between 0 and 50" in refused.text
        assert count(db_engine, RaterScore) == 0
        for name, (c1, c2) in zip(("r1", "r2", "r3"), ((40, 40), (45, 40), (40, 45)), strict=True):
            ok = raters[name].post(f"/rating/forms/{forms[name]}", {"score_C1": str(c1), "score_C2": str(c2)})
            assert ok.status_code == 303
        assert "—" not in raters["r1"].get("/rating").text.split("data-assignment")[1][:200]  # own total shown
        with Session(db_engine) as session:
            attempt = session.exec(select(PracticalAttempt).where(PracticalAttempt.task_id == task.id)).one()
        assert attempt.score == pytest.approx(83.3)
        report = admin.get(f"/rating/tasks/{task.id}")
        assert report.status_code == 200 and 'data-testid="severity"' in report.text


def _first_sitting(db_engine) -> int:
    from engine.models import CandidateSession

    with Session(db_engine) as session:
        return session.exec(select(CandidateSession.id).order_by(CandidateSession.id)).first()
