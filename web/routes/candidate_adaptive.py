"""The candidate's adaptive sitting: one item at a time, no going back.

The page shows the pending item only. Answers save as in the fixed sitting (htmx,
idempotent by client sequence number); "Next" commits the saved answer — the server
scores it, updates θ and serves the next item or ends the test. Every request rebuilds
the sitting by replaying its stored steps (engine/adaptive), so a reload, a dropped
connection or another workstation continues with the same next item.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from engine import delivery
from engine.adaptive import service as adaptive
from engine.errors import N_, DeadlinePassedError, NotFoundError
from engine.models import CandidateSession, CandidateSessionStatus, Role, User
from web.auth import allow
from web.bus import publish_after_commit, room_channel
from web.deps import current_user, get_db, now
from web.templating import render

router = APIRouter(prefix="/candidate/sessions/{sitting_id}/adaptive")


def page_url(sitting_id: int) -> str:
    return f"/candidate/sessions/{sitting_id}/adaptive"


def _my_sitting(db: Session, user: User, sitting_id: int) -> CandidateSession:
    """The candidate's own adaptive sitting (a fixed sitting is "not found" here)."""
    candidate = delivery.candidate_for_user(db, user.id)
    sitting = delivery.owned_session(db, sitting_id, candidate.id)
    if sitting.status != CandidateSessionStatus.scheduled and not adaptive.is_adaptive(db, sitting):
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
    return sitting


def _go(request: Request, url: str):
    """Redirect a plain form post, or tell htmx to load the page."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _row_changed(request: Request, sitting: CandidateSession) -> None:
    publish_after_commit(request.app.state.bus,
                         [(room_channel(sitting.exam_session_id), {"type": "row", "sitting": sitting.id})])


@router.get("")
@allow(Role.candidate)
def item_page(request: Request, sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
              at: datetime = Depends(now)):
    """The pending item of an adaptive sitting (replayed from the stored steps)."""
    sitting = _my_sitting(db, user, sitting_id)
    if delivery.settle_if_overdue(db, sitting, at):
        db.commit()
    if sitting.status == CandidateSessionStatus.submitted:
        return RedirectResponse(f"/candidate/sessions/{sitting_id}/result", status_code=303)
    if sitting.status == CandidateSessionStatus.scheduled:
        return RedirectResponse("/candidate", status_code=303)
    view = adaptive.pending_view(db, sitting)
    return render(request, "candidate/adaptive.html", {
        "sitting": sitting, "definition": delivery.definition_of(db, sitting), "item": view.item,
        "step": view.step, "max_length": view.max_length,
        "seconds_left": delivery.seconds_left(sitting, at),
        "deadline_ms": int(sitting.deadline.timestamp() * 1000) if sitting.deadline else 0,
        "server_now_ms": int(at.timestamp() * 1000), "last_seq": delivery.last_client_seq(db, sitting),
        "answer_url": f"{page_url(sitting_id)}/{view.item.position}/answer"})


@router.post("/{position}/answer")
@allow(Role.candidate)
def answer(request: Request, sitting_id: int, position: int, seq: int = Form(), answer: list[str] = Form(default=[]),
           db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Save the answer to the pending item (idempotent by sequence number); confirm what is stored."""
    sitting = _my_sitting(db, user, sitting_id)
    try:
        receipt = delivery.record_answer(db, sitting, position, answer, seq, user.username, at)
    except DeadlinePassedError:
        db.commit()  # the refusal and the server-side submission are facts to keep
        raise
    item_type = adaptive.item_type_at(db, sitting, position)
    db.commit()  # committed before the candidate is told it is stored
    if not receipt.replayed:
        _row_changed(request, sitting)
    return render(request, "candidate/adaptive_saved.html", {"receipt": receipt, "item_type": item_type})


@router.post("/{position}/next")
@allow(Role.candidate)
def next_item(request: Request, sitting_id: int, position: int, seq: int | None = Form(default=None),
              answer: list[str] | None = Form(default=None), db: Session = Depends(get_db),
              user: User = Depends(current_user), at: datetime = Depends(now)):
    """Commit the answer to the item at ``position`` and go on (a repeated click changes nothing).

    The form may carry the answer as shown (so a save still in flight cannot be lost).
    """
    sitting = _my_sitting(db, user, sitting_id)
    if answer is not None and seq is not None and adaptive.is_pending(db, sitting, position):
        try:
            delivery.record_answer(db, sitting, position, answer, seq, user.username, at)
        except DeadlinePassedError:
            db.commit()
            raise
    finished = adaptive.advance(db, sitting, position, user.username, at)
    db.commit()
    _row_changed(request, sitting)
    if finished:
        return _go(request, f"/candidate/sessions/{sitting_id}/result")
    return _go(request, page_url(sitting_id))
