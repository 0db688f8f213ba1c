"""The candidate's theory sitting: start, answer, flag, navigate, submit, expire.

Services flush and never commit: the caller's unit of work commits once, before the
candidate is told anything was stored (invariant 1). Every state change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from engine import audit
from engine.errors import N_, DeadlinePassedError, InvalidInputError, NotFoundError
from engine.lifecycle import Command, next_status
from engine.lookup import in_transaction
from engine.marking.sitting_score import tally_sitting
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamFormItem,
    ExamSession,
    Response,
    Result,
    SessionItem,
)
from engine.proctoring import timing
from itembank.models import Item, ItemType, ItemVersion

MAX_CLIENT_SEQ = 2**53  # what a browser's Number can count exactly


@dataclass(frozen=True)
class PresentedItem:
    """An item as the candidate sees it: no key, no parameters, no explanation."""

    position: int
    item_type: ItemType
    stem: str
    options: list[dict]
    answer: list[str]
    flagged: bool


@dataclass(frozen=True)
class AnswerReceipt:
    position: int
    answer: list[str]
    client_seq: int
    replayed: bool  # True when this sequence number was already stored (idempotent re-send)


@dataclass(frozen=True)
class Progress:
    total: int
    answered: int
    flagged: int


# ---- look-ups -----------------------------------------------------------------


def candidate_for_user(session: Session, user_id: int) -> Candidate:
    candidate = session.exec(select(Candidate).where(Candidate.user_id == user_id)).first()
    if candidate is None:
        raise NotFoundError(N_("this account has no candidate record"))
    return candidate


def owned_session(session: Session, candidate_session_id: int, candidate_id: int) -> CandidateSession:
    """The candidate's own sitting; another candidate's id is indistinguishable from a missing one."""
    sitting = session.get(CandidateSession, candidate_session_id)
    if sitting is None or sitting.candidate_id != candidate_id:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=candidate_session_id)
    return sitting


def sittings_of(session: Session, candidate_id: int) -> list[tuple[CandidateSession, ExamSession, ExamDefinition]]:
    rows = session.exec(
        select(CandidateSession, ExamSession, ExamDefinition)
        .join(ExamSession, col(ExamSession.id) == CandidateSession.exam_session_id)
        .join(ExamDefinition, col(ExamDefinition.id) == ExamSession.exam_definition_id)
        .where(CandidateSession.candidate_id == candidate_id)
        .order_by(col(ExamSession.starts_at).desc())
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def definition_of(session: Session, sitting: CandidateSession) -> ExamDefinition:
    exam_session = session.get(ExamSession, sitting.exam_session_id)
    assert exam_session is not None
    definition = session.get(ExamDefinition, exam_session.exam_definition_id)
    assert definition is not None
    return definition


# ---- commands -----------------------------------------------------------------


def start(session: Session, sitting: CandidateSession, actor: str, now: datetime) -> CandidateSession:
    """Pin the form's current item versions to the sitting and set the server deadline."""
    sitting.status = next_status(sitting.status, Command.start)
    definition = definition_of(session, sitting)
    if definition.theory_mode == "adaptive":  # items are chosen one at a time (engine/adaptive)
        from engine.adaptive.service import start_adaptive
        return start_adaptive(session, sitting, definition, actor, now)
    # A few set-based statements, not ORM objects per item: a whole room presses start at once.
    # Read once per transaction: a group commit starts a whole room's candidates in a few.
    form = in_transaction(session, ("exam form", definition.id), lambda: session.execute(
        select(ExamFormItem.position, ExamFormItem.item_id, ExamFormItem.points)
        .where(ExamFormItem.exam_definition_id == definition.id).order_by(ExamFormItem.position)).all())
    if not form:
        raise InvalidInputError(N_("exam %(code)s has no items on its form"), code=definition.code)
    versions = in_transaction(session, ("current versions", definition.id),
                              lambda: _form_versions(session, [item_id for _position, item_id, _points in form]))
    session.execute(update(ItemVersion).where(col(ItemVersion.id).in_(list(versions.values())),
                                              col(ItemVersion.administered_at).is_(None))
                    .values(administered_at=now))  # freezes these versions from now on
    session.execute(insert(SessionItem), [
        {"candidate_session_id": sitting.id, "position": position, "item_version_id": versions[item_id],
         "points": points, "flagged": False} for position, item_id, points in form])
    candidate = session.get(Candidate, sitting.candidate_id)
    sitting.accommodation_minutes = candidate.extra_time_minutes if candidate else 0
    sitting.started_at = now
    sitting.deadline = timing.initial_deadline(now, definition.duration_minutes, sitting.accommodation_minutes)
    sitting.current_position = form[0][0]
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "session.started", "candidate_session", sitting.id,
                 {"deadline": sitting.deadline, "items": len(form),
                  "accommodation_minutes": sitting.accommodation_minutes})
    return sitting


def _form_versions(session: Session, item_ids: list[int]) -> dict[int, int]:
    """The current version id of each item on the form; raises for an item without one."""
    rows = session.execute(select(ItemVersion.item_id, ItemVersion.id).join(Item, col(Item.id) == ItemVersion.item_id)
                           .where(col(Item.id).in_(item_ids), ItemVersion.version_no == Item.current_version)).all()
    versions = {item_id: version_id for item_id, version_id in rows}
    for item_id in item_ids:
        if item_id not in versions:
            versions[item_id] = _current_version(session, item_id).id  # raises for a broken form
    return versions


def _current_version(session: Session, item_id: int) -> ItemVersion:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFoundError(N_("item %(id)s on the exam form does not exist"), id=item_id)
    version = session.exec(
        select(ItemVersion).where(ItemVersion.item_id == item_id, ItemVersion.version_no == item.current_version)
    ).one()
    return version


def is_overdue(sitting: CandidateSession, now: datetime) -> bool:
    return (sitting.status == CandidateSessionStatus.in_progress and sitting.deadline is not None
            and now >= sitting.deadline)


def lock_sitting(session: Session, sitting: CandidateSession) -> None:
    """Re-read the sitting under a row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serializes writers), so the deadline sweeper and a request never both finish it."""
    session.refresh(sitting, with_for_update=True)


def settle_if_overdue(session: Session, sitting: CandidateSession, now: datetime) -> bool:
    """Submit an overdue sitting on the server's authority; True when it did."""
    if not is_overdue(sitting, now):
        return False
    lock_sitting(session, sitting)
    if not is_overdue(sitting, now):  # someone else finished it meanwhile
        return False
    _finish(session, sitting, actor="system", now=now, command=Command.expire, reason="deadline")
    return True


def record_answer(session: Session, sitting: CandidateSession, position: int, answer: list[str],
                  client_seq: int, actor: str, now: datetime) -> AnswerReceipt:
    """Store the answer at a position unless a newer or equal sequence number is stored.

    Raises DeadlinePassedError (after auditing the refusal) when the deadline has passed.
    """
    if is_overdue(sitting, now) or sitting.submit_reason == "deadline":
        # Settle first: the sitting's row lock before the audit head's, in the same order as
        # the deadline sweeper (the other order deadlocks against it on PostgreSQL). A sitting
        # the sweeper already closed gets the same answer: the time is over.
        settle_if_overdue(session, sitting, now)
        audit.record(session, actor, "response.refused", "candidate_session", sitting.id,
                     {"position": position, "answer": answer, "client_seq": client_seq, "reason": "deadline"})
        raise DeadlinePassedError(N_("the time for this exam is over; this answer was not accepted"))
    next_status(sitting.status, Command.answer)
    from engine.adaptive.service import check_answerable
    check_answerable(session, sitting, position)  # adaptive: only the pending item, no going back
    if not 0 < client_seq <= MAX_CLIENT_SEQ:
        raise InvalidInputError(N_("sequence number %(seq)s is out of range"), "seq", seq=client_seq)
    presented = _session_item(session, sitting, position)
    version = session.get(ItemVersion, presented.item_version_id)
    assert version is not None
    item = session.get(Item, version.item_id)
    assert item is not None
    answer = _validated_answer(item.item_type, version.options, answer)
    stored = session.exec(select(Response).where(Response.candidate_session_id == sitting.id,
                                                 Response.position == position)).first()
    if stored is not None and client_seq <= stored.client_seq:
        return AnswerReceipt(position, list(stored.answer), stored.client_seq, replayed=True)
    if stored is None:
        stored = Response(candidate_session_id=sitting.id, position=position, answer=answer,
                          client_seq=client_seq, answered_at=now)
    else:
        stored.answer, stored.client_seq, stored.answered_at = answer, client_seq, now
    session.add(stored)
    sitting.current_position = position
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "response.recorded", "candidate_session", sitting.id,
                 {"position": position, "answer": answer, "client_seq": client_seq})
    return AnswerReceipt(position, answer, client_seq, replayed=False)


def _session_item(session: Session, sitting: CandidateSession, position: int) -> SessionItem:
    line = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id,
                                                  SessionItem.position == position)).first()
    if line is None:
        raise NotFoundError(N_("this exam has no question %(n)s"), n=position)
    return line


MAX_TEXT_ANSWER = 200  # a text-entry answer, as the input allows
MAX_WRITTEN_ANSWER = 20000  # a written (extended) answer


def _validated_answer(item_type: ItemType, options: list[dict], answer: list[str]) -> list[str]:
    if item_type in (ItemType.text, ItemType.extended):
        return _validated_text(item_type, answer)
    known = {option["id"] for option in options}
    unknown = [choice for choice in answer if choice not in known]
    if unknown:
        raise InvalidInputError(N_("option '%(option)s' does not exist for this question"), "answer", option=unknown[0])
    chosen = sorted(set(answer))
    if item_type in (ItemType.single, ItemType.truefalse) and len(chosen) > 1:
        raise InvalidInputError(N_("this question takes exactly one answer"), "answer")
    return chosen


def _validated_text(item_type: ItemType, answer: list[str]) -> list[str]:
    """Typed answers are stored as one string; a blank one clears the answer."""
    if len(answer) > 1:
        raise InvalidInputError(N_("this question takes one typed answer"), "answer")
    text = answer[0] if answer else ""
    limit = MAX_TEXT_ANSWER if item_type == ItemType.text else MAX_WRITTEN_ANSWER
    if len(text) > limit:
        raise InvalidInputError(N_("the answer is longer than %(n)s characters"), "answer", n=limit)
    if any(ord(ch) < 32 and ch not in "\n\t\r" for ch in text):
        raise InvalidInputError(N_("the answer contains control characters"), "answer")
    text = text.strip() if item_type == ItemType.text else text.replace("\r\n", "\n").rstrip()
    return [text] if text.strip() else []


def set_flag(session: Session, sitting: CandidateSession, position: int, flagged: bool, actor: str,
             now: datetime) -> SessionItem:
    settle_if_overdue(session, sitting, now)
    next_status(sitting.status, Command.flag)
    line = _session_item(session, sitting, position)
    line.flagged = flagged
    session.add(line)
    session.flush()
    audit.record(session, actor, "item.flagged" if flagged else "item.unflagged", "candidate_session",
                 sitting.id, {"position": position})
    return line


def presented_position(session: Session, sitting: CandidateSession, position: int) -> None:
    """Raise NotFoundError unless the sitting has a question at ``position`` (no state change)."""
    _session_item(session, sitting, position)


def navigate(session: Session, sitting: CandidateSession, position: int) -> None:
    """Remember where the candidate is, so a reload or another workstation resumes there."""
    next_status(sitting.status, Command.navigate)
    _session_item(session, sitting, position)
    if sitting.current_position != position:
        sitting.current_position = position
        session.add(sitting)
        session.flush()


# ---- supervisor commands (engine/proctoring/service.py records and audits the why) ----


def pause(session: Session, sitting: CandidateSession, actor: str, now: datetime) -> CandidateSession:
    """Hold the sitting: no answers, no expiry; the time left stands still until resume."""
    settle_if_overdue(session, sitting, now)
    sitting.status = next_status(sitting.status, Command.pause)
    sitting.paused_at = now
    return _saved(session, sitting, actor, "session.paused", {"deadline": sitting.deadline})


def resume(session: Session, sitting: CandidateSession, actor: str, now: datetime) -> CandidateSession:
    """Continue after a pause; the deadline moves by exactly the time paused."""
    sitting.status = next_status(sitting.status, Command.resume)
    assert sitting.deadline is not None and sitting.paused_at is not None
    paused_seconds = max(0.0, (now - sitting.paused_at).total_seconds())
    sitting.deadline = timing.deadline_after_pause(sitting.deadline, sitting.paused_at, now)
    sitting.paused_at = None
    return _saved(session, sitting, actor, "session.resumed",
                  {"deadline": sitting.deadline, "paused_seconds": round(paused_seconds, 3)})


def extend(session: Session, sitting: CandidateSession, minutes: int, actor: str, now: datetime) -> CandidateSession:
    """Give more time (a supervisor's extension); refused once the deadline has passed."""
    settle_if_overdue(session, sitting, now)
    sitting.status = next_status(sitting.status, Command.extend)
    assert sitting.deadline is not None
    sitting.deadline = timing.extended(sitting.deadline, minutes)
    sitting.extension_minutes += minutes
    return _saved(session, sitting, actor, "session.extended", {"deadline": sitting.deadline, "minutes": minutes})


def terminate(session: Session, sitting: CandidateSession, actor: str, now: datetime) -> Result:
    """Forced submission by a supervisor: scored like any other hand-in."""
    if settle_if_overdue(session, sitting, now):
        return result_of(session, sitting)
    sitting.paused_at = None
    return _finish(session, sitting, actor=actor, now=now, command=Command.terminate, reason="terminated")


def check_command(sitting: CandidateSession, command: Command) -> None:
    """Raise IllegalTransitionError unless ``command`` is allowed now (warn, flag_incident)."""
    next_status(sitting.status, command)


def _saved(session: Session, sitting: CandidateSession, actor: str, action: str, data: dict) -> CandidateSession:
    session.add(sitting)
    session.flush()
    audit.record(session, actor, action, "candidate_session", sitting.id, data)
    return sitting


def submit(session: Session, sitting: CandidateSession, actor: str, now: datetime) -> Result:
    """Hand in the sitting; a second submission (another tab, a retry) returns the same result."""
    if settle_if_overdue(session, sitting, now):
        return result_of(session, sitting)
    lock_sitting(session, sitting)
    if sitting.status == CandidateSessionStatus.submitted:
        return result_of(session, sitting)
    return _finish(session, sitting, actor=actor, now=now, command=Command.submit, reason="candidate")


def _finish(session: Session, sitting: CandidateSession, actor: str, now: datetime, command: Command,
            reason: str) -> Result:
    sitting.status = next_status(sitting.status, command)
    sitting.submitted_at = now
    sitting.submit_reason = reason
    session.add(sitting)
    result = _score(session, sitting)
    session.add(result)
    session.flush()
    audit.record(session, actor, "session.submitted", "candidate_session", sitting.id, {"reason": reason})
    audit.record(session, actor, "result.recorded", "result", result.id,
                 {"candidate_session": sitting.id, "score": result.score, "passed": result.passed})
    return result


def _score(session: Session, sitting: CandidateSession) -> Result:
    """Each item by its own response processing; written answers queue for an examiner's
    mark and keep the result provisional (not passed) until the last one is marked."""
    from engine.adaptive.service import adaptive_result, is_adaptive
    if is_adaptive(session, sitting):  # θ, SE and the 0–100 score on the reference form's TCC
        return adaptive_result(session, sitting, definition_of(session, sitting))
    scored = tally_sitting(session, sitting, queue_marks=True)
    score = scored.score()
    definition = definition_of(session, sitting)
    return Result(candidate_session_id=sitting.id, raw_points=scored.earned, max_points=scored.possible,
                  score=score, passed=scored.pending == 0 and score >= definition.pass_mark,
                  provisional=scored.pending > 0)


def expire_overdue(session: Session, now: datetime) -> int:
    """Submit every sitting whose deadline has passed, browser or not; returns how many."""
    overdue = session.exec(select(CandidateSession).where(
        CandidateSession.status == CandidateSessionStatus.in_progress,
        col(CandidateSession.deadline) <= now).with_for_update(skip_locked=True)).all()
    for sitting in overdue:
        settle_if_overdue(session, sitting, now)
    return len(overdue)


# ---- views --------------------------------------------------------------------


def presented_items(session: Session, sitting: CandidateSession) -> list[PresentedItem]:
    rows = session.exec(
        select(SessionItem, ItemVersion, Item)
        .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
        .join(Item, col(Item.id) == ItemVersion.item_id)
        .where(SessionItem.candidate_session_id == sitting.id)
        .order_by(SessionItem.position)
    ).all()
    answers = {r.position: list(r.answer) for r in session.exec(
        select(Response).where(Response.candidate_session_id == sitting.id)).all()}
    return [PresentedItem(position=line.position, item_type=item.item_type, stem=version.stem,
                          options=[{"id": o["id"], "text": o["text"]} for o in version.options],
                          answer=answers.get(line.position, []), flagged=line.flagged)
            for line, version, item in rows]


def progress_of(items: list[PresentedItem]) -> Progress:
    return Progress(total=len(items), answered=sum(1 for i in items if i.answer),
                    flagged=sum(1 for i in items if i.flagged))


def last_client_seq(session: Session, sitting: CandidateSession) -> int:
    seqs = session.exec(select(Response.client_seq).where(Response.candidate_session_id == sitting.id)).all()
    return max(seqs, default=0)


def result_of(session: Session, sitting: CandidateSession) -> Result:
    result = session.exec(select(Result).where(Result.candidate_session_id == sitting.id)).first()
    if result is None:
        raise NotFoundError(N_("this exam has no result yet"))
    return result


def seconds_left(sitting: CandidateSession, now: datetime) -> int:
    """Time left by the server's clock; a paused sitting's clock stands at the pause."""
    if sitting.status not in (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused):
        return 0
    return timing.seconds_left(sitting.deadline, now, sitting.paused_at)
