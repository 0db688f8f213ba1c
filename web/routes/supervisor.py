"""Supervisor pages: exam sessions, the live roster, one sitting's record, and commands.

The roster updates live over the htmx WebSocket extension (web/ws.py pushes rows as
fragments with hx-swap-oob). Commands are CSRF-protected htmx POSTs with a required
reason; the route commits, then publishes, so a socket never shows an uncommitted fact.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session

from engine import administration
from engine.models import CandidateSessionStatus, Role, User
from engine.proctoring import service as proctoring
from engine.proctoring.commands import ROOM_WIDE, IncidentCategory, parse_command
from engine.proctoring.events import SHOWN_TO_CANDIDATE
from engine.scheduling import service as scheduling
from web.auth import allow
from web.bus import publish_after_commit, room_channel, sitting_channel
from web.deps import current_user, get_db, now
from web.errors import Forbidden
from web.supervision_scope import on_duty
from web.templating import render

router = APIRouter(prefix="/supervisor", dependencies=[Depends(on_duty)])  # only sittings on duty at
SUPERVISORS = (Role.supervisor, Role.admin)


@router.get("")
@allow(*SUPERVISORS)
def exam_sessions(request: Request, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Exam sessions, today's first, with their candidates counted by status."""
    return render(request, "supervisor/sessions.html",
                  {"summaries": scheduling.visible_summaries(db, request.state.user,
                                                             administration.exam_session_summaries(db, at.date())),
                   "today": at.date()})


@router.get("/sessions/{exam_session_id}")
@allow(*SUPERVISORS)
def roster(request: Request, exam_session_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """The live roster of one exam session (rows pushed over the WebSocket)."""
    exam_session = administration.get_exam_session(db, exam_session_id)
    return render(request, "supervisor/roster.html", {
        "exam_session": exam_session, "lines": administration.roster(db, exam_session_id, at), "now": at},
        block="roster")


@router.get("/sittings/{sitting_id}")
@allow(*SUPERVISORS)
def sitting(request: Request, sitting_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """One candidate's row, actions, anomalies with their evidence, and timeline."""
    record = proctoring.get_sitting(db, sitting_id)
    return render(request, "supervisor/sitting.html", {
        "line": administration.roster_line(db, sitting_id, at),
        "exam_session": administration.get_exam_session(db, record.exam_session_id),
        "timeline": proctoring.timeline(db, record), "anomalies": proctoring.anomalies_of(db, record),
        "categories": [c.value for c in IncidentCategory]})


@router.post("/sittings/{sitting_id}/commands")
@allow(*SUPERVISORS)
def command(request: Request, sitting_id: int, kind: str = Form(), reason: str = Form(""),
            minutes: str | None = Form(None), severity: str | None = Form(None),
            category: str | None = Form(None), db: Session = Depends(get_db),
            user: User = Depends(current_user), at: datetime = Depends(now)):
    """Warn, pause, resume, extend, terminate or flag one candidate, with a reason."""
    parsed = parse_command(kind, reason, minutes, severity, category)
    record = proctoring.get_sitting(db, sitting_id)
    event = proctoring.issue(db, record, parsed, user.username, at)
    db.commit()  # committed before anyone is told
    _announce(request, record.exam_session_id, [event])
    return render(request, "supervisor/_command_result.html", {"kind": event.kind, "count": None})


@router.post("/sessions/{exam_session_id}/commands")
@allow(*SUPERVISORS)
def room_command(request: Request, exam_session_id: int, kind: str = Form(), reason: str = Form(""),
                 minutes: str | None = Form(None), db: Session = Depends(get_db),
                 user: User = Depends(current_user), at: datetime = Depends(now)):
    """Warn, pause, resume or extend every candidate of the room who is sitting."""
    parsed = parse_command(kind, reason, minutes)
    if parsed.kind not in ROOM_WIDE:
        raise Forbidden()
    administration.get_exam_session(db, exam_session_id)
    wanted = {"resume": (CandidateSessionStatus.paused,), "pause": (CandidateSessionStatus.in_progress,)}
    statuses = wanted.get(parsed.kind.value, (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused))
    events = [proctoring.issue(db, record, parsed, user.username, at)
              for record in proctoring.sittings_in(db, exam_session_id, statuses)]
    db.commit()
    _announce(request, exam_session_id, events)
    return render(request, "supervisor/_command_result.html",
                  {"kind": parsed.event_kind.value, "count": len(events)})


def _announce(request: Request, exam_session_id: int, events: list) -> None:
    """After commit: the candidates' pages get the commands, the supervisors the new rows."""
    messages = []
    for event in events:
        if event.kind in SHOWN_TO_CANDIDATE:
            messages.append((sitting_channel(event.candidate_session_id), {"type": "command", "event_id": event.id}))
        messages.append((room_channel(exam_session_id), {"type": "row", "sitting": event.candidate_session_id}))
    publish_after_commit(request.app.state.bus, messages)
