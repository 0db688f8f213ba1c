"""What supervisors see of the practical part: one row per candidate, read from stored facts.

Rows come from the attempts and their action logs only (no simulation is re-run), so a
room of candidates costs a few queries however long their runs are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from engine.errors import N_, NotFoundError
from engine.models import Candidate, CandidateSession, ExamSession
from engine.practical.models import PracticalAction, PracticalAttempt, PracticalTask


@dataclass(frozen=True)
class TaskProgress:
    task: PracticalTask
    attempt: PracticalAttempt | None
    last_action: str | None
    seconds_left: int | None


@dataclass(frozen=True)
class ProgressRow:
    sitting_id: int
    candidate_name: str
    tasks: list[TaskProgress]


def progress_rows(session: Session, exam_session_id: int, now: datetime) -> list[ProgressRow]:
    exam_session = session.get(ExamSession, exam_session_id)
    if exam_session is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    tasks = list(session.exec(select(PracticalTask).where(
        PracticalTask.exam_definition_id == exam_session.exam_definition_id).order_by(PracticalTask.position)).all())
    sittings = session.exec(select(CandidateSession, Candidate)
                            .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
                            .where(CandidateSession.exam_session_id == exam_session_id)
                            .order_by(Candidate.name, CandidateSession.id)).all()
    ids = [sitting.id for sitting, _candidate in sittings]
    attempts = {(a.candidate_session_id, a.task_id): a for a in session.exec(
        select(PracticalAttempt).where(col(PracticalAttempt.candidate_session_id).in_(ids))).all()}
    last = _last_actions(session, [a.id for a in attempts.values()])
    rows = []
    for sitting, candidate in sittings:
        progress = []
        for task in tasks:
            attempt = attempts.get((sitting.id, task.id))
            left = None
            if attempt is not None and attempt.deadline is not None and attempt.ended_at is None:
                left = max(0, int((attempt.deadline - now).total_seconds()))
            progress.append(TaskProgress(task, attempt, last.get(attempt.id) if attempt else None, left))
        rows.append(ProgressRow(sitting.id, candidate.name, progress))
    return rows


def _last_actions(session: Session, attempt_ids: list[int]) -> dict[int, str]:
    if not attempt_ids:
        return {}
    newest = (select(PracticalAction.attempt_id, func.max(PracticalAction.seq).label("seq"))
              .where(col(PracticalAction.attempt_id).in_(attempt_ids)).group_by(PracticalAction.attempt_id)
              .subquery())
    rows = session.exec(select(PracticalAction.attempt_id, PracticalAction.action)
                        .join(newest, (col(PracticalAction.attempt_id) == newest.c.attempt_id)
                              & (col(PracticalAction.seq) == newest.c.seq))).all()
    return dict(rows)


def sessions_with_practical(session: Session) -> list[ExamSession]:
    with_tasks = select(PracticalTask.exam_definition_id).distinct()
    return list(session.exec(select(ExamSession).where(col(ExamSession.exam_definition_id).in_(with_tasks))
                             .order_by(col(ExamSession.starts_at).desc())).all())
