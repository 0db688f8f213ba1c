"""Supervisor pages: exam sessions, the live roster, one sitting's record, and commands.

The roster updates live over the htmx WebSocket extension (web/ws.py pushes rows as
fragments with hx-swap-oob). Commands are CSRF-protected htmx POSTs with a required
reason; the route commits, then publishes, so a socket never shows an uncommitted fact.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from engine import administration
from engine.models import CandidateSessionStatus, Role, User
from engine.proctoring import actions, analysis, report
from engine.proctoring import roster as live_roster
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
        "exam_session": exam_session, "lines": live_roster.lines(db, exam_session_id, at), "now": at},
        block="roster")


@router.get("/sittings/{sitting_id}")
@allow(*SUPERVISORS)
def sitting(request: Request, sitting_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """One candidate's row, actions, anomalies with their evidence, and timeline."""
    record = proctoring.get_sitting(db, sitting_id)
    return render(request, "supervisor/sitting.html", {
        "line": live_roster.line(db, sitting_id, at),
        "exam_session": administration.get_exam_session(db, record.exam_session_id),
        "timeline": proctoring.timeline(db, record),
        "anomalies": proctoring.anomalies_of(db, record) + analysis.anomalies_of(db, record),
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


@router.post("/sittings/{sitting_id}/check-in")
@allow(*SUPERVISORS)
def identity_check(request: Request, sitting_id: int, id_checked: str = Form(""), photo_match: str = Form(""),
                   document: str = Form("resident_id"), notes: str = Form(""), db: Session = Depends(get_db),
                   user: User = Depends(current_user), at: datetime = Depends(now)):
    """Record the identity check at the room (ID document, photo match, notes)."""
    event = actions.check_in(db, sitting_id, user.username, at, id_checked=id_checked or "no",
                             photo_match=photo_match or "no", document=document, notes=notes)
    db.commit()
    _announce(request, proctoring.get_sitting(db, sitting_id).exam_session_id, [event])
    return render(request, "supervisor/_command_result.html", {"kind": event.kind, "count": None})


@router.post("/sittings/{sitting_id}/workstation")
@allow(*SUPERVISORS)
def move_workstation(request: Request, sitting_id: int, reason: str = Form(""), workstation: str = Form(""),
                     db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Workstation failover: cut the failed computer's page; the next page to open the sitting takes it over."""
    event = actions.authorize_workstation(db, sitting_id, reason, user.username, at, workstation)
    db.commit()
    record = proctoring.get_sitting(db, sitting_id)
    messages = [(sitting_channel(sitting_id), {"type": "superseded", "connection": event.data.get("revoked")}),
                (room_channel(record.exam_session_id), {"type": "row", "sitting": sitting_id})]
    publish_after_commit(request.app.state.bus, messages)
    return render(request, "supervisor/_command_result.html", {"kind": event.kind, "count": None})


@router.get("/sittings/{sitting_id}/report.pdf")
@allow(*SUPERVISORS)
def incident_report(sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
                    at: datetime = Depends(now)):
    """The sitting's incident report: check-in, incidents, anomalies with evidence, actions, timeline."""
    pdf = report.incident_report_pdf(report.gather(db, sitting_id, at, user.username))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="incident-report-{sitting_id}.pdf"'})


@router.get("/sessions/{exam_session_id}/accommodations")
@allow(*SUPERVISORS)
def accommodations(request: Request, exam_session_id: int, db: Session = Depends(get_db)):
    """Extra time and breaks of every candidate of an exam session, editable with a reason."""
    return render(request, "supervisor/accommodations.html", {
        "exam_session": administration.get_exam_session(db, exam_session_id),
        "rows": actions.accommodations_in(db, exam_session_id)}, block="accommodations")


@router.post("/sessions/{exam_session_id}/accommodations")
@allow(*SUPERVISORS)
def set_accommodation(request: Request, exam_session_id: int, candidate_id: int = Form(),
                      extra_minutes: str = Form("0"), break_minutes: str = Form("0"), reason: str = Form(""),
                      db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Record a candidate's extra time and breaks (reason required, audited); running deadlines move."""
    administration.get_exam_session(db, exam_session_id)
    if candidate_id not in {row.candidate.id for row in actions.accommodations_in(db, exam_session_id)}:
        raise Forbidden()
    change = actions.set_accommodation(db, candidate_id, extra_minutes, break_minutes, reason, user.username, at)
    db.commit()
    messages = [(sitting_channel(e.candidate_session_id), {"type": "command", "event_id": e.id})
                for e in change.adjusted]
    messages += [(room_channel(exam_session_id), {"type": "table"})]
    publish_after_commit(request.app.state.bus, messages)
    return render(request, "supervisor/_command_result.html",
                  {"kind": "accommodation_changed", "count": None})
