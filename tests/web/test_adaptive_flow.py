"""The adaptive sitting through the web: one item at a time, resume after a dropped session.

The demo's adaptive exam (web/demo/adaptive.py) is scheduled for a fresh candidate; the
candidate answers a few items, the browser session is dropped, a new session signs in
and continues with the same next item, and the final result equals a straight replay of
the stored responses from the sitting's seed on a freshly built design.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from engine import administration
from engine.adaptive import design as adaptive_design
from engine.adaptive import service as adaptive
from engine.adaptive.models import AdaptiveSitting
from engine.cat import Response as CATResponse
from engine.identity import check_character
from engine.models import AuditEntry, CandidateSession, ExamDefinition, Result, Room, SessionItem
from itembank.models import Item, ItemVersion
from itembank.timeutil import utcnow
from tests.conftest import Visitor
from web.demo.seed import seed

ABILITY = 0.4  # the simulee answering


@pytest.fixture
def sitting_id(db_engine) -> int:
    """The demo with its adaptive exam, scheduled now for candidate 'cat1'."""
    with Session(db_engine, expire_on_commit=False) as session:
        seed(session, adaptive=True)
        definition = session.exec(select(ExamDefinition).where(ExamDefinition.theory_mode == "adaptive")).one()
        room = session.exec(select(Room)).first()
        exam_session = administration.create_exam_session(session, definition.id, room.id, "自适应场次", utcnow(), "t")
        first17 = "37010219920218035"
        sitting = administration.enrol(session, exam_session.id, "王磊", first17 + check_character(first17), "t",
                                       username="cat1", password="cat1-demo")
        session.commit()
        return sitting.id


def pending(page_html: str) -> int:
    return int(re.search(r'data-testid="item" data-position="(\d+)"', page_html).group(1))


def answer_of(db_engine, sitting: int, position: int, rng: np.random.Generator) -> tuple[list[str], int]:
    """What a simulee of ABILITY answers at ``position`` (pretest items: by a coin), and the item id."""
    with Session(db_engine) as session:
        line = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting,
                                                      SessionItem.position == position)).one()
        version = session.get(ItemVersion, line.item_version_id)
        item = session.get(Item, version.item_id)
        record = session.exec(select(AdaptiveSitting).where(AdaptiveSitting.candidate_session_id == sitting)).one()
        params = {p["id"]: p for p in record.design["bank"]}.get(str(item.id))
    p = 0.5 if params is None else 1 / (1 + math.exp(-(params["a"] * ABILITY + params["d"][0])))
    if rng.random() < p:
        return list(version.key), item.id
    wrong = [o["id"] for o in version.options if o["id"] not in version.key]
    return [wrong[0]], item.id


def answer_and_go_on(visitor: Visitor, db_engine, sitting: int, rng, seq: int) -> tuple[int, int, str]:
    page = visitor.get(f"/candidate/sessions/{sitting}/adaptive")
    assert page.status_code == 200, page.text
    position = pending(page.text)
    assert 'class="nav-grid"' not in page.text and 'data-testid="previous"' not in page.text  # no navigator
    answer, item_id = answer_of(db_engine, sitting, position, rng)
    saved = visitor.post(f"/candidate/sessions/{sitting}/adaptive/{position}/answer",
                         {"seq": str(seq), "answer": answer}, htmx=True)
    assert saved.status_code == 200 and f'data-seq="{seq}"' in saved.text
    again = visitor.post(f"/candidate/sessions/{sitting}/adaptive/{position}/answer",
                         {"seq": str(seq), "answer": answer}, htmx=True)  # a re-sent request
    assert again.status_code == 200 and f'data-seq="{seq}"' in again.text
    went = visitor.post(f"/candidate/sessions/{sitting}/adaptive/{position}/next", {})
    assert went.status_code == 303
    return position, item_id, went.headers["location"]


def new_visitor(app) -> Visitor:
    return Visitor(TestClient(app, follow_redirects=False)).login("cat1")


def test_resume_after_disconnect_continues_with_the_same_item_and_the_result_replays(app, db_engine, sitting_id):
    rng = np.random.default_rng(11)
    first = new_visitor(app)
    started = first.post(f"/candidate/sessions/{sitting_id}/start", {})
    assert started.status_code == 303
    assert first.get(started.headers["location"]).headers["location"] == f"/candidate/sessions/{sitting_id}/adaptive"
    for k in range(4):
        position, _item, where = answer_and_go_on(first, db_engine, sitting_id, rng, 100 + k)
        assert position == k + 1 and where.endswith("/adaptive")
    shown_before_drop = pending(first.get(f"/candidate/sessions/{sitting_id}/adaptive").text)
    # a committed step cannot be re-answered, and a repeated "next" changes nothing
    late = first.post(f"/candidate/sessions/{sitting_id}/adaptive/2/answer", {"seq": "999", "answer": ["A"]},
                      htmx=True)
    assert late.status_code == 409
    assert first.post(f"/candidate/sessions/{sitting_id}/adaptive/4/next", {}).status_code == 303
    with Session(db_engine) as session:
        stored_next = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting_id,
                                                             SessionItem.position == 5)).one()
        assert session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting_id,
                                                      SessionItem.position == 6)).first() is None
    first.client.close()  # the browser is gone

    adaptive_design.clear_caches()  # as if the server restarted too
    second = new_visitor(app)
    resumed = second.get(f"/candidate/sessions/{sitting_id}")
    assert resumed.headers["location"] == f"/candidate/sessions/{sitting_id}/adaptive"
    assert second.get(f"/candidate/sessions/{sitting_id}/items/1").headers["location"].endswith("/adaptive")
    page = second.get(f"/candidate/sessions/{sitting_id}/adaptive").text
    assert pending(page) == shown_before_drop == 5
    with Session(db_engine) as session:
        assert session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting_id,
                                                      SessionItem.position == 5)).one().id == stored_next.id
    seq, where = 200, ""
    while not where.endswith("/result"):
        seq += 1
        _position, _item, where = answer_and_go_on(second, db_engine, sitting_id, rng, seq)
        assert seq < 260, "the test never stopped"
    result_page = second.get(f"/candidate/sessions/{sitting_id}/result")
    assert result_page.status_code == 200 and 'data-testid="theta"' in result_page.text

    adaptive_design.clear_caches()
    with Session(db_engine) as session:
        record = session.exec(select(AdaptiveSitting).where(AdaptiveSitting.candidate_session_id == sitting_id)).one()
        steps = adaptive.steps_of(session, record)
        result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
        sitting = session.get(CandidateSession, sitting_id)
        audited = session.exec(select(AuditEntry.action).where(AuditEntry.entity_id == str(sitting_id))).all()
    built = adaptive_design.runner_for(record.design, record.exposure)
    straight = built.runner.replay(record.seed, [CATResponse(str(s.item_id), s.score, s.seconds) for s in steps],
                                   record.design["seen"])
    outcome = built.runner.result(straight, built.scale)
    assert straight.finished and sitting.submit_reason == "adaptive_stop"
    assert [r.item_id for r in straight.responses] == [str(s.item_id) for s in steps]
    assert list(straight.theta_trail[1:]) == [s.theta for s in steps if not s.pretest]
    assert (outcome.theta, outcome.se) == (record.theta, record.se)
    assert result.score == round(outcome.score, 1) and result.passed == outcome.passed
    assert result.max_points == outcome.n_scored == record.n_scored and record.n_pretest == 1
    assert f"{outcome.theta:.2f}" in result_page.text and f">{outcome.n_scored}<" in result_page.text
    assert audited.count("adaptive.step") == len(steps) and audited.count("session.submitted") == 1


def test_the_sitting_ends_at_the_deadline_with_the_saved_answer_counted(app, db_engine, sitting_id, clock):
    visitor = new_visitor(app)
    visitor.post(f"/candidate/sessions/{sitting_id}/start", {})
    answer_and_go_on(visitor, db_engine, sitting_id, np.random.default_rng(3), 10)
    page = visitor.get(f"/candidate/sessions/{sitting_id}/adaptive").text
    position = pending(page)
    assert visitor.post(f"/candidate/sessions/{sitting_id}/adaptive/{position}/answer",
                        {"seq": "20", "answer": ["A"]}, htmx=True).status_code == 200
    clock.advance(hours=2)
    assert visitor.get(f"/candidate/sessions/{sitting_id}/adaptive").headers["location"].endswith("/result")
    with Session(db_engine) as session:
        record = session.exec(select(AdaptiveSitting).where(AdaptiveSitting.candidate_session_id == sitting_id)).one()
        steps = adaptive.steps_of(session, record)
        sitting = session.get(CandidateSession, sitting_id)
    assert sitting.submit_reason == "deadline" and record.finished
    assert [s.position for s in steps] == [1, 2] and all(s.score is not None for s in steps)  # the saved answer counts


def test_adaptive_sittings_have_no_review_page_to_go_back_through(app, sitting_id):
    visitor = new_visitor(app)
    assert visitor.post(f"/candidate/sessions/{sitting_id}/start", {}).status_code == 303
    for path in (f"/candidate/sessions/{sitting_id}/review", f"/candidate/sessions/{sitting_id}/items/1"):
        went = visitor.get(path)
        assert went.status_code == 303 and went.headers["location"] == f"/candidate/sessions/{sitting_id}/adaptive"
