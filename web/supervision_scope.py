"""Supervisors reach only the sittings they are on duty at (admins reach all).

``on_duty`` is a router dependency of web/routes/supervisor.py: every route there with
an ``exam_session_id`` or ``sitting_id`` path parameter is checked with
``engine.scheduling.service.ensure_may_supervise`` — a sitting the supervisor is not on
duty at answers 404, as if it did not exist. The check runs in a short unit of work of
its own (see web/app.py ``_load_user`` for why a dependency must not hold SQLite's lock).
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import Request
from sqlmodel import Session

from engine.scheduling import service as scheduling


async def on_duty(request: Request) -> None:
    user = request.state.user
    params = request.path_params
    if user is None or not ({"exam_session_id", "sitting_id"} & params.keys()):
        return  # the role check (web/auth.py) answers anonymous visitors; list pages filter themselves
    if not all(str(params[k]).isdigit() for k in ("exam_session_id", "sitting_id") if k in params):
        return  # FastAPI's own validation answers a malformed id (422)

    def check() -> None:
        with Session(request.app.state.db) as session:
            if "sitting_id" in params:
                scheduling.ensure_may_supervise(session, user, sitting_id=int(params["sitting_id"]))
            else:
                scheduling.ensure_may_supervise(session, user, exam_session_id=int(params["exam_session_id"]))

    await anyio.to_thread.run_sync(check)
