"""The batched answer recorder (engine/answers.py) against the one-at-a-time ``record_answer``:
same stored answers, same refusals, an audit chain that verifies, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import object_session
from sqlmodel import select

from engine import audit, delivery
from engine.answers import AnswerRequest, PresentedLines, record_batch
from engine.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import AuditEntry, Candidate, CandidateSessionStatus, Response, SessionItem


def _request(sitting, position, answer, seq, at, user_id=None, role="candidate"):
    return AnswerRequest(sitting.id, user_id if user_id is not None else _owner(sitting), role, position, answer,
                         seq, at)


def _owner(sitting) -> int:
    return object_session(sitting).get(Candidate, sitting.candidate_id).user_id


def _options(db, sitting) -> dict[int, list[str]]:
    lines = PresentedLines().load(db, [sitting.id])[sitting.id]
    return {position: [o["id"] for o in line.options] for position, line in lines.items()}


def test_a_batch_stores_what_record_answer_would_and_confirms_replays(db, started):
    sitting, t0 = started
    options = _options(db, sitting)
    first, second = sorted(options)[:2]
    at = t0 + timedelta(minutes=1)
    outcomes = record_batch(db, [
        _request(sitting, first, [options[first][0]], 1, at),
        _request(sitting, second, [options[second][1]], 2, at),
        _request(sitting, first, [options[first][1]], 3, at),  # a newer answer at the same position
        _request(sitting, second, [options[second][0]], 2, at),  # a re-send of seq 2: a replay
    ], PresentedLines())
    db.commit()
    assert [o.receipt.replayed for o in outcomes] == [False, False, False, True]
    assert outcomes[3].receipt.answer == [options[second][1]], "a replay confirms what is stored"
    assert outcomes[-1].progress.answered == 2 and outcomes[-1].progress.total == len(options)
    stored = {r.position: (r.client_seq, r.answer) for r in db.exec(
        select(Response).where(Response.candidate_session_id == sitting.id)).all()}
    assert stored == {first: (3, [options[first][1]]), second: (2, [options[second][1]])}
    recorded = db.exec(select(AuditEntry).where(AuditEntry.action == "response.recorded")
                       .order_by(AuditEntry.id)).all()
    assert [e.data["client_seq"] for e in recorded] == [1, 2, 3]
    assert audit.verify(db).ok
    # The same answers through record_answer are replays now: the two paths agree on what is stored.
    again = delivery.record_answer(db, sitting, first, [options[first][1]], 3, "candidate", at)
    assert again.replayed and again.answer == [options[first][1]]


def test_refusals_name_the_problem_and_write_nothing(db, started):
    sitting, t0 = started
    options = _options(db, sitting)
    position = min(options)
    at = t0 + timedelta(minutes=1)
    before = db.exec(select(AuditEntry)).all()
    outcomes = record_batch(db, [
        _request(sitting, position, ["nope"], 1, at),
        _request(sitting, 999, [options[position][0]], 2, at),
        _request(sitting, position, [options[position][0]], 0, at),
        _request(sitting, position, [options[position][0]], 3, at, user_id=10**6),  # not the owner
    ], PresentedLines())
    errors = [type(o.error) for o in outcomes]
    assert errors == [InvalidInputError, NotFoundError, InvalidInputError, NotFoundError]
    assert "nope" in str(outcomes[0].error)
    assert db.exec(select(Response).where(Response.candidate_session_id == sitting.id)).all() == []
    assert len(db.exec(select(AuditEntry)).all()) == len(before)


def test_state_deadline_and_account_are_checked_in_the_batch(db, started):
    sitting, t0 = started
    options = _options(db, sitting)
    position = min(options)
    late = record_batch(db, [_request(sitting, position, [options[position][0]], 1, sitting.deadline)],
                        PresentedLines())
    assert late[0].full_path, "past the deadline record_answer settles the sitting and audits the refusal"
    other_role = record_batch(db, [_request(sitting, position, [options[position][0]], 1, t0, role="admin")],
                              PresentedLines())
    assert other_role[0].signed_out
    delivery.submit(db, sitting, "candidate", t0 + timedelta(minutes=2))
    assert sitting.status == CandidateSessionStatus.submitted
    closed = record_batch(db, [_request(sitting, position, [options[position][0]], 1, t0 + timedelta(minutes=3))],
                          PresentedLines())
    assert isinstance(closed[0].error, IllegalTransitionError)


def test_flags_show_in_the_progress(db, started):
    sitting, t0 = started
    options = _options(db, sitting)
    position = min(options)
    delivery.set_flag(db, sitting, position, True, "candidate", t0)
    outcome = record_batch(db, [_request(sitting, position, [options[position][0]], 1, t0)], PresentedLines())[0]
    assert outcome.flagged and outcome.progress.flagged == 1
    assert db.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id,
                                             SessionItem.flagged == True)).one().position == position  # noqa: E712


@pytest.mark.parametrize("count", [1, 57])
def test_record_many_chains_like_record(db, demo, count):
    audit.record(db, "a", "x.first", "thing", 1, {"n": 0})
    audit.record_many(db, [audit.Pending("b", "x.batch", "thing", i, {"n": i}) for i in range(1, count + 1)])
    audit.record(db, "c", "x.last", "thing", 2, {"n": -1})
    db.commit()
    report = audit.verify(db)
    assert report.ok, report.problem
    batch = db.exec(select(AuditEntry).where(AuditEntry.action == "x.batch").order_by(AuditEntry.id)).all()
    assert [e.data["n"] for e in batch] == list(range(1, count + 1))
