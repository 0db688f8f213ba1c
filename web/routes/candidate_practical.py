"""The practical part in the browser: the candidate's task list and simulation page, the
action endpoint, and the supervisors' progress monitor.

The server owns the run: the page sends only actions (here as JSON POSTs, or over
``/ws/practical/{attempt_id}``), the server stamps them with its clock, appends them
to the attempt's log, commits, and only then answers with the state after the action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlmodel import Session

from engine import delivery
from engine.errors import N_, DeadlinePassedError, DeliveryError, InvalidInputError
from engine.models import CandidateSession, Role, User
from engine.practical import monitor
from engine.practical import service as practical
from engine.practical.models import AttemptStatus, PracticalAttempt
from engine.scheduling.service import ensure_may_supervise, may_supervise
from simulations.mimic import layout
from web.auth import allow
from web.bus import publish_after_commit, room_channel
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.templating import render
from web.ws_practical import monitor_channel, practical_channel

router = APIRouter()
SUPERVISORS = (Role.supervisor, Role.admin)


def _candidate_id(db: Session, user: User) -> int:
    return delivery.candidate_for_user(db, user.id).id


def _attempt_url(attempt_id: int) -> str:
    return f"/candidate/practical/{attempt_id}"


def progress_changed(request: Request, db: Session, attempt: PracticalAttempt) -> None:
    """After commit: the attempt's own sockets, the practical monitor and the roster row refresh."""
    sitting = db.get(CandidateSession, attempt.candidate_session_id)
    publish_after_commit(request.app.state.bus, [
        (practical_channel(attempt.id), {"type": "practical", "attempt": attempt.id}),
        (monitor_channel(sitting.exam_session_id), {"type": "practical", "attempt": attempt.id}),
        (room_channel(sitting.exam_session_id), {"type": "row", "sitting": sitting.id}),
    ])


def _settled(request: Request, db: Session, attempt: PracticalAttempt, at: datetime) -> None:
    if practical.settle_if_overdue(db, attempt, at):
        db.commit()
        progress_changed(request, db, attempt)


@router.get("/candidate/practical")
@allow(Role.candidate)
def my_tasks(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user),
             at: datetime = Depends(now)):
    """Every practical task of the candidate's sittings, with its state."""
    candidate_id = _candidate_id(db, user)
    rows = []
    for sitting, exam_session, _definition in delivery.sittings_of(db, candidate_id):
        result = practical.practical_result(db, sitting.id)
        for task, attempt in result.tasks:
            if attempt is not None:
                _settled(request, db, attempt, at)
            rows.append({"sitting": sitting, "exam_session": exam_session, "task": task, "attempt": attempt})
    return render(request, "practical/tasks.html", {"rows": rows})


@router.post("/candidate/practical/sittings/{sitting_id}/tasks/{task_id}/start")
@allow(Role.candidate)
def start(request: Request, sitting_id: int, task_id: int, db: Session = Depends(get_db),
          user: User = Depends(current_user), at: datetime = Depends(now)):
    """Start (or resume) a scenario task: the server pins the version, draws the seed, sets the deadline."""
    sitting = delivery.owned_session(db, sitting_id, _candidate_id(db, user))
    attempt = practical.start_attempt(db, sitting, task_id, user.username, at)
    db.commit()
    progress_changed(request, db, attempt)
    return RedirectResponse(_attempt_url(attempt.id), status_code=303)


@router.get("/candidate/practical/{attempt_id}")
@allow(Role.candidate)
def task_page(request: Request, attempt_id: int, db: Session = Depends(get_db),
              user: User = Depends(current_user), at: datetime = Depends(now)):
    """The simulation page: SVG mimic, controls, values, alarms and the server's deadline."""
    attempt = practical.owned_attempt(db, attempt_id, _candidate_id(db, user))
    _settled(request, db, attempt, at)
    if attempt.status == AttemptStatus.scored or attempt.scenario_version_id is None:
        return render(request, "practical/done.html", {"attempt": attempt,
                                                       "task": practical.get_task(db, attempt.task_id)})
    return render(request, "practical/run.html", _page_context(request, db, attempt, at, watch=False))


def _page_context(request: Request, db: Session, attempt: PracticalAttempt, at: datetime, *, watch: bool) -> dict:
    program = practical.program_of(practical.version_of(db, attempt))
    lang = "en" if request.state.locale == "en" else "zh"
    view = practical.live_view(db, attempt, at)
    return {"attempt": attempt, "task": practical.get_task(db, attempt.task_id), "program": program,
            "lang": lang, "mimic": layout(program.candidate_manifest()), "view": view,
            "manifest": program.candidate_manifest(), "watch": watch,
            "deadline_ms": int(attempt.deadline.timestamp() * 1000) if attempt.deadline else 0,
            "server_now_ms": int(at.timestamp() * 1000)}


async def _json_body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise InvalidInputError(N_("the request body must be JSON: {\"action\": name, \"args\": {...}}"),
                                "action")
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInputError(N_("the request body must be JSON: {\"action\": name, \"args\": {...}}"),
                                "action") from None
    if not isinstance(body, dict):
        raise InvalidInputError(N_("the request body must be JSON: {\"action\": name, \"args\": {...}}"), "action")
    return body


@router.post("/candidate/practical/{attempt_id}/actions")
@allow(Role.candidate)
async def act(request: Request, attempt_id: int, db: Session = Depends(get_db),
              user: User = Depends(current_user), at: datetime = Depends(now)):
    """One action: stamped, appended and committed before the reply, which carries the new state."""
    try:
        body = await _json_body(request)
        return await _in_thread(lambda: _act(request, db, user, attempt_id, body, at))
    except DeliveryError as exc:  # the page reads JSON: the refusal names the problem
        return JSONResponse({"type": "error", "detail": message_of(request, exc), "field": exc.field},
                            status_code=status_for(exc))


async def _in_thread(work):
    import anyio.to_thread

    return await anyio.to_thread.run_sync(work)


def _act(request: Request, db: Session, user: User, attempt_id: int, body: dict, at: datetime) -> JSONResponse:
    attempt = practical.owned_attempt(db, attempt_id, _candidate_id(db, user))
    try:
        receipt = practical.submit_action(db, attempt, body.get("action"), body.get("args"), user.username, at)
    except DeadlinePassedError:
        db.rollback()
        _settled(request, db, practical.get_attempt(db, attempt_id), at)
        raise
    db.commit()  # stored before the candidate is told
    progress_changed(request, db, attempt)
    return JSONResponse({"type": "receipt", "seq": receipt.seq, "t": receipt.t, "action": receipt.action,
                         "status": attempt.status.value, "state": receipt.view.as_dict()})


@router.get("/candidate/practical/{attempt_id}/state")
@allow(Role.candidate)
def state(request: Request, attempt_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
          at: datetime = Depends(now)):
    """The state on the server clock (the page's fallback when its socket is down)."""
    attempt = practical.owned_attempt(db, attempt_id, _candidate_id(db, user))
    _settled(request, db, attempt, at)
    return JSONResponse({"type": "state", "status": attempt.status.value,
                         "state": practical.live_view(db, attempt, at).as_dict()})


# ---- supervisors ---------------------------------------------------------------------------


@router.get("/practical/monitor")
@allow(*SUPERVISORS)
def monitor_index(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Exam sessions whose exam has a practical part, that this supervisor is on duty at."""
    sessions = [s for s in monitor.sessions_with_practical(db) if may_supervise(db, user, s.id)]
    return render(request, "practical/monitor_index.html", {"sessions": sessions})


@router.get("/practical/monitor/{exam_session_id}")
@allow(*SUPERVISORS)
def monitor_page(request: Request, exam_session_id: int, db: Session = Depends(get_db),
                 user: User = Depends(current_user), at: datetime = Depends(now)):
    """Every candidate's practical progress in one exam session, pushed live."""
    ensure_may_supervise(db, user, exam_session_id)
    rows = monitor.progress_rows(db, exam_session_id, at)
    return render(request, "practical/monitor.html", {"rows": rows, "exam_session_id": exam_session_id})


@router.get("/practical/monitor/attempts/{attempt_id}")
@allow(*SUPERVISORS)
def watch_page(request: Request, attempt_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
               at: datetime = Depends(now)):
    """A read-only live mimic of one candidate's installation."""
    attempt = practical.get_attempt(db, attempt_id)
    ensure_may_supervise(db, user, sitting_id=attempt.candidate_session_id)
    if attempt.scenario_version_id is None:
        raise InvalidInputError(N_("attempt %(id)s is a rated task; there is no simulation to watch"), "attempt",
                                id=attempt_id)
    return render(request, "practical/run.html", _page_context(request, db, attempt, at, watch=True))
