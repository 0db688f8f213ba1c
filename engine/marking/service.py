"""The marking queue: examiners award rubric points; the last mark finalizes the result.

Marking is blind (the queue shows the exam and the answer, never the candidate) and every
mark is an audit entry. A mark, once given, stands; the result it completes is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit, delivery
from engine.errors import N_, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.marking.models import RubricMark
from engine.marking.sitting_score import answer_text, tally_sitting
from engine.models import CandidateSession, ExamDefinition, ExamSession, Response, Result
from itembank.models import ItemVersion

MAX_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class MarkTask:
    """What a marker sees: the exam, the question, its rubric and the written answer."""

    mark: RubricMark
    exam_code: str
    exam_title: str
    stem: str
    rubric: list[dict]
    answer: str


def _task(session: Session, mark: RubricMark) -> MarkTask:
    version = session.get(ItemVersion, mark.item_version_id)
    sitting = session.get(CandidateSession, mark.candidate_session_id)
    assert version is not None and sitting is not None
    definition = delivery.definition_of(session, sitting)
    response = session.exec(select(Response).where(Response.candidate_session_id == sitting.id,
                                                   Response.position == mark.position)).first()
    return MarkTask(mark=mark, exam_code=definition.code, exam_title=definition.title, stem=version.stem,
                    rubric=list((version.scoring or {}).get("rubric", [])),
                    answer=answer_text(response.answer if response else None))


def queue(session: Session, limit: int = 200) -> list[MarkTask]:
    """Written answers waiting for a mark, oldest first."""
    marks = session.exec(select(RubricMark).where(col(RubricMark.points).is_(None))
                         .order_by(RubricMark.queued_at, RubricMark.id).limit(limit)).all()
    return [_task(session, mark) for mark in marks]


def recently_marked(session: Session, marker: str, limit: int = 20) -> list[RubricMark]:
    return list(session.exec(select(RubricMark).where(RubricMark.marked_by == marker)
                             .order_by(col(RubricMark.marked_at).desc()).limit(limit)).all())


def task(session: Session, mark_id: int) -> MarkTask:
    mark = session.get(RubricMark, mark_id)
    if mark is None:
        raise NotFoundError(N_("answer to mark %(id)s not found"), id=mark_id)
    return _task(session, mark)


def award(session: Session, mark_id: int, points: int, comment: str, marker: str, now: datetime) -> RubricMark:
    """Give ``points`` (0..k) to one written answer; finalize the result if it was the last."""
    mark = session.get(RubricMark, mark_id)
    if mark is None:
        raise NotFoundError(N_("answer to mark %(id)s not found"), id=mark_id)
    sitting = session.get(CandidateSession, mark.candidate_session_id)
    assert sitting is not None
    delivery.lock_sitting(session, sitting)  # two markers finishing one sitting finalize it once
    session.refresh(mark)
    if mark.points is not None:
        raise IllegalTransitionError(N_("this answer was already marked by %(marker)s"), marker=mark.marked_by)
    if isinstance(points, bool) or not 0 <= points <= mark.max_points:
        raise InvalidInputError(N_("award a whole number of points from 0 to %(max)s"), "points",
                                max=mark.max_points)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInputError(N_("the comment is longer than 2000 characters"), "comment")
    mark.points, mark.marked_by, mark.marked_at, mark.comment = points, marker, now, comment
    session.add(mark)
    session.flush()
    audit.record(session, marker, "response.marked", "candidate_session", sitting.id,
                 {"position": mark.position, "points": points, "max_points": mark.max_points, "mark": mark.id})
    _refresh_result(session, sitting, marker, now)
    return mark


def _refresh_result(session: Session, sitting: CandidateSession, marker: str, now: datetime) -> None:
    result = session.exec(select(Result).where(Result.candidate_session_id == sitting.id)).first()
    if result is None or not result.provisional:
        return
    tally = tally_sitting(session, sitting)
    result.raw_points, result.score = tally.earned, tally.score()
    if tally.pending == 0:
        exam_session = session.get(ExamSession, sitting.exam_session_id)
        definition = session.get(ExamDefinition, exam_session.exam_definition_id) if exam_session else None
        assert definition is not None
        result.provisional, result.passed, result.scored_at = False, result.score >= definition.pass_mark, now
    session.add(result)
    session.flush()
    if not result.provisional:
        audit.record(session, marker, "result.finalized", "result", result.id,
                     {"candidate_session": sitting.id, "score": result.score, "passed": result.passed})
