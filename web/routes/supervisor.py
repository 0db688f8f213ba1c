"""Supervisor pages: today's exam sessions and a roster of who is sitting.

The roster table refreshes itself by htmx polling; live WebSocket updates come with
the proctoring work.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from engine import administration
from engine.models import Role
from web.auth import allow
from web.deps import get_db, now
from web.templating import render

router = APIRouter(prefix="/supervisor")
SUPERVISORS = (Role.supervisor, Role.admin)
POLL_SECONDS = 5


@router.get("")
@allow(*SUPERVISORS)
def exam_sessions(request: Request, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Exam sessions, today's first, with their candidates counted by status."""
    return render(request, "supervisor/sessions.html",
                  {"summaries": administration.exam_session_summaries(db, at.date()), "today": at.date()})


@router.get("/sessions/{exam_session_id}")
@allow(*SUPERVISORS)
def roster(request: Request, exam_session_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """The roster of one exam session; htmx polls refresh the table only."""
    exam_session = administration.get_exam_session(db, exam_session_id)
    return render(request, "supervisor/roster.html", {
        "exam_session": exam_session, "lines": administration.roster(db, exam_session_id, at), "now": at,
        "poll_seconds": POLL_SECONDS}, block="roster")
