"""The candidate's pages: today's exams, one item per screen, review, submit, result."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from engine import delivery
from engine.adaptive import service as adaptive
from engine.models import CandidateSession, CandidateSessionStatus, Role, User
from engine.results import service as results
from web.auth import allow
from web.bus import publish_after_commit, publish_row, room_channel
from web.deps import current_user, get_db, now
from web.group_commit import write
from web.routes.candidate_adaptive import page_url as adaptive_page
from web.templating import render

router = APIRouter(prefix="/candidate")


def _my_sitting(db: Session, user: User, sitting_id: int) -> CandidateSession:
    candidate = delivery.candidate_for_user(db, user.id)
    return delivery.owned_session(db, sitting_id, candidate.id)


def _item_url(sitting_id: int, position: int) -> str:
    return f"/candidate/sessions/{sitting_id}/items/{position}"


def _result_url(sitting_id: int) -> str:
    return f"/candidate/sessions/{sitting_id}/result"


def _row_changed(request: Request, sitting: CandidateSession) -> None:
    """After commit: supervisors watching the room see this candidate's new row."""
    publish_after_commit(request.app.state.bus,
                         [(room_channel(sitting.exam_session_id), {"type": "row", "sitting": sitting.id})])


def _settled(db: Session, sitting: CandidateSession, at: datetime) -> bool:
    """Submit an overdue sitting now; True when the sitting is over."""
    if delivery.settle_if_overdue(db, sitting, at):
        db.commit()
    return sitting.status == CandidateSessionStatus.submitted


@router.get("")
@allow(Role.candidate)
def my_exams(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user),
             at: datetime = Depends(now)):
    """Today's and past exams of the signed-in candidate."""
    candidate = delivery.candidate_for_user(db, user.id)
    sittings = delivery.sittings_of(db, candidate.id)
    for sitting, _session, _definition in sittings:
        _settled(db, sitting, at)
    return render(request, "candidate/home.html", {"candidate": candidate, "sittings": sittings, "now": at})


@router.post("/sessions/{sitting_id}/start")
@allow(Role.candidate)
async def start(request: Request, sitting_id: int, user: User = Depends(current_user), at: datetime = Depends(now)):
    """Start the exam: the server fixes the deadline now (in the worker's group commit)."""

    def start_unless_started(db: Session) -> CandidateSession | None:
        sitting = _my_sitting(db, user, sitting_id)
        if sitting.status != CandidateSessionStatus.scheduled:
            return None
        return delivery.start(db, sitting, user.username, at)

    started = await write(request.app, start_unless_started)
    if started is not None:
        await publish_row(request.app.state.bus, started.exam_session_id, started.id)
    return RedirectResponse(f"/candidate/sessions/{sitting_id}", status_code=303)


@router.get("/sessions/{sitting_id}")
@allow(Role.candidate)
def resume(sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
           at: datetime = Depends(now)):
    """Resume where the candidate was."""
    sitting = _my_sitting(db, user, sitting_id)
    if _settled(db, sitting, at):
        return RedirectResponse(_result_url(sitting_id), status_code=303)
    if sitting.status == CandidateSessionStatus.scheduled:
        return RedirectResponse("/candidate", status_code=303)
    if adaptive.is_adaptive(db, sitting):  # one item at a time, no navigator (candidate_adaptive.py)
        return RedirectResponse(adaptive_page(sitting_id), status_code=303)
    return RedirectResponse(_item_url(sitting_id, sitting.current_position), status_code=303)


@router.get("/sessions/{sitting_id}/items/{position}")
@allow(Role.candidate)
def item_screen(request: Request, sitting_id: int, position: int, db: Session = Depends(get_db),
                user: User = Depends(current_user), at: datetime = Depends(now)):
    """One item per screen, with the navigator and the server's deadline."""
    sitting = _my_sitting(db, user, sitting_id)
    if _settled(db, sitting, at):
        return RedirectResponse(_result_url(sitting_id), status_code=303)
    if sitting.status == CandidateSessionStatus.scheduled:
        return RedirectResponse("/candidate", status_code=303)
    if adaptive.is_adaptive(db, sitting):
        return RedirectResponse(adaptive_page(sitting_id), status_code=303)
    if sitting.status == CandidateSessionStatus.paused:
        delivery.presented_position(db, sitting, position)  # a reload while paused shows the overlay
    else:
        delivery.navigate(db, sitting, position)
        db.commit()
    return render(request, "candidate/item.html", _sitting_context(db, sitting, at, position), block="item")


def _sitting_context(db: Session, sitting: CandidateSession, at: datetime, position: int) -> dict:
    items = delivery.presented_items(db, sitting)
    by_position = {item.position: item for item in items}
    positions = [item.position for item in items]
    index = positions.index(position)
    return {
        "sitting": sitting,
        "definition": delivery.definition_of(db, sitting),
        "items": items,
        "item": by_position[position],
        "previous": positions[index - 1] if index > 0 else None,
        "next": positions[index + 1] if index + 1 < len(positions) else None,
        "progress": delivery.progress_of(items),
        "seconds_left": delivery.seconds_left(sitting, at),
        "deadline_ms": int(sitting.deadline.timestamp() * 1000) if sitting.deadline else 0,
        "server_now_ms": int(at.timestamp() * 1000),
        "last_seq": delivery.last_client_seq(db, sitting),
    }


@router.post("/sessions/{sitting_id}/items/{position}/flag")
@allow(Role.candidate)
def flag(request: Request, sitting_id: int, position: int, flagged: bool = Form(),
         db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Mark an item for review, or clear the mark."""
    sitting = _my_sitting(db, user, sitting_id)
    delivery.set_flag(db, sitting, position, flagged, user.username, at)
    db.commit()
    if sitting.status == CandidateSessionStatus.submitted:
        return RedirectResponse(_result_url(sitting_id), status_code=303)
    items = delivery.presented_items(db, sitting)
    return render(request, "candidate/_flag.html",
                  {"item": next(i for i in items if i.position == position), "sitting": sitting,
                   "progress": delivery.progress_of(items)})


@router.get("/sessions/{sitting_id}/review")
@allow(Role.candidate)
def review(request: Request, sitting_id: int, db: Session = Depends(get_db),
           user: User = Depends(current_user), at: datetime = Depends(now)):
    """Overview before submission: unanswered and flagged items."""
    sitting = _my_sitting(db, user, sitting_id)
    if _settled(db, sitting, at):
        return RedirectResponse(_result_url(sitting_id), status_code=303)
    if adaptive.is_adaptive(db, sitting):  # no going back in adaptive mode: nothing to review
        return RedirectResponse(adaptive_page(sitting_id), status_code=303)
    items = delivery.presented_items(db, sitting)
    return render(request, "candidate/review.html", {
        "sitting": sitting, "definition": delivery.definition_of(db, sitting), "items": items,
        "progress": delivery.progress_of(items), "seconds_left": delivery.seconds_left(sitting, at),
        "deadline_ms": int(sitting.deadline.timestamp() * 1000) if sitting.deadline else 0,
        "server_now_ms": int(at.timestamp() * 1000)})


@router.post("/sessions/{sitting_id}/submit")
@allow(Role.candidate)
def submit(request: Request, sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
           at: datetime = Depends(now)):
    """Hand in the exam; scoring happens on the server."""
    sitting = _my_sitting(db, user, sitting_id)
    if sitting.status != CandidateSessionStatus.submitted:
        delivery.submit(db, sitting, user.username, at)
        db.commit()
        _row_changed(request, sitting)
    return RedirectResponse(_result_url(sitting_id), status_code=303)


@router.get("/sessions/{sitting_id}/result")
@allow(Role.candidate)
def result(request: Request, sitting_id: int, db: Session = Depends(get_db),
           user: User = Depends(current_user), at: datetime = Depends(now)):
    """Score on 0–100 and pass/fail."""
    sitting = _my_sitting(db, user, sitting_id)
    _settled(db, sitting, at)
    context = {"sitting": sitting, "result": delivery.result_of(db, sitting),
               "definition": delivery.definition_of(db, sitting),
               "published": results.publication_of(db, sitting.exam_session_id) is not None}
    if adaptive.is_adaptive(db, sitting):  # θ, SE, items used and the decision's confidence
        context["summary"] = adaptive.summary(db, sitting_id)
        return render(request, "candidate/adaptive_result.html", context)
    return render(request, "candidate/result.html", context)
