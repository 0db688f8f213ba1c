"""Marking written (rubric) answers: the queue and one answer at a time.

Marking is blind: the page shows the exam, the question, its rubric and the answer, never
who wrote it. Every mark is audited; the last mark of a sitting finalizes its result.
Included into ``web.routes.examiner.router`` (prefix /examiner).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from engine.errors import N_, InvalidInputError
from engine.marking import service as marking
from engine.models import Role, User
from itembank.sanitize import clean_html, plain_text
from web.auth import allow
from web.deps import current_user, get_db, now
from web.templating import render

router = APIRouter()
MARKERS = (Role.examiner, Role.admin)


@router.get("/marking")
@allow(*MARKERS)
def marking_queue(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Written answers waiting for a mark, oldest first, and the caller's recent marks."""
    return render(request, "examiner/marking.html", {
        "queue": marking.queue(db), "recent": marking.recently_marked(db, user.username),
        "plain": plain_text, "marked": request.query_params.get("marked")})


@router.get("/marking/{mark_id}")
@allow(*MARKERS)
def mark_page(request: Request, mark_id: int, db: Session = Depends(get_db)):
    """One answer with the question and its rubric, and the points to award."""
    return render(request, "examiner/mark.html", {"task": marking.task(db, mark_id), "rich": clean_html,
                                                  "errors": {}})


@router.post("/marking/{mark_id}")
@allow(*MARKERS)
def award(request: Request, mark_id: int, points: str = Form(""), comment: str = Form(""),
          db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Award 0..k points; the mark is final and written to the audit log."""
    task = marking.task(db, mark_id)
    try:
        if not points.strip().isdigit():
            raise InvalidInputError(N_("award a whole number of points from 0 to %(max)s"), "points",
                                    max=task.mark.max_points)
        marking.award(db, mark_id, int(points), comment, user.username, at)
    except InvalidInputError as exc:
        db.rollback()
        message = request.state.gettext(exc.template, **exc.params)
        return render(request, "examiner/mark.html", {"task": marking.task(db, mark_id), "rich": clean_html,
                                                      "errors": {"points": message}, "comment": comment},
                      status_code=422)
    db.commit()
    return RedirectResponse(f"/examiner/marking?marked={mark_id}", status_code=303)
