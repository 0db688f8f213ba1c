"""Publication, the candidate's view, export, appeals within the window, anonymous surveys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from engine import audit
from engine.certification import service as certification
from engine.errors import DuplicateError, IllegalTransitionError, InvalidInputError
from engine.models import AuditEntry, Candidate, CandidateSession, Result
from engine.results import service as results
from engine.results.models import AppealStatus, SurveyAnswer, SurveyReceipt
from itembank.interchange.xlsx import read_rows
from itembank.timeutil import utcnow
from tests.engine.certification.helpers import ACTOR, sitting_of, with_scores
from web.demo.seed import seed


@pytest.fixture
def scored(db: Session):
    """The demo sitting with three candidates: a pass, a theory fail at 58, and a practical veto."""
    seed(db)
    passed = with_scores(db, "candidate", 80, 75)
    close = with_scores(db, "candidate2", 58, 70)
    veto = with_scores(db, "candidate3", 90, 88, veto=True)
    return passed, close, veto


def candidate_id(sitting: CandidateSession) -> int:
    return sitting.candidate_id


def test_candidates_see_scores_only_after_publication(db, scored):
    passed = scored[0]
    before = results.results_for_candidate(db, candidate_id(passed))
    assert before[0].published is None and before[0].outcome is None
    results.publish(db, passed.exam_session_id, ACTOR, utcnow())
    after = results.results_for_candidate(db, candidate_id(passed))[0]
    assert after.outcome.outcome.passed and after.outcome.scores[results.Part.theory].score == 80
    with pytest.raises(DuplicateError):
        results.publish(db, passed.exam_session_id, ACTOR, utcnow())


def test_export_lists_every_candidate_with_part_scores_and_verdict(db, scored):
    rows = results.export_rows(db, scored[0].exam_session_id)
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["张伟"][4:8] == ["80", "75", "", "pass"]
    assert by_name["刘洋"][7] == "fail" and "theory score 58" in by_name["刘洋"][8]
    assert by_name["赵敏"][5] == "88 veto"
    from itembank.interchange.xlsx import rows_to_file

    assert read_rows(rows_to_file(rows, ".xlsx", "results"), ".xlsx")[1][1] in by_name
    assert rows_to_file(rows, ".csv", "results").decode("utf-8-sig").splitlines()[0].startswith("准考证号")


def test_appeal_before_publication_and_after_the_window_is_refused(db, scored):
    close = scored[1]
    with pytest.raises(IllegalTransitionError, match="not published yet"):
        results.request_appeal(db, close.candidate_id, close.id, "theory", "请复核", utcnow())
    published = utcnow() - timedelta(days=16)
    results.publish(db, close.exam_session_id, ACTOR, published)
    with pytest.raises(results.AppealWindowClosed, match=r"closed on .* \(15 days after publication\)"):
        results.request_appeal(db, close.candidate_id, close.id, "theory", "请复核", utcnow())
    results.set_appeal_window(db, 30, ACTOR)
    assert results.request_appeal(db, close.candidate_id, close.id, "theory", "请复核", utcnow()).id


def test_appeal_of_another_candidates_sitting_is_not_found(db, scored):
    passed, close, _ = scored
    results.publish(db, close.exam_session_id, ACTOR, utcnow())
    with pytest.raises(Exception, match=f"exam sitting {close.id} not found"):
        results.request_appeal(db, passed.candidate_id, close.id, "theory", "x", utcnow())


def test_corrected_theory_score_changes_the_outcome_through_the_rules(db, scored):
    close = scored[1]
    results.publish(db, close.exam_session_id, ACTOR, utcnow())
    appeal = results.request_appeal(db, close.candidate_id, close.id, "theory", "第12题答案有争议", utcnow())
    with pytest.raises(DuplicateError):
        results.request_appeal(db, close.candidate_id, close.id, "theory", "again", utcnow())
    with pytest.raises(InvalidInputError, match="equals the original"):
        results.decide_appeal(db, appeal.id, "corrected", "重新核对", 58, "reviewer", utcnow())
    assert not certification.outcome_of(db, close.id).outcome.passed
    results.decide_appeal(db, appeal.id, "corrected", "第12题标准答案有误，改判后得分62", 62, "reviewer", utcnow())
    assert db.exec(select(Result).where(Result.candidate_session_id == close.id)).one().passed
    assert certification.outcome_of(db, close.id).outcome.passed
    actions = [e.action for e in db.exec(select(AuditEntry).order_by(AuditEntry.id)).all()][-3:]
    assert actions == ["appeal.requested", "result.corrected", "appeal.decided"]
    with pytest.raises(IllegalTransitionError, match="decided already"):
        results.decide_appeal(db, appeal.id, "upheld", "x", None, "reviewer", utcnow())
    assert audit.verify(db).ok


def test_practical_appeal_upheld_keeps_the_score_and_the_file_recomputes_theory(db, scored):
    veto = scored[2]
    results.publish(db, veto.exam_session_id, ACTOR, utcnow())
    appeal = results.request_appeal(db, veto.candidate_id, veto.id, "practical", "否决项判定有误", utcnow())
    file = results.appeal_file(db, appeal.id)
    assert file.outcome.scores[results.Part.practical].veto and file.part_records[0].score == 88
    results.decide_appeal(db, appeal.id, "upheld", "录像显示未断电即操作，否决项成立", None, "reviewer", utcnow())
    assert results.get_appeal(db, appeal.id).status == AppealStatus.upheld
    assert not certification.outcome_of(db, veto.id).outcome.passed


def test_survey_is_anonymous_once_per_sitting_and_summarised_per_institution(db, scored):
    ratings = {key: "4" for key in results.SURVEY_QUESTIONS}
    with pytest.raises(InvalidInputError, match="from 1 to 5"):
        results.submit_survey(db, scored[0].candidate_id, scored[0].id, {**ratings, "venue": "6"}, "")
    for sitting, overall in zip(scored, ("5", "3", "4"), strict=True):
        results.submit_survey(db, sitting.candidate_id, sitting.id, {**ratings, "overall": overall}, "考场安静")
    with pytest.raises(DuplicateError):
        results.submit_survey(db, scored[0].candidate_id, scored[0].id, ratings, "")
    columns = set(SurveyAnswer.model_fields)
    assert not columns & {"candidate_id", "candidate_session_id", "submitted_at", "created_at"}
    assert len(db.exec(select(SurveyReceipt)).all()) == 3
    [summary] = results.survey_summary(db)
    assert summary.answers == 3 and summary.means["overall"] == 4.0 and summary.means["venue"] == 4.0
    names = {c.name for c in db.exec(select(Candidate)).all()}
    assert not any(name in repr(db.exec(select(SurveyAnswer)).all()) for name in names)


def test_survey_before_the_sitting_ends_is_refused(db):
    seed(db)
    sitting = sitting_of(db, "candidate")
    with pytest.raises(IllegalTransitionError, match="after your sitting has ended"):
        results.submit_survey(db, sitting.candidate_id, sitting.id, {}, "")


def test_the_review_file_carries_the_practical_score_sheet_and_rater_forms(db):
    """A practical review shows the simulated task's attempt with its score sheet (engine/practical)."""
    from engine.practical import service as practical
    from tests.engine.practical.helpers import model_ticket, perform, started

    seed(db)
    attempt, start = started(db, "candidate")
    actions = model_ticket()
    perform(db, attempt, actions, start)
    finished = practical.finish(db, attempt, ACTOR, start + timedelta(seconds=actions[-1]["t"] + 1))
    sitting = with_scores(db, "candidate", 70, None)
    results.publish(db, sitting.exam_session_id, ACTOR, utcnow())
    appeal = results.request_appeal(db, sitting.candidate_id, sitting.id, "practical", "操作步骤评分有误", utcnow())
    [evidence] = results.appeal_file(db, appeal.id).practical
    assert evidence.score == finished.score and evidence.score_sheet == finished.score_sheet
    assert appeal.original_score == finished.score
