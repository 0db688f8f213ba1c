"""Supervisor pages through HTTP: exam sessions with counts, and the roster."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from engine import administration
from engine.models import ExamSession, Room
from itembank.timeutil import utcnow
from web.demo.seed import resident_id


def _exam_session_id(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(ExamSession.id)).one()


def _start_as(visitor, username: str) -> int:
    visitor.login(username)
    sitting = int(re.search(r"/candidate/sessions/(\d+)/start", visitor.get("/candidate").text).group(1))
    assert visitor.post(f"/candidate/sessions/{sitting}/start").status_code == 303
    return sitting


def _row(html: str, sitting: int) -> str:
    match = re.search(rf'<tr data-testid="roster-row" data-sitting="{sitting}".*?</tr>', html, re.S)
    assert match, f"no roster row for sitting {sitting}"
    return match.group(0)


@pytest.fixture(autouse=True)
def _english(client):
    """Assertions read English text; the default locale's catalog is filled elsewhere."""
    client.cookies.set("skillcert_locale", "en")

@pytest.fixture
def supervisor(visitor, demo):
    return visitor.login("supervisor")


class TestExamSessionList:
    def test_lists_todays_session_with_counts(self, supervisor, db_engine):
        page = supervisor.get("/supervisor")
        assert page.status_code == 200
        exam_session_id = _exam_session_id(db_engine)
        row = re.search(rf'data-exam-session="{exam_session_id}".*?</tr>', page.text, re.S).group(0)
        assert 'data-count="enrolled">3<' in row and 'data-count="scheduled">3<' in row
        assert 'data-count="in_progress">0<' in row

    def test_todays_sessions_come_before_others(self, supervisor, db_engine, clock):
        with Session(db_engine, expire_on_commit=False) as session:
            today = session.get(ExamSession, _exam_session_id(db_engine))
            room = session.exec(select(Room)).first()
            created = [administration.create_exam_session(session, today.exam_definition_id, room.id, title,
                                                          today.starts_at + timedelta(days=days), "test")
                       for title, days in (("上周场次", -7), ("下周场次", 7))]
            session.commit()
            last_week, next_week = (c.id for c in created)
        # the server's today is the demo session's day, even just after midnight
        clock.advance(seconds=(today.starts_at + timedelta(minutes=1) - utcnow()).total_seconds())
        order = [int(i) for i in re.findall(r'data-exam-session="(\d+)"', supervisor.get("/supervisor").text)]
        assert order == [today.id, next_week, last_week]


class TestRoster:
    def test_roster_lists_every_candidate_with_masked_id(self, supervisor, db_engine):
        page = supervisor.get(f"/supervisor/sessions/{_exam_session_id(db_engine)}")
        assert page.status_code == 200
        assert page.text.count('data-testid="roster-row"') == 3
        number = resident_id("370102", "19900315", "011")
        assert "张伟" in page.text and f"370102********{number[-4:]}" in page.text
        assert number not in page.text, "the full resident ID is never shown"
        exam_session_id = _exam_session_id(db_engine)
        assert f'hx-ext="ws" ws-connect="/ws/supervisor/sessions/{exam_session_id}"' in page.text, \
            "the roster is live over the htmx WebSocket extension, not polled"

    def test_roster_shows_the_candidate_after_they_start(self, visitor, demo, db_engine, client):
        sitting = _start_as(visitor, "candidate")
        visitor.post(f"/candidate/sessions/{sitting}/items/1/answer", {"answer": "A", "seq": "1"}, htmx=True)
        visitor.post("/logout")
        visitor.login("supervisor")
        fragment = visitor.get(f"/supervisor/sessions/{_exam_session_id(db_engine)}", headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert fragment.text.lstrip().startswith('<div id="roster"'), "an htmx request gets the roster block"
        row = _row(fragment.text, sitting)
        assert 'data-status="in_progress"' in row and "张伟" in row and ">Sitting<" in row
        assert "1 of 20 answered" in row
        seconds = int(re.search(r'data-seconds-left="(\d+)"', row).group(1))
        assert 29 * 60 < seconds <= 30 * 60

    def test_roster_shows_the_score_after_submission(self, visitor, demo, db_engine):
        sitting = _start_as(visitor, "candidate2")
        visitor.post(f"/candidate/sessions/{sitting}/submit")
        visitor.post("/logout")
        visitor.login("supervisor")
        row = _row(visitor.get(f"/supervisor/sessions/{_exam_session_id(db_engine)}").text, sitting)
        assert 'data-status="submitted"' in row and re.search(r'data-testid="score">0\.0<', row)

    def test_unknown_exam_session_is_404(self, supervisor):
        assert supervisor.get("/supervisor/sessions/99999").status_code == 404

    def test_candidates_and_examiners_are_refused(self, visitor, demo, db_engine):
        visitor.login("examiner")
        assert visitor.get("/supervisor").status_code == 403
        assert visitor.get(f"/supervisor/sessions/{_exam_session_id(db_engine)}").status_code == 403
