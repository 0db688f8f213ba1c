"""Bad input gets a clear 4xx and leaves the database exactly as it was."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from tests.conftest import Visitor


def snapshot(db_engine) -> dict[str, int]:
    """Row counts of every table plus the stored answers, to compare before and after."""
    with Session(db_engine) as session:
        counts = {table.name: session.exec(select(func.count()).select_from(table)).one()
                  for table in SQLModel.metadata.sorted_tables}
        from engine.models import Response

        counts["answers"] = hash(tuple(sorted((r.candidate_session_id, r.position, tuple(r.answer), r.client_seq)
                                              for r in session.exec(select(Response)).all())))
    return counts


def started(visitor: Visitor) -> int:
    page = visitor.get("/candidate")
    sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", page.text).group(1))
    visitor.post(f"/candidate/sessions/{sitting_id}/start")
    return sitting_id


@pytest.fixture
def sitting(visitor, demo, db_engine):
    visitor.login("candidate")
    sitting_id = started(visitor)
    visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer", {"answer": "A", "seq": "1"}, htmx=True)
    return sitting_id


class TestBadInput:
    def test_answer_for_another_candidates_session_is_refused(self, app, sitting, db_engine):
        from fastapi.testclient import TestClient

        with TestClient(app, follow_redirects=False) as other_client:
            intruder = Visitor(other_client).login("candidate2")
            before = snapshot(db_engine)
            response = intruder.post(f"/candidate/sessions/{sitting}/items/1/answer",
                                     {"answer": "B", "seq": "99"}, htmx=True)
            assert response.status_code == 404 and f"exam sitting {sitting} not found" in response.text
            replayed = intruder.post(f"/candidate/sessions/{sitting}/submit")
            assert replayed.status_code == 404
        assert snapshot(db_engine) == before

    def test_option_that_does_not_exist(self, visitor, sitting, db_engine):
        before = snapshot(db_engine)
        response = visitor.post(f"/candidate/sessions/{sitting}/items/2/answer", {"answer": "Z", "seq": "2"}, htmx=True)
        assert response.status_code == 422 and "option 'Z' does not exist" in html.unescape(response.text)
        assert snapshot(db_engine) == before

    def test_two_answers_to_a_single_choice_item(self, visitor, sitting, db_engine):
        before = snapshot(db_engine)
        response = visitor.post(f"/candidate/sessions/{sitting}/items/2/answer",
                                {"answer": ["A", "B"], "seq": "2"}, htmx=True)
        assert response.status_code == 422 and "exactly one answer" in response.text
        assert snapshot(db_engine) == before

    def test_question_that_does_not_exist(self, visitor, sitting, db_engine):
        before = snapshot(db_engine)
        response = visitor.post(f"/candidate/sessions/{sitting}/items/999/answer", {"answer": "A", "seq": "2"},
                                htmx=True)
        assert response.status_code == 404 and "no question 999" in response.text
        assert snapshot(db_engine) == before

    @pytest.mark.parametrize("form, problem", [({"answer": "A"}, "seq"), ({"answer": "A", "seq": "abc"}, "seq"),
                                               ({"answer": "A", "seq": "-4"}, "out of range")])
    def test_malformed_form_post(self, visitor, sitting, db_engine, form, problem):
        before = snapshot(db_engine)
        response = visitor.post(f"/candidate/sessions/{sitting}/items/1/answer", form, htmx=True)
        assert response.status_code == 422 and problem in response.text
        assert snapshot(db_engine) == before

    def test_post_without_csrf_token(self, visitor, sitting, db_engine):
        before = snapshot(db_engine)
        response = visitor.client.post(f"/candidate/sessions/{sitting}/items/1/answer",
                                       data={"answer": "C", "seq": "50", "csrf_token": "forged"})
        assert response.status_code == 403 and "CSRF" in response.text
        assert snapshot(db_engine) == before

    def test_answer_after_the_deadline(self, visitor, sitting, db_engine, clock):
        clock.advance(minutes=40)
        before = snapshot(db_engine)
        response = visitor.post(f"/candidate/sessions/{sitting}/items/1/answer", {"answer": "D", "seq": "7"}, htmx=True)
        assert response.status_code == 409 and "not accepted" in response.text
        after = snapshot(db_engine)
        assert after["answers"] == before["answers"] and after["response"] == before["response"]

    def test_invalid_resident_id_at_enrolment_writes_nothing(self, db_engine, demo):
        from engine import administration
        from engine.errors import InvalidResidentIdError
        from engine.models import ExamSession

        before = snapshot(db_engine)
        with Session(db_engine) as session:
            exam_session = session.exec(select(ExamSession)).first()
            with pytest.raises(InvalidResidentIdError, match="check character is 1, expected X"):
                administration.enrol(session, exam_session.id, "王五", "110105194912310021", "admin",
                                     username="wangwu", password="wangwu-demo")
            session.rollback()
        assert snapshot(db_engine) == before


class TestCandidatesNeverSeeKeys:
    def test_item_pages_carry_no_key_or_explanation(self, visitor, sitting, db_engine):
        from itembank.models import ItemVersion

        with Session(db_engine) as session:
            explanations = [v.explanation for v in session.exec(select(ItemVersion)).all() if v.explanation]
        for position in range(1, 21):
            page = visitor.get(f"/candidate/sessions/{sitting}/items/{position}").text
            assert '"key"' not in page and "difficulty" not in page
            assert not any(explanation in page for explanation in explanations)
