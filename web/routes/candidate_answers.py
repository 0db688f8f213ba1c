"""The candidate's answer: the one request a full test center sends hundreds of a second.

Stored at once, idempotent by the page's sequence number, acknowledged only after commit
(invariant 1). Answers of all candidates of this worker go through its group commit
(web/group_commit.py, engine/answers.py): one transaction, one audit-head lock and one
commit per batch. A sitting past its deadline, or an adaptive one, takes the full path
(``delivery.record_answer``) that settles the sitting or checks the adaptive design.

The route is mounted without the app-wide dependencies (see ``create_app``): it checks
the CSRF token and the signed session's role here, and the batch checks in its own
transaction that the account is active, still a candidate and owns the sitting, so no
separate look-up of the user costs a thread hop and a transaction per answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from engine import delivery
from engine.answers import AnswerOutcome, AnswerRequest
from engine.delivery import AnswerReceipt, Progress
from engine.errors import N_, DeadlinePassedError, InvalidInputError
from engine.models import CandidateSession, Role, User
from itembank.models import ItemType
from web.auth import allow, check_csrf
from web.bus import publish_row
from web.errors import Forbidden, LoginRequired
from web.group_commit import write
from web.templating import render

router = APIRouter()  # mounted without the app-wide HTTP dependencies (see create_app)


@dataclass(frozen=True)
class _Cell:
    """What the navigator cell of the answered position shows."""

    position: int
    item_type: ItemType
    answer: list[str]
    flagged: bool


@router.post("/candidate/sessions/{sitting_id}/items/{position}/answer")
@allow(Role.candidate)
async def answer(request: Request, sitting_id: int, position: int) -> HTMLResponse:
    """Store an answer at once (idempotent by sequence number); confirm what was stored."""
    await check_csrf(request)
    user_id, role = request.session.get("uid"), request.session.get("role")
    if user_id is None:
        raise LoginRequired()
    if role != Role.candidate.value:
        raise Forbidden()
    form = await request.form()
    seq = _sequence_number(form.get("seq"))
    answer_given = [str(value) for value in form.getlist("answer")]
    at: datetime = request.app.state.clock()
    outcome: AnswerOutcome = await request.app.state.writer.submit(
        AnswerRequest(sitting_id, int(user_id), role, position, answer_given, seq, at))
    if outcome.signed_out:
        request.session.clear()
        raise LoginRequired()
    if outcome.error is not None:
        raise outcome.error
    if outcome.full_path:
        return await _full_path(request, sitting_id, position, answer_given, seq, at)
    receipt = outcome.receipt
    if not receipt.replayed:
        await publish_row(request.app.state.bus, outcome.exam_session_id, sitting_id)
    return _saved(request, sitting_id, receipt,
                  _Cell(position, outcome.item_type, receipt.answer, outcome.flagged), outcome.progress)


def _sequence_number(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidInputError(N_("sequence number %(seq)s is out of range"), "seq", seq=str(value)[:20]) from None


def _saved(request: Request, sitting_id: int, receipt: AnswerReceipt, cell: _Cell, progress: Progress) -> HTMLResponse:
    return render(request, "candidate/_saved.html",
                  {"receipt": receipt, "item": cell, "progress": progress, "sitting": {"id": sitting_id}})


async def _full_path(request: Request, sitting_id: int, position: int, answer_given: list[str], seq: int,
                     at: datetime) -> HTMLResponse:
    """``delivery.record_answer`` as a job of the worker's group commit (deadline passed, adaptive)."""
    user_id = int(request.session["uid"])

    def job(db: Session):
        sitting = db.get(CandidateSession, sitting_id)
        username = db.get(User, user_id).username
        items = delivery.presented_items(db, sitting)
        try:
            receipt = delivery.record_answer(db, sitting, position, answer_given, seq, username, at)
        except DeadlinePassedError as refused:
            return refused  # returned, not raised: the refusal and the server-side submission are kept
        return receipt, items, sitting.exam_session_id

    done = await write(request.app, job)
    if isinstance(done, DeadlinePassedError):
        raise done
    receipt, items, exam_session_id = done
    items = [replace(i, answer=receipt.answer) if i.position == position else i for i in items]
    item = next(i for i in items if i.position == position)
    if not receipt.replayed:
        await publish_row(request.app.state.bus, exam_session_id, sitting_id)
    return _saved(request, sitting_id, receipt, _Cell(position, item.item_type, receipt.answer, item.flagged),
                  delivery.progress_of(items))
