"""The candidate's theory sitting through HTTP, on both databases."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from engine.models import AuditEntry, CandidateSession, CandidateSessionStatus, Response, Result
from engine.results import service as results


def _start(visitor) -> tuple[int, str]:
    page = visitor.get("/candidate")
    assert page.status_code == 200
    sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", page.text).group(1))
    response = visitor.post(f"/candidate/sessions/{sitting_id}/start")
    assert response.status_code == 303
    first = visitor.get(response.headers["location"], follow_redirects=True)
    assert first.status_code == 200
    return sitting_id, first.text


def _part_note(page: str) -> str:
    return page.split('data-testid="part-note"')[1].split("</p>")[0]


def _rows(db_engine, model, **where):
    with Session(db_engine) as session:
        query = select(model)
        for field, value in where.items():
            query = query.where(getattr(model, field) == value)
        return session.exec(query).all()


class TestCandidateSitting:
    def test_answer_is_stored_and_confirmed(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting_id, page = _start(visitor)
        assert 'data-testid="item"' in page
        response = visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer",
                                {"answer": "B", "seq": "5"}, htmx=True)
        assert response.status_code == 200, response.text
        assert 'data-seq="5"' in response.text and 'hx-swap-oob="true"' in response.text
        stored = _rows(db_engine, Response, candidate_session_id=sitting_id)
        assert [(r.position, r.answer, r.client_seq) for r in stored] == [(1, ["B"], 5)]

    def test_resend_with_same_or_older_sequence_changes_nothing(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        url = f"/candidate/sessions/{sitting_id}/items/1/answer"
        visitor.post(url, {"answer": "C", "seq": "10"}, htmx=True)
        replay = visitor.post(url, {"answer": "A", "seq": "9"}, htmx=True)
        assert replay.status_code == 200 and 'data-seq="10"' in replay.text
        assert _rows(db_engine, Response, candidate_session_id=sitting_id)[0].answer == ["C"]

    def test_reload_shows_stored_answer_and_resumes_position(self, visitor, demo):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        visitor.post(f"/candidate/sessions/{sitting_id}/items/3/answer", {"answer": "D", "seq": "1"}, htmx=True)
        resumed = visitor.get(f"/candidate/sessions/{sitting_id}", follow_redirects=True)
        assert 'data-position="3"' in resumed.text
        assert re.search(r'value="D"\s+checked', resumed.text)

    def test_submit_scores_on_0_to_100(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        response = visitor.post(f"/candidate/sessions/{sitting_id}/submit")
        assert response.headers["location"].endswith("/result")
        page = visitor.get(response.headers["location"])
        assert 'data-testid="score"' in page.text
        (result,) = _rows(db_engine, Result, candidate_session_id=sitting_id)
        assert result.score == 0.0 and not result.passed

    def test_result_page_says_the_certification_result_comes_with_publication(self, visitor, demo, db_engine, clock):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        result_url = visitor.post(f"/candidate/sessions/{sitting_id}/submit").headers["location"]
        before = _part_note(visitor.get(result_url).text)
        assert "once the certification body publishes it" in before and 'href="/candidate/results"' not in before
        (sitting,) = _rows(db_engine, CandidateSession, id=sitting_id)
        with Session(db_engine) as session:
            results.publish(session, sitting.exam_session_id, "admin", clock())
            session.commit()
        assert 'href="/candidate/results"' in _part_note(visitor.get(result_url).text)

    def test_answer_after_deadline_is_refused_and_recorded(self, visitor, demo, db_engine, clock):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        clock.advance(minutes=31)
        response = visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer",
                                {"answer": "B", "seq": "3"}, htmx=True)
        assert response.status_code == 409
        assert "time for this exam is over" in response.text
        assert _rows(db_engine, Response, candidate_session_id=sitting_id) == []
        (sitting,) = _rows(db_engine, CandidateSession, id=sitting_id)
        assert sitting.status == CandidateSessionStatus.submitted and sitting.submit_reason == "deadline"
        assert _rows(db_engine, AuditEntry, action="response.refused")


class TestConcurrentFinish:
    def test_sweeper_and_request_racing_at_the_deadline_give_one_result(self, visitor, demo, db_engine, clock, app):
        """The request settles the sitting while the sweeper runs at the same moment: one result."""
        import threading

        from web.app import _sweep_once

        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        clock.advance(minutes=31)
        errors = []

        def sweep():
            try:
                _sweep_once(app)
            except Exception as exc:  # noqa: BLE001 — any failure is the bug under test
                errors.append(exc)

        sweepers = [threading.Thread(target=sweep) for _ in range(3)]
        for thread in sweepers:
            thread.start()
        page = visitor.get(f"/candidate/sessions/{sitting_id}/result")
        for thread in sweepers:
            thread.join()
        assert page.status_code == 200 and errors == []
        assert len(_rows(db_engine, Result, candidate_session_id=sitting_id)) == 1

    def test_double_submission_returns_the_same_result(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        first = visitor.post(f"/candidate/sessions/{sitting_id}/submit")
        second = visitor.post(f"/candidate/sessions/{sitting_id}/submit")
        assert first.status_code == second.status_code == 303
        assert len(_rows(db_engine, Result, candidate_session_id=sitting_id)) == 1


class TestRichText:
    def test_stem_with_markup_characters_is_shown_once_escaped_and_scripts_never_run(self, visitor, demo, db_engine):
        """Stems are stored sanitized; the candidate sees `<` and `&` as text and no script survives."""
        from itembank.models import ItemVersion
        from itembank.sanitize import clean_html

        visitor.login("candidate")
        sitting_id, _ = _start(visitor)
        with Session(db_engine) as session:
            from engine.models import SessionItem

            line = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting_id,
                                                          SessionItem.position == 1)).one()
            version = session.get(ItemVersion, line.item_version_id)
            stem = clean_html('当 U < 36 V & I > 0 时<script>alert(1)</script><b>注意</b>')
            session.execute(ItemVersion.__table__.update().where(ItemVersion.__table__.c.id == version.id)
                            .values(stem=stem))
            session.commit()
        page = visitor.get(f"/candidate/sessions/{sitting_id}/items/1").text
        assert "当 U &lt; 36 V &amp; I &gt; 0 时" in page and "<b>注意</b>" in page
        assert "&amp;lt;" not in page and "<script>alert" not in page
