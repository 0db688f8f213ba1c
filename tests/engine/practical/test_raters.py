"""Raters on both databases: independent forms, mean, spread → adjudication, part score, report."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from engine.accounts import create_user
from engine.certification.models import PartScoreRecord
from engine.errors import DuplicateError, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import ExamSession, Role, User
from engine.practical import raters, service
from engine.practical.models import AttemptStatus, RaterScore
from itembank.timeutil import utcnow
from tests.engine.practical.helpers import ACTOR, model_ticket, perform, sitting_of, started

RUBRIC = {"criteria": [{"id": "C1", "text": "Tools laid out", "points": 40},
                       {"id": "C2", "text": "Wiring correct", "points": 60}],
          "vetoes": [{"id": "X1", "text": "Worked live"}]}


@pytest.fixture
def session(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def panel(session):
    users = [create_user(session, f"rater{i}", f"考评员{i}", Role.examiner, "rater-password", ACTOR)
             for i in range(1, 5)]
    session.flush()
    return [u.id for u in users]


def rated_task(session, sitting, threshold=10.0, raters_required=3):
    definition_id = session.get(ExamSession, sitting.exam_session_id).exam_definition_id
    return service.add_task(session, definition_id, "rated", "接线实操", 1.0, ACTOR, rubric=RUBRIC,
                            raters_required=raters_required, spread_threshold=threshold)


def rate(session, attempt, user_ids, forms):
    mine = {f.assignment.rater_user_id: f for uid in user_ids for f in raters.my_forms(session, uid)
            if f.attempt.id == attempt.id}
    for uid, (c1, c2, vetoes) in zip(user_ids, forms, strict=True):
        raters.submit(session, mine[uid].assignment.id, uid, {"C1": c1, "C2": c2}, vetoes, "", ACTOR, utcnow())


def test_mean_of_three_forms_and_both_tasks_make_the_part_score(session, panel):
    sitting = sitting_of(session, "candidate")
    task = rated_task(session, sitting)
    attempt = raters.assign(session, sitting.id, task.id, panel[:3], panel[3], ACTOR, utcnow())
    rate(session, attempt, panel[:3], [(30, 50, []), (35, 50, []), (40, 50, [])])  # 80, 85, 90
    assert attempt.status == AttemptStatus.scored and attempt.score == 85.0
    assert session.exec(select(PartScoreRecord)).first() is None  # the scenario task is still open
    scenario_attempt, start = started(session)
    perform(session, scenario_attempt, model_ticket(), start)
    record = session.exec(select(PartScoreRecord).where(PartScoreRecord.candidate_session_id == sitting.id)).one()
    assert record.score == pytest.approx((85.0 + 100.0) / 2)


def test_a_rater_sees_only_their_own_form(session, panel):
    sitting = sitting_of(session, "candidate")
    attempt = raters.assign(session, sitting.id, rated_task(session, sitting).id, panel[:3], None, ACTOR, utcnow())
    rate(session, attempt, panel[:1], [(40, 60, [])])
    other = raters.my_forms(session, panel[1])
    assert len(other) == 1 and other[0].own is None  # rater 2 cannot see rater 1's form
    first = raters.my_forms(session, panel[0])[0]
    with pytest.raises(NotFoundError):
        raters.my_form(session, first.assignment.id, panel[1])
    with pytest.raises(DuplicateError):
        raters.submit(session, first.assignment.id, panel[0], {"C1": 1, "C2": 1}, [], "", ACTOR, utcnow())


def test_a_wide_spread_goes_to_the_chief_who_decides(session, panel):
    sitting = sitting_of(session, "candidate")
    attempt = raters.assign(session, sitting.id, rated_task(session, sitting, threshold=10).id, panel[:3], panel[3],
                            ACTOR, utcnow())
    rate(session, attempt, panel[:3], [(20, 30, []), (30, 40, []), (40, 50, [])])  # 50, 70, 90: spread 40
    assert attempt.status == AttemptStatus.adjudication and attempt.score is None
    assert [a.id for a, _t, _f in raters.adjudication_queue(session, panel[3])] == [attempt.id]
    with pytest.raises(NotFoundError):
        raters.adjudicate(session, attempt.id, panel[0], 70, False, "not the chief", ACTOR, utcnow())
    with pytest.raises(InvalidInputError, match="reason"):
        raters.adjudicate(session, attempt.id, panel[3], 70, False, " ", ACTOR, utcnow())
    raters.adjudicate(session, attempt.id, panel[3], 72, False, "re-checked the video", ACTOR, utcnow())
    assert (attempt.status, attempt.score) == (AttemptStatus.scored, 72.0)
    with pytest.raises(IllegalTransitionError):
        raters.adjudicate(session, attempt.id, panel[3], 60, False, "again", ACTOR, utcnow())


def test_a_majority_veto_fails_the_task(session, panel):
    sitting = sitting_of(session, "candidate")
    attempt = raters.assign(session, sitting.id, rated_task(session, sitting).id, panel[:3], None, ACTOR, utcnow())
    rate(session, attempt, panel[:3], [(40, 55, ["X1"]), (40, 55, ["X1"]), (40, 55, [])])
    assert attempt.veto is True and attempt.score == 95.0


@pytest.mark.parametrize("scores, message", [
    ({"C1": 41, "C2": 0}, "between 0 and 40"),
    ({"C1": "many", "C2": 0}, "needs a number"),
    ({"C1": 1}, "C2 needs a number"),
    ({"C1": 1, "C2": 1, "C9": 1}, "unknown criterion C9"),
])
def test_bad_forms_are_refused_and_nothing_is_written(session, panel, scores, message):
    sitting = sitting_of(session, "candidate")
    attempt = raters.assign(session, sitting.id, rated_task(session, sitting).id, panel[:3], None, ACTOR, utcnow())
    session.commit()
    form = [f for f in raters.my_forms(session, panel[0]) if f.attempt.id == attempt.id][0]
    with pytest.raises(InvalidInputError, match=message):
        raters.submit(session, form.assignment.id, panel[0], scores, [], "", ACTOR, utcnow())
    session.rollback()
    assert session.exec(select(func.count()).select_from(RaterScore)).one() == 0


def test_assignment_needs_the_configured_number_of_examiners(session, panel):
    sitting = sitting_of(session, "candidate")
    task = rated_task(session, sitting)
    with pytest.raises(InvalidInputError, match="needs 3 raters"):
        raters.assign(session, sitting.id, task.id, panel[:2], None, ACTOR, utcnow())
    supervisor = session.exec(select(User).where(User.username == "supervisor")).one()
    with pytest.raises(InvalidInputError, match="not an active examiner"):
        raters.assign(session, sitting.id, task.id, panel[:2] + [supervisor.id], None, ACTOR, utcnow())


def test_report_gives_icc_over_candidates_and_each_raters_severity(session, panel):
    task = None
    totals = [(20, 40), (30, 45), (25, 60), (35, 55), (40, 60)]  # (C1, C2) of the middle rater per candidate
    for username, (c1, c2) in zip(["candidate", "candidate2", "candidate3"], totals, strict=False):
        sitting = sitting_of(session, username)
        task = task or rated_task(session, sitting, threshold=100)
        attempt = raters.assign(session, sitting.id, task.id, panel[:3], None, ACTOR, utcnow())
        rate(session, attempt, panel[:3], [(c1 - 5, c2, []), (c1, c2, []), (c1, c2 - 0, [])])
    report = raters.report(session, task.id)
    assert report.same_panel and report.icc is not None and report.icc.n == 3
    by_name = {s.username: s for s in report.severity}
    assert by_name["rater1"].deviation == -5.0 and by_name["rater2"].deviation == 2.5
    assert by_name["rater1"].forms == 3
