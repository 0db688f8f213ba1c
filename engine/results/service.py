"""Publication, candidates' view, export, appeals (成绩复核) and the satisfaction survey.

Services flush and never commit; changes are audited; every check runs before the first
write. Candidates see part scores and the overall result only once the sitting's results
are published. An appeal can be asked within the configured window after publication;
the reviewer re-checks the score sheet and either upholds the score or corrects it — the
correction goes through the same paths as the original score (the theory Result, the
recorded part score), so the overall outcome follows the level's rules again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from sqlmodel import Session, col, select

from engine import administration, audit, delivery
from engine.certification import service as certification
from engine.certification.models import Certificate, PartScoreRecord
from engine.certification.rules import Part, PartScore
from engine.errors import N_, DuplicateError, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamSession,
    Institution,
    Response,
    Result,
    SessionItem,
    User,
)
from engine.practical import raters
from engine.practical import service as practical
from engine.results.models import (
    Appeal,
    AppealStatus,
    ResultPublication,
    ResultsPolicy,
    SurveyAnswer,
    SurveyReceipt,
)
from engine.scheduling import service as scheduling
from engine.scoring import is_correct, theory_score
from itembank.models import ItemVersion

MAX_WINDOW_DAYS = 90
# names shown translated in templates (``_(part.value)``, ``_(appeal.status.value)``), listed for extraction
LABELS = (N_("theory"), N_("practical"), N_("review"), N_("open"), N_("upheld"), N_("corrected"), N_("rater"))


class AppealWindowClosed(IllegalTransitionError):
    """An appeal asked after the window → 409."""


# ---- settings and publication ---------------------------------------------------------------------


def results_policy(session: Session) -> ResultsPolicy:
    return session.get(ResultsPolicy, 1) or ResultsPolicy()


def set_appeal_window(session: Session, days: int, actor: str) -> ResultsPolicy:
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise InvalidInputError(N_("the review window must be between 1 and %(limit)s days"), "appeal_window_days",
                                limit=MAX_WINDOW_DAYS)
    current = session.get(ResultsPolicy, 1) or ResultsPolicy()
    current.appeal_window_days = days
    session.add(current)
    session.flush()
    audit.record(session, actor, "results.policy_set", "policy", 1, {"appeal_window_days": days})
    return current


def publish(session: Session, exam_session_id: int, actor: str, now: datetime) -> ResultPublication:
    """Show a sitting's results to its candidates; refused while anyone is still sitting."""
    administration.get_exam_session(session, exam_session_id)
    if session.get(ResultPublication, exam_session_id) is not None:
        raise DuplicateError(N_("the results of this sitting are published already"), "exam_session")
    busy = session.exec(select(CandidateSession.id).where(
        CandidateSession.exam_session_id == exam_session_id,
        col(CandidateSession.status).in_([CandidateSessionStatus.in_progress, CandidateSessionStatus.paused]))).all()
    if busy:
        raise IllegalTransitionError(N_("%(n)s candidates are still sitting; publish after the sitting ends"),
                                     n=len(busy))
    publication = ResultPublication(exam_session_id=exam_session_id, published_at=now, published_by=actor)
    session.add(publication)
    session.flush()
    audit.record(session, actor, "results.published", "exam_session", exam_session_id, {"at": now})
    return publication


def publication_of(session: Session, exam_session_id: int) -> ResultPublication | None:
    return session.get(ResultPublication, exam_session_id)


def window_closes(session: Session, publication: ResultPublication) -> datetime:
    return publication.published_at + timedelta(days=results_policy(session).appeal_window_days)


# ---- the candidate's view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateResult:
    sitting: CandidateSession
    exam_session: ExamSession
    title: str
    published: ResultPublication | None
    outcome: certification.SittingOutcome | None  # None until published
    window_closes: datetime | None
    appeals: list[Appeal]
    survey_done: bool
    ticket_number: str | None


def results_for_candidate(session: Session, candidate_id: int) -> list[CandidateResult]:
    lines = []
    tickets = {}
    for sitting, exam_session, definition in delivery.sittings_of(session, candidate_id):
        published = publication_of(session, exam_session.id)
        if exam_session.id not in tickets:
            tickets[exam_session.id] = scheduling.seats(session, exam_session.id)
        seat = tickets[exam_session.id].get(sitting.id)
        lines.append(CandidateResult(
            sitting, exam_session, definition.title, published,
            certification.outcome_of(session, sitting.id) if published else None,
            window_closes(session, published) if published else None,
            list(session.exec(select(Appeal).where(Appeal.candidate_session_id == sitting.id)
                              .order_by(Appeal.id)).all()),
            session.get(SurveyReceipt, sitting.id) is not None, seat.ticket_number if seat else None))
    return lines


# ---- export --------------------------------------------------------------------------------------------

EXPORT_HEADER = ["准考证号 ticket", "姓名 name", "身份证号 resident_id", "状态 status", "理论 theory",
                 "操作 practical", "综合评审 review", "结果 result", "未通过原因 shortfalls", "证书编号 certificate"]


def export_rows(session: Session, exam_session_id: int) -> list[list[str]]:
    """One row per candidate of a sitting, for reporting (header first)."""
    seats = scheduling.seats(session, exam_session_id)
    rows = [EXPORT_HEADER]
    for found in certification.outcomes_for_exam_session(session, exam_session_id):
        seat = seats.get(found.sitting.id)
        score = [_shown(found.scores.get(part)) for part in (Part.theory, Part.practical, Part.review)]
        rows.append([seat.ticket_number if seat else "", found.candidate.name, found.candidate.resident_id,
                     found.sitting.status.value, *score,
                     "pass" if found.outcome.passed else "fail",
                     "; ".join(s.message % s.params for s in found.outcome.shortfalls),
                     found.certificate.number if found.certificate else ""])
    return rows


def _shown(given: PartScore | None) -> str:
    return "" if given is None else f"{given.score:g}" + (" veto" if given.veto else "")


# ---- appeals -------------------------------------------------------------------------------------------


def request_appeal(session: Session, candidate_id: int, candidate_session_id: int, part: str, reason: str,
                   now: datetime) -> Appeal:
    """A candidate asks for one part's score to be re-checked (within the window after publication)."""
    sitting = delivery.owned_session(session, candidate_session_id, candidate_id)
    publication = publication_of(session, sitting.exam_session_id)
    if publication is None:
        raise IllegalTransitionError(N_("results of this sitting are not published yet; a review can be asked "
                                        "after publication"))
    closes = window_closes(session, publication)
    if now > closes:
        raise AppealWindowClosed(N_("the review window closed on %(date)s (%(days)s days after publication); "
                                    "no review can be asked any more"), "part",
                                 date=closes.strftime("%Y-%m-%d %H:%M"),
                                 days=results_policy(session).appeal_window_days)
    part_value = _part(part)
    found = certification.outcome_of(session, sitting.id)
    if part_value not in found.scores:
        raise InvalidInputError(N_("there is no %(part)s score to review"), "part", part=part_value.value)
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(N_("say why the score should be re-checked"), "reason")
    if len(reason) > 1000:
        raise InvalidInputError(N_("the reason is longer than 1000 characters"), "reason")
    if session.exec(select(Appeal.id).where(Appeal.candidate_session_id == sitting.id, Appeal.part == part_value,
                                            Appeal.status == AppealStatus.open)).first():
        raise DuplicateError(N_("a review of this part is already open"), "part")
    appeal = Appeal(candidate_session_id=sitting.id, part=part_value, reason=reason, requested_at=now,
                    original_score=found.scores[part_value].score)
    session.add(appeal)
    session.flush()
    audit.record(session, f"candidate:{candidate_id}", "appeal.requested", "appeal", appeal.id,
                 {"candidate_session": sitting.id, "part": part_value.value, "score": appeal.original_score,
                  "reason": reason})
    return appeal


@dataclass(frozen=True)
class SheetLine:
    """One line of the theory score sheet as the reviewer re-checks it."""

    position: int
    stem: str
    answer: list[str]
    key: list[str]
    points: float
    earned: float


@dataclass(frozen=True)
class PracticalEvidence:
    """One practical task's attempt with its score sheet and the raters' forms (engine/practical)."""

    task_title: str
    status: str
    score: float | None
    veto: bool
    score_sheet: dict | None
    forms: list[tuple[str, float | None, list[str], str]]  # rater, total (None: not yet), vetoes, comment


@dataclass(frozen=True)
class AppealFile:
    appeal: Appeal
    candidate: Candidate
    outcome: certification.SittingOutcome
    theory_sheet: list[SheetLine]
    part_records: list[PartScoreRecord]
    recomputed_theory: float | None  # the theory score computed again from the stored answers
    practical: list[PracticalEvidence]


def appeal_file(session: Session, appeal_id: int) -> AppealFile:
    """What the reviewer re-checks: the score sheet item by item, recorded part scores, the outcome."""
    appeal = get_appeal(session, appeal_id)
    found = certification.outcome_of(session, appeal.candidate_session_id)
    sheet = _theory_sheet(session, appeal.candidate_session_id)
    possible = sum(line.points for line in sheet)
    recomputed = theory_score(sum(line.earned for line in sheet), possible) if possible else None
    records = list(session.exec(select(PartScoreRecord).where(
        PartScoreRecord.candidate_session_id == appeal.candidate_session_id)).all())
    return AppealFile(appeal, found.candidate, found, sheet, records, recomputed,
                      _practical_evidence(session, appeal.candidate_session_id))


def _practical_evidence(session: Session, candidate_session_id: int) -> list[PracticalEvidence]:
    evidence = []
    for attempt in practical.attempts_of(session, candidate_session_id):
        task = practical.get_task(session, attempt.task_id)
        forms = []
        for assignment, score in raters.forms_of(session, attempt.id):
            rater = session.get(User, assignment.rater_user_id)
            forms.append((rater.username if rater else "?", score.total if score else None,
                          list(score.vetoes) if score else [], score.comment if score else ""))
        evidence.append(PracticalEvidence(task.title, attempt.status.value, attempt.score, attempt.veto,
                                          attempt.score_sheet, forms))
    return evidence


def _theory_sheet(session: Session, candidate_session_id: int) -> list[SheetLine]:
    answers = {r.position: r.answer for r in session.exec(
        select(Response).where(Response.candidate_session_id == candidate_session_id)).all()}
    lines = []
    for line, version in session.exec(select(SessionItem, ItemVersion)
                                      .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
                                      .where(SessionItem.candidate_session_id == candidate_session_id)
                                      .order_by(SessionItem.position)).all():
        answer = answers.get(line.position) or []
        right = is_correct(version.key, answer)
        lines.append(SheetLine(line.position, version.stem, list(answer), list(version.key), line.points,
                               line.points if right else 0.0))
    return lines


def decide_appeal(session: Session, appeal_id: int, outcome: str, finding: str, new_score: float | None,
                  reviewer: str, now: datetime) -> Appeal:
    """Record the reviewer's outcome; a correction changes the score where it is kept."""
    appeal = get_appeal(session, appeal_id)
    if appeal.status != AppealStatus.open:
        raise IllegalTransitionError(N_("this review was decided already (%(status)s)"), status=appeal.status.value)
    try:
        status = AppealStatus(outcome)
    except ValueError:
        status = None
    if status not in (AppealStatus.upheld, AppealStatus.corrected):
        raise InvalidInputError(N_("the outcome must be upheld or corrected"), "outcome")
    finding = finding.strip()
    if not finding:
        raise InvalidInputError(N_("write down what the re-check found"), "finding")
    if len(finding) > 2000:
        raise InvalidInputError(N_("the finding is longer than 2000 characters"), "finding")
    if status == AppealStatus.corrected:
        if new_score is None or not 0 <= new_score <= 100:
            raise InvalidInputError(N_("a correction needs the new score between 0 and 100"), "new_score")
        if new_score == appeal.original_score:
            raise InvalidInputError(N_("the new score equals the original; record the outcome as upheld"),
                                    "new_score")
        _correct(session, appeal, new_score, reviewer)
        appeal.new_score = new_score
    appeal.status, appeal.finding, appeal.reviewer, appeal.decided_at = status, finding, reviewer, now
    session.add(appeal)
    session.flush()
    audit.record(session, reviewer, "appeal.decided", "appeal", appeal.id,
                 {"candidate_session": appeal.candidate_session_id, "part": appeal.part.value,
                  "outcome": status.value, "original_score": appeal.original_score, "new_score": appeal.new_score,
                  "finding": finding})
    return appeal


def _correct(session: Session, appeal: Appeal, new_score: float, reviewer: str) -> None:
    if appeal.part != Part.theory:
        previous = session.exec(select(PartScoreRecord).where(
            PartScoreRecord.candidate_session_id == appeal.candidate_session_id,
            PartScoreRecord.part == appeal.part)).one()
        certification.record_part_score(session, appeal.candidate_session_id, appeal.part.value, new_score,
                                        previous.veto, reviewer)
        return
    if session.exec(select(Certificate.id).where(Certificate.candidate_session_id == appeal.candidate_session_id)
                    ).first():
        raise IllegalTransitionError(N_("a certificate was issued for this sitting; its scores are closed"))
    result = session.exec(select(Result).where(Result.candidate_session_id == appeal.candidate_session_id)).one()
    definition = certification.outcome_of(session, appeal.candidate_session_id).definition
    previous = result.score
    result.score, result.passed = new_score, new_score >= definition.pass_mark
    session.add(result)
    session.flush()
    audit.record(session, reviewer, "result.corrected", "result", result.id,
                 {"candidate_session": appeal.candidate_session_id, "previous": previous, "score": new_score,
                  "appeal": appeal.id})


def get_appeal(session: Session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFoundError(N_("appeal %(id)s not found"), id=appeal_id)
    return appeal


def appeals(session: Session, limit: int = 500) -> list[tuple[Appeal, Candidate]]:
    return [tuple(row) for row in session.exec(  # type: ignore[misc]
        select(Appeal, Candidate).join(CandidateSession, col(CandidateSession.id) == Appeal.candidate_session_id)
        .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
        .order_by(Appeal.status, col(Appeal.id).desc()).limit(limit)).all()]


def _part(part: str) -> Part:
    try:
        return Part(part)
    except ValueError:
        raise InvalidInputError(N_("unknown part '%(part)s'"), "part", part=part) from None


# ---- satisfaction survey ---------------------------------------------------------------------------------

# question key → text (1 = very dissatisfied … 5 = very satisfied)
SURVEY_QUESTIONS: dict[str, str] = {
    "organisation": N_("Organisation of the sitting (information, punctuality)"),
    "venue": N_("Room and equipment"),
    "staff": N_("Conduct of supervisors and raters"),
    "fairness": N_("Fairness of the assessment"),
    "overall": N_("Overall satisfaction"),
}
RATING_RANGE = range(1, 6)


def submit_survey(session: Session, candidate_id: int, candidate_session_id: int, ratings: dict[str, str],
                  comment: str) -> None:
    """Store one anonymous answer after the sitting: a receipt says who answered, not what."""
    sitting = delivery.owned_session(session, candidate_session_id, candidate_id)
    if sitting.status != CandidateSessionStatus.submitted:
        raise IllegalTransitionError(N_("the survey opens after your sitting has ended"))
    if session.get(SurveyReceipt, sitting.id) is not None:
        raise DuplicateError(N_("you have answered this survey already"), "survey")
    parsed = {}
    for key in SURVEY_QUESTIONS:
        raw = (ratings.get(key) or "").strip()
        if not raw.isdigit() or int(raw) not in RATING_RANGE:
            raise InvalidInputError(N_("rate every question from 1 to 5"), key)
        parsed[key] = int(raw)
    comment = comment.strip()
    if len(comment) > 1000:
        raise InvalidInputError(N_("the comment is longer than 1000 characters"), "comment")
    institution = scheduling.institution_of_exam_session(session, sitting.exam_session_id)
    session.add(SurveyReceipt(candidate_session_id=sitting.id))
    session.add(SurveyAnswer(exam_session_id=sitting.exam_session_id, institution_id=institution.id,
                             ratings=parsed, comment=comment))
    session.flush()


@dataclass(frozen=True)
class SurveySummary:
    institution_id: int
    institution_name: str
    answers: int
    means: dict[str, float]
    comments: list[str]


def survey_summary(session: Session) -> list[SurveySummary]:
    """Mean rating per question and institution, with the comments (no names: there are none)."""
    grouped: dict[int, list[SurveyAnswer]] = {}
    for answer in session.exec(select(SurveyAnswer)).all():
        grouped.setdefault(answer.institution_id, []).append(answer)
    summaries = []
    for institution_id, answers in sorted(grouped.items()):
        institution = session.get(Institution, institution_id)
        means = {key: round(fmean(a.ratings[key] for a in answers), 2) for key in SURVEY_QUESTIONS}
        summaries.append(SurveySummary(institution_id, institution.name, len(answers), means,
                                       sorted(a.comment for a in answers if a.comment)))
    return summaries
