"""Raters (考评员) of rated practical tasks: assignment, independent forms, mean, spread,
chief-rater adjudication, and the agreement report.

Independence is structural: a rater reads only their own assignment and form, and a
submitted form cannot be changed (a second submission is refused). The final score is
the mean of the forms; if the highest and lowest totals differ by more than the task's
``spread_threshold``, the attempt waits for the chief rater instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from engine import audit
from engine.errors import N_, DuplicateError, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import Candidate, CandidateSession, Role, User
from engine.practical import agreement
from engine.practical.models import (
    Adjudication,
    AttemptStatus,
    PracticalAttempt,
    PracticalTask,
    RaterAssignment,
    RaterRole,
    RaterScore,
    TaskKind,
)
from engine.practical.service import get_attempt, get_task, update_part_score


def _examiner(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active or user.role != Role.examiner:
        raise InvalidInputError(N_("user %(id)s is not an active examiner and cannot rate"), "raters", id=user_id)
    return user


def assign(session: Session, candidate_session_id: int, task_id: int, rater_ids: list[int],
           chief_id: int | None, actor: str, now: datetime) -> PracticalAttempt:
    """Assign the task's configured number of raters (and a chief) to one candidate's rated task."""
    task = get_task(session, task_id)
    sitting = session.get(CandidateSession, candidate_session_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=candidate_session_id)
    from engine.models import ExamSession

    if session.get(ExamSession, sitting.exam_session_id).exam_definition_id != task.exam_definition_id:
        raise InvalidInputError(N_("task %(task)s is not part of this sitting's exam"), "task_id", task=task_id)
    if task.kind != TaskKind.rated:
        raise InvalidInputError(N_("only rated tasks get raters"), "task_id")
    if len(set(rater_ids)) != len(rater_ids):
        raise InvalidInputError(N_("a rater is named twice"), "raters")
    if len(rater_ids) != task.raters_required:
        raise InvalidInputError(N_("this task needs %(n)s raters per candidate, got %(got)s"), "raters",
                                n=task.raters_required, got=len(rater_ids))
    for user_id in rater_ids + ([chief_id] if chief_id is not None else []):
        _examiner(session, user_id)
    existing = session.exec(select(PracticalAttempt).where(PracticalAttempt.candidate_session_id == sitting.id,
                                                           PracticalAttempt.task_id == task.id)).first()
    if existing is not None:
        raise DuplicateError(N_("raters are already assigned to this candidate's task"))
    attempt = PracticalAttempt(candidate_session_id=sitting.id, task_id=task.id, status=AttemptStatus.rating,
                               started_at=now)
    session.add(attempt)
    session.flush()
    for user_id in rater_ids:
        session.add(RaterAssignment(attempt_id=attempt.id, rater_user_id=user_id, role=RaterRole.rater,
                                    assigned_by=actor, assigned_at=now))
    if chief_id is not None:
        session.add(RaterAssignment(attempt_id=attempt.id, rater_user_id=chief_id, role=RaterRole.chief,
                                    assigned_by=actor, assigned_at=now))
    session.flush()
    audit.record(session, actor, "practical.raters_assigned", "candidate_session", sitting.id,
                 {"attempt": attempt.id, "task": task.id, "raters": rater_ids, "chief": chief_id})
    return attempt


@dataclass(frozen=True)
class RatingForm:
    """One rater's view: the task's form and their own scores — never a peer's."""

    assignment: RaterAssignment
    attempt: PracticalAttempt
    task: PracticalTask
    candidate_label: str  # the sitting number, not the name (identity masked when marking)
    own: RaterScore | None


def my_forms(session: Session, user_id: int) -> list[RatingForm]:
    rows = session.exec(select(RaterAssignment).where(RaterAssignment.rater_user_id == user_id,
                                                      RaterAssignment.role == RaterRole.rater)
                        .order_by(RaterAssignment.id)).all()
    return [_form(session, row) for row in rows]


def my_form(session: Session, assignment_id: int, user_id: int) -> RatingForm:
    row = session.get(RaterAssignment, assignment_id)
    if row is None or row.rater_user_id != user_id or row.role != RaterRole.rater:
        raise NotFoundError(N_("rating form %(id)s not found"), id=assignment_id)
    return _form(session, row)


def _form(session: Session, row: RaterAssignment) -> RatingForm:
    attempt = get_attempt(session, row.attempt_id)
    own = session.exec(select(RaterScore).where(RaterScore.assignment_id == row.id)).first()
    return RatingForm(row, attempt, get_task(session, attempt.task_id),
                      f"#{attempt.candidate_session_id}", own)


def submit(session: Session, assignment_id: int, user_id: int, raw_scores: dict[str, Any], vetoes: list[str],
           comment: str, actor: str, now: datetime) -> RaterScore:
    """Store one rater's form; totals on 0–100; refused twice (forms are independent and final)."""
    form = my_form(session, assignment_id, user_id)
    if form.own is not None:
        raise DuplicateError(N_("you have already submitted this form; it cannot be changed"))
    if form.attempt.status != AttemptStatus.rating:
        raise IllegalTransitionError(N_("this task is no longer open for rating"))
    rubric = form.task.rubric or {"criteria": [], "vetoes": []}
    scores: dict[str, float] = {}
    for criterion in rubric["criteria"]:
        value = raw_scores.get(criterion["id"])
        try:
            points = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(N_("criterion %(id)s needs a number of points"), criterion["id"],
                                    id=criterion["id"]) from None
        if not math.isfinite(points) or not 0 <= points <= criterion["points"]:
            raise InvalidInputError(N_("criterion %(id)s: points must be between 0 and %(max)s"), criterion["id"],
                                    id=criterion["id"], max=criterion["points"])
        scores[criterion["id"]] = points
    unknown = set(raw_scores) - set(scores)
    if unknown:
        raise InvalidInputError(N_("unknown criterion %(id)s"), "scores", id=sorted(unknown)[0][:40])
    known_vetoes = {v["id"] for v in rubric.get("vetoes", [])}
    if set(vetoes) - known_vetoes:
        raise InvalidInputError(N_("unknown veto item %(id)s"), "vetoes", id=sorted(set(vetoes) - known_vetoes)[0][:40])
    maximum = sum(c["points"] for c in rubric["criteria"])
    total = round(100.0 * sum(scores.values()) / maximum, 2)
    record = RaterScore(assignment_id=assignment_id, scores=scores, vetoes=sorted(set(vetoes)), total=total,
                        comment=(comment or "")[:1000], submitted_at=now)
    session.add(record)
    session.flush()
    audit.record(session, actor, "practical.rated", "candidate_session", form.attempt.candidate_session_id,
                 {"attempt": form.attempt.id, "assignment": assignment_id, "total": total, "vetoes": record.vetoes})
    _conclude_if_complete(session, form.attempt, form.task, actor)
    return record


def forms_of(session: Session, attempt_id: int) -> list[tuple[RaterAssignment, RaterScore | None]]:
    rows = session.exec(select(RaterAssignment).where(RaterAssignment.attempt_id == attempt_id,
                                                      RaterAssignment.role == RaterRole.rater)
                        .order_by(RaterAssignment.id)).all()
    scores = {s.assignment_id: s for s in session.exec(select(RaterScore).where(
        col(RaterScore.assignment_id).in_([r.id for r in rows]))).all()}
    return [(row, scores.get(row.id)) for row in rows]


@dataclass(frozen=True)
class Aggregate:
    mean: float
    spread: float
    veto: bool  # a majority of raters marked a veto item


def aggregate(totals: list[float], veto_marks: list[bool]) -> Aggregate:
    """Mean (rounded to 0.1), spread (max − min) and majority veto of complete forms."""
    return Aggregate(round(sum(totals) / len(totals), 1), round(max(totals) - min(totals), 2),
                     sum(veto_marks) * 2 > len(veto_marks))


def _conclude_if_complete(session: Session, attempt: PracticalAttempt, task: PracticalTask, actor: str) -> None:
    forms = forms_of(session, attempt.id)
    if any(score is None for _row, score in forms):
        return
    result = aggregate([s.total for _r, s in forms], [bool(s.vetoes) for _r, s in forms])
    if result.spread > task.spread_threshold:
        attempt.status = AttemptStatus.adjudication
        session.add(attempt)
        session.flush()
        audit.record(session, actor, "practical.adjudication_needed", "candidate_session",
                     attempt.candidate_session_id, {"attempt": attempt.id, "spread": result.spread,
                                                    "threshold": task.spread_threshold})
        return
    attempt.status, attempt.score, attempt.veto = AttemptStatus.scored, result.mean, result.veto
    session.add(attempt)
    session.flush()
    audit.record(session, actor, "practical.scored", "candidate_session", attempt.candidate_session_id,
                 {"attempt": attempt.id, "score": result.mean, "veto": result.veto, "spread": result.spread})
    update_part_score(session, attempt.candidate_session_id, actor)


def adjudication_queue(session: Session, chief_user_id: int) -> list[tuple[PracticalAttempt, PracticalTask, list]]:
    """Attempts waiting for this chief rater, with the forms (the chief sees them all)."""
    rows = session.exec(select(RaterAssignment).where(RaterAssignment.rater_user_id == chief_user_id,
                                                      RaterAssignment.role == RaterRole.chief)).all()
    queue = []
    for row in rows:
        attempt = get_attempt(session, row.attempt_id)
        if attempt.status == AttemptStatus.adjudication:
            queue.append((attempt, get_task(session, attempt.task_id), forms_of(session, attempt.id)))
    return queue


def adjudicate(session: Session, attempt_id: int, chief_user_id: int, score: float, veto: bool, note: str,
               actor: str, now: datetime) -> Adjudication:
    attempt = get_attempt(session, attempt_id)
    chief = session.exec(select(RaterAssignment).where(RaterAssignment.attempt_id == attempt_id,
                                                       RaterAssignment.rater_user_id == chief_user_id,
                                                       RaterAssignment.role == RaterRole.chief)).first()
    if chief is None:
        raise NotFoundError(N_("no adjudication of attempt %(id)s is assigned to you"), id=attempt_id)
    if attempt.status != AttemptStatus.adjudication:
        raise IllegalTransitionError(N_("this task does not wait for adjudication"))
    if not math.isfinite(score) or not 0 <= score <= 100:
        raise InvalidInputError(N_("the adjudicated score must be between 0 and 100"), "score")
    note = (note or "").strip()
    if not note:
        raise InvalidInputError(N_("an adjudication needs a written reason"), "note")
    decision = Adjudication(attempt_id=attempt_id, chief_user_id=chief_user_id, score=round(score, 1), veto=veto,
                            note=note[:1000], decided_at=now)
    attempt.status, attempt.score, attempt.veto = AttemptStatus.scored, decision.score, veto
    session.add_all([decision, attempt])
    session.flush()
    audit.record(session, actor, "practical.adjudicated", "candidate_session", attempt.candidate_session_id,
                 {"attempt": attempt_id, "score": decision.score, "veto": veto, "note": decision.note})
    update_part_score(session, attempt.candidate_session_id, actor)
    return decision


# ---- the agreement report --------------------------------------------------------------------


@dataclass(frozen=True)
class RaterSeverity:
    username: str
    display_name: str
    deviation: float  # mean (own − peers' mean) in points on 0–100; negative = severe
    forms: int


@dataclass(frozen=True)
class TaskReport:
    task: PracticalTask
    rows: list[dict[str, Any]]  # per attempt: sitting, candidate, totals, mean, spread, status
    icc: agreement.ICC | None  # over attempts with complete forms (one-way forms always valid)
    same_panel: bool  # every attempt rated by the same raters: two-way forms meaningful
    severity: list[RaterSeverity]


def report(session: Session, task_id: int) -> TaskReport:
    task = get_task(session, task_id)
    attempts = session.exec(select(PracticalAttempt).where(PracticalAttempt.task_id == task.id)
                            .order_by(PracticalAttempt.id)).all()
    users = {u.id: u for u in session.exec(select(User).where(User.role == Role.examiner)).all()}
    rows, matrix, panels, by_target = [], [], set(), []
    for attempt in attempts:
        forms = forms_of(session, attempt.id)
        totals = {users[r.rater_user_id].username: s.total for r, s in forms
                  if s is not None and r.rater_user_id in users}
        sitting = session.get(CandidateSession, attempt.candidate_session_id)
        candidate = session.get(Candidate, sitting.candidate_id)
        complete = len(totals) == len(forms) and len(forms) >= 2
        rows.append({"attempt": attempt, "candidate": candidate.name, "totals": totals,
                     "mean": round(sum(totals.values()) / len(totals), 1) if totals else None,
                     "spread": round(max(totals.values()) - min(totals.values()), 2) if totals else None})
        if complete:
            ordered = sorted(totals)
            panels.add(tuple(ordered))
            matrix.append([totals[name] for name in ordered])
            by_target.append(totals)
    widths = {len(row) for row in matrix}
    icc = agreement.icc(matrix) if len(matrix) >= 2 and len(widths) == 1 else None
    names = {u.username: u.display_name for u in users.values()}
    severity = [RaterSeverity(name, names.get(name, name), round(dev, 2), n)
                for name, (dev, n) in agreement.severity(by_target).items()]
    return TaskReport(task, rows, icc, len(panels) == 1, severity)
