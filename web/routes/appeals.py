"""Results for candidates (after publication) with review requests (成绩复核); the reviewers'
appeal list and file; candidates' own admission tickets.

A refused request (window closed, not yet published, no reason) comes back on the page
with its reason and 4xx status; nothing is written.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from engine import delivery
from engine.errors import N_, DeliveryError, InvalidInputError, NotFoundError
from engine.models import Role, User
from engine.results import service as results
from engine.scheduling import tickets
from web.auth import allow
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.templating import render

router = APIRouter()


# ---- candidates ---------------------------------------------------------------------------------------


def _my_results(request: Request, db: Session, user: User, errors: dict | None = None, failed: int | None = None,
                status_code: int = 200):
    candidate = delivery.candidate_for_user(db, user.id)
    return render(request, "candidate/results.html", {
        "lines": results.results_for_candidate(db, candidate.id), "errors": errors or {}, "failed": failed},
        status_code=status_code)


@router.get("/candidate/results")
@allow(Role.candidate)
def my_results(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """My sittings: tickets, published part scores and results, reviews, the survey."""
    return _my_results(request, db, user)


@router.post("/candidate/results/{sitting_id}/appeal")
@allow(Role.candidate)
def request_appeal(request: Request, sitting_id: int, part: str = Form(""), reason: str = Form(""),
                   db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Ask for one part's score to be re-checked, within the review window."""
    candidate = delivery.candidate_for_user(db, user.id)
    try:
        results.request_appeal(db, candidate.id, sitting_id, part, reason, at)
    except NotFoundError:
        raise
    except DeliveryError as exc:
        db.rollback()
        field = exc.field if exc.field in ("part", "reason") else "_form"
        return _my_results(request, db, user, {field: message_of(request, exc)}, sitting_id,
                           status_for(exc))
    db.commit()
    return RedirectResponse(f"/candidate/results#sitting-{sitting_id}", status_code=303)


@router.get("/candidate/results/{sitting_id}/ticket.pdf")
@allow(Role.candidate)
def my_ticket(request: Request, sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """My admission ticket for a sitting."""
    candidate = delivery.candidate_for_user(db, user.id)
    sitting = delivery.owned_session(db, sitting_id, candidate.id)
    sheets = tickets.ticket_sheets(db, sitting.exam_session_id, sitting.id)
    return Response(tickets.render_tickets(sheets), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="ticket-{sheets[0].ticket_number}.pdf"'})


# ---- reviewers (administrators) ---------------------------------------------------------------------------


def _appeals_page(request: Request, db: Session, errors: dict | None = None, status_code: int = 200):
    return render(request, "admin/appeals.html", {"appeals": results.appeals(db),
                                                  "policy": results.results_policy(db), "errors": errors or {}},
                  status_code=status_code)


@router.get("/admin/appeals")
@allow(Role.admin)
def appeals(request: Request, db: Session = Depends(get_db)):
    """Review requests, open first, and the review window setting."""
    return _appeals_page(request, db)


@router.post("/admin/appeals/window")
@allow(Role.admin)
def set_window(request: Request, appeal_window_days: str = Form(""), db: Session = Depends(get_db),
               admin: User = Depends(current_user)):
    """Set how many days after publication a review may be asked."""
    try:
        if not appeal_window_days.strip().isdigit():
            raise InvalidInputError(N_("the review window must be a whole number of days"), "appeal_window_days")
        results.set_appeal_window(db, int(appeal_window_days), admin.username)
    except DeliveryError as exc:
        db.rollback()
        return _appeals_page(request, db, {"appeal_window_days": message_of(request, exc)}, status_for(exc))
    db.commit()
    return RedirectResponse("/admin/appeals", status_code=303)


def _appeal_page(request: Request, db: Session, appeal_id: int, errors: dict | None = None, values: dict | None = None,
                 status_code: int = 200):
    return render(request, "admin/appeal.html", {"file": results.appeal_file(db, appeal_id), "errors": errors or {},
                                                 "values": values or {}}, status_code=status_code)


@router.get("/admin/appeals/{appeal_id}")
@allow(Role.admin)
def appeal(request: Request, appeal_id: int, db: Session = Depends(get_db)):
    """The review file: the score sheet item by item, recorded part scores, the outcome."""
    return _appeal_page(request, db, appeal_id)


@router.post("/admin/appeals/{appeal_id}/decide")
@allow(Role.admin)
def decide(request: Request, appeal_id: int, outcome: str = Form(""), finding: str = Form(""),
           new_score: str = Form(""), db: Session = Depends(get_db), admin: User = Depends(current_user),
           at: datetime = Depends(now)):
    """Uphold the score or correct it, with what the re-check found."""
    results.get_appeal(db, appeal_id)
    try:
        score = None
        if new_score.strip():
            try:
                score = float(new_score)
            except ValueError:
                raise InvalidInputError(N_("a correction needs the new score between 0 and 100"),
                                        "new_score") from None
        results.decide_appeal(db, appeal_id, outcome, finding, score, admin.username, at)
    except DeliveryError as exc:
        db.rollback()
        values = {"outcome": outcome, "finding": finding, "new_score": new_score}
        fields = ("outcome", "finding", "new_score")
        return _appeal_page(request, db, appeal_id, {exc.field if exc.field in fields else "_form":
                                                     message_of(request, exc)}, values, status_for(exc))
    db.commit()
    return RedirectResponse(f"/admin/appeals/{appeal_id}", status_code=303)
