"""Answers of many candidates recorded in one transaction: the hot path of a live sitting.

``delivery.record_answer`` stores one answer through the ORM and is what every other
caller uses. A full test center sends two hundred answers a second; one transaction, one
audit-head lock and one commit per answer is what limited it (docs/proctoring.md, "Load").
``record_batch`` stores a whole batch with a handful of Core statements and chains its
audit entries with ``audit.record_many``; the outcome of every answer is the one
``record_answer`` would give, in the same order of checks:

  1. the sitting is the signed-in candidate's own (else 404, as for any foreign id);
  2. past the deadline, or an adaptive sitting → ``full_path``: the caller uses
     ``record_answer``, which settles the sitting and audits the refusal, or checks the
     adaptive design (both rare, both need the ORM services);
  3. the sitting's state allows answering (409), the sequence number is in range (422),
     the position exists (404), the answer is valid for the item (422);
  4. a sequence number not newer than the stored one is a replay: nothing is written,
     the stored answer is confirmed.

The items presented to a sitting never change after start, so their types and options
are kept per worker (``PresentedLines``); everything that can change is read inside the
batch's transaction, with the sittings row-locked (PostgreSQL) in id order.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from sqlalchemy import and_, bindparam, insert, select, update
from sqlmodel import Session

from engine import audit
from engine.delivery import MAX_CLIENT_SEQ, AnswerReceipt, Progress, _validated_answer, is_overdue
from engine.errors import N_, DeliveryError, InvalidInputError, NotFoundError
from engine.lifecycle import Command, next_status
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamSession,
    Response,
    Role,
    SessionItem,
    User,
)
from itembank.models import Item, ItemType, ItemVersion


@dataclass(frozen=True)
class AnswerRequest:
    sitting_id: int
    user_id: int  # from the signed session
    role: str  # the role the session was signed in with
    position: int
    answer: list[str]
    client_seq: int
    at: datetime


@dataclass(frozen=True)
class AnswerOutcome:
    """What one answer came to; ``error`` and ``full_path`` exclude a receipt."""

    receipt: AnswerReceipt | None = None
    error: DeliveryError | None = None
    full_path: bool = False
    signed_out: bool = False  # the account was deactivated or changed role since sign-in
    item_type: ItemType | None = None
    flagged: bool = False  # the position's review mark, for the navigator cell
    progress: Progress | None = None
    exam_session_id: int = 0


@dataclass(frozen=True)
class Line:
    item_type: ItemType
    options: list[dict]


class PresentedLines:
    """Item type and options per position of started sittings, bounded, shared by threads."""

    def __init__(self, capacity: int = 20000) -> None:
        self.capacity = capacity
        self._lines: OrderedDict[int, dict[int, Line]] = OrderedDict()
        self._lock = Lock()

    def get(self, sitting_id: int) -> dict[int, Line] | None:
        with self._lock:
            lines = self._lines.get(sitting_id)
            if lines is not None:
                self._lines.move_to_end(sitting_id)
            return lines

    def put(self, sitting_id: int, lines: dict[int, Line]) -> None:
        if not lines:
            return  # not started yet: nothing fixed to remember
        with self._lock:
            self._lines[sitting_id] = lines
            self._lines.move_to_end(sitting_id)
            while len(self._lines) > self.capacity:
                self._lines.popitem(last=False)

    def load(self, session: Session, sitting_ids: list[int]) -> dict[int, dict[int, Line]]:
        """Lines of the given sittings, reading only those not remembered yet."""
        found = {sid: lines for sid in sitting_ids if (lines := self.get(sid)) is not None}
        missing = [sid for sid in sitting_ids if sid not in found]
        if missing:
            rows = session.execute(
                select(SessionItem.candidate_session_id, SessionItem.position, Item.item_type, ItemVersion.options)
                .join(ItemVersion, ItemVersion.id == SessionItem.item_version_id)
                .join(Item, Item.id == ItemVersion.item_id)
                .where(SessionItem.candidate_session_id.in_(missing))).all()
            loaded: dict[int, dict[int, Line]] = {sid: {} for sid in missing}
            for sid, position, item_type, options in rows:
                loaded[sid][position] = Line(ItemType(item_type), options)
            for sid, lines in loaded.items():
                self.put(sid, lines)
            found.update(loaded)
        return found


@dataclass
class _Sitting:
    id: int
    status: CandidateSessionStatus
    deadline: datetime | None
    submit_reason: str | None
    exam_session_id: int
    owner_user_id: int
    owner_username: str
    owner_signed_in: bool  # active, and still a candidate
    adaptive: bool

    def overdue(self, now: datetime) -> bool:
        return is_overdue(self, now) or self.submit_reason == "deadline"  # type: ignore[arg-type]


def record_batch(session: Session, requests: list[AnswerRequest], lines_cache: PresentedLines) -> list[AnswerOutcome]:
    """Store a batch of answers in the caller's transaction; one outcome per request, in order."""
    sitting_ids = sorted({r.sitting_id for r in requests})
    sittings = _locked_sittings(session, sitting_ids)
    lines = lines_cache.load(session, [sid for sid in sitting_ids if sid in sittings])
    stored = _stored_responses(session, sitting_ids)
    outcomes: list[AnswerOutcome | None] = []
    inserts: dict[tuple[int, int], dict] = {}
    updates: dict[tuple[int, int], dict] = {}
    positions: dict[int, int] = {}
    entries: list[audit.Pending] = []
    for request in requests:
        sitting = sittings.get(request.sitting_id)
        if sitting is not None and sitting.owner_user_id == request.user_id and (
                not sitting.owner_signed_in or request.role != Role.candidate.value):
            outcomes.append(AnswerOutcome(signed_out=True))
            continue
        try:
            answer = _checked(request, sitting, lines.get(request.sitting_id, {}))
        except DeliveryError as exc:
            outcomes.append(AnswerOutcome(error=exc))
            continue
        if answer is None:
            outcomes.append(AnswerOutcome(full_path=True))
            continue
        key = (request.sitting_id, request.position)
        previous = stored.get(key)
        if previous is not None and request.client_seq <= previous[0]:
            outcomes.append(None)  # a replay: filled in below, with the progress after the batch
            continue
        row = {"sid": request.sitting_id, "position": request.position, "answer": answer,
               "client_seq": request.client_seq, "answered_at": request.at}
        (updates if key in updates or (previous is not None and key not in inserts) else inserts)[key] = row
        stored[key] = (request.client_seq, answer)
        positions[request.sitting_id] = request.position
        entries.append(audit.Pending(sitting.owner_username, "response.recorded", "candidate_session",
                                     request.sitting_id, {"position": request.position, "answer": answer,
                                                          "client_seq": request.client_seq}))
        outcomes.append(AnswerOutcome(receipt=AnswerReceipt(request.position, answer, request.client_seq, False)))
    _write(session, list(inserts.values()), list(updates.values()), positions)
    audit.record_many(session, entries)
    return _completed(session, requests, outcomes, sittings, lines, stored)


def _locked_sittings(session: Session, sitting_ids: list[int]) -> dict[int, _Sitting]:
    """The batch's sittings with their owner, row-locked in id order (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers), so a pause or the deadline sweeper and
    this batch never interleave and two batches never deadlock."""
    rows = session.execute(
        select(CandidateSession.id, CandidateSession.status, CandidateSession.deadline, CandidateSession.submit_reason,
               CandidateSession.exam_session_id, Candidate.user_id, User.username, User.active, User.role,
               ExamDefinition.theory_mode)
        .join(Candidate, Candidate.id == CandidateSession.candidate_id)
        .join(User, User.id == Candidate.user_id)
        .join(ExamSession, ExamSession.id == CandidateSession.exam_session_id)
        .join(ExamDefinition, ExamDefinition.id == ExamSession.exam_definition_id)
        .where(CandidateSession.id.in_(sitting_ids))
        .order_by(CandidateSession.id)
        .with_for_update(of=CandidateSession)).all()
    return {row[0]: _Sitting(row[0], CandidateSessionStatus(row[1]), row[2], row[3], row[4], row[5], row[6],
                             bool(row[7]) and Role(row[8]) == Role.candidate, row[9] == "adaptive")
            for row in rows}


def _stored_responses(session: Session, sitting_ids: list[int]) -> dict[tuple[int, int], tuple[int, list[str]]]:
    rows = session.execute(select(Response.candidate_session_id, Response.position, Response.client_seq,
                                  Response.answer).where(Response.candidate_session_id.in_(sitting_ids))).all()
    return {(sid, position): (seq, list(answer)) for sid, position, seq, answer in rows}


def _checked(request: AnswerRequest, sitting: _Sitting | None, lines: dict[int, Line]) -> list[str] | None:
    """The validated answer, None for the full path; raises what ``record_answer`` raises."""
    if sitting is None or sitting.owner_user_id != request.user_id:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=request.sitting_id)
    if sitting.overdue(request.at) or sitting.adaptive:
        return None
    next_status(sitting.status, Command.answer)
    if not 0 < request.client_seq <= MAX_CLIENT_SEQ:
        raise InvalidInputError(N_("sequence number %(seq)s is out of range"), "seq", seq=request.client_seq)
    line = lines.get(request.position)
    if line is None:
        raise NotFoundError(N_("this exam has no question %(n)s"), n=request.position)
    return _validated_answer(line.item_type, line.options, request.answer)


def _write(session: Session, inserts: list[dict], updates: list[dict], positions: dict[int, int]) -> None:
    table, sittings = Response.__table__, CandidateSession.__table__
    if inserts:
        session.execute(insert(table), [{"candidate_session_id": r["sid"], "position": r["position"],
                                         "answer": r["answer"], "client_seq": r["client_seq"],
                                         "answered_at": r["answered_at"]} for r in inserts])
    if updates:
        session.execute(update(table).where(and_(table.c.candidate_session_id == bindparam("sid"),
                                                 table.c.position == bindparam("pos")))
                        .values(answer=bindparam("answer"), client_seq=bindparam("seq"),
                                answered_at=bindparam("answered_at")),
                        [{"sid": r["sid"], "pos": r["position"], "answer": r["answer"], "seq": r["client_seq"],
                          "answered_at": r["answered_at"]} for r in updates])
    if positions:
        session.execute(update(sittings).where(sittings.c.id == bindparam("sid"))
                        .values(current_position=bindparam("pos")),
                        [{"sid": sid, "pos": pos} for sid, pos in positions.items()])


def _completed(session: Session, requests: list[AnswerRequest], outcomes: list[AnswerOutcome | None],
               sittings: dict[int, _Sitting], lines: dict[int, dict[int, Line]],
               stored: dict[tuple[int, int], tuple[int, list[str]]]) -> list[AnswerOutcome]:
    """Add what the candidate's page shows next to the receipt: the navigator cell and progress."""
    wanted = sorted({r.sitting_id for r, o in zip(requests, outcomes, strict=True)
                     if o is None or o.receipt is not None})
    flagged = _flagged(session, wanted)
    answered: dict[int, int] = {}
    for (sid, position), (_seq, answer) in stored.items():
        if answer and position in lines.get(sid, {}):
            answered[sid] = answered.get(sid, 0) + 1
    done = []
    for request, outcome in zip(requests, outcomes, strict=True):
        if outcome is not None and outcome.receipt is None:
            done.append(outcome)
            continue
        sid, position = request.sitting_id, request.position
        receipt = outcome.receipt if outcome is not None else AnswerReceipt(
            position, stored[(sid, position)][1], stored[(sid, position)][0], replayed=True)
        sitting_lines = lines[sid]
        done.append(AnswerOutcome(
            receipt=receipt, item_type=sitting_lines[position].item_type,
            flagged=(sid, position) in flagged, exam_session_id=sittings[sid].exam_session_id,
            progress=Progress(total=len(sitting_lines), answered=answered.get(sid, 0),
                              flagged=sum(1 for s, _p in flagged if s == sid))))
    return done


def _flagged(session: Session, sitting_ids: list[int]) -> set[tuple[int, int]]:
    if not sitting_ids:
        return set()
    rows = session.execute(select(SessionItem.candidate_session_id, SessionItem.position)
                           .where(SessionItem.candidate_session_id.in_(sitting_ids),
                                  SessionItem.flagged == True)).all()  # noqa: E712 — SQL, not Python
    return {(sid, position) for sid, position in rows}

