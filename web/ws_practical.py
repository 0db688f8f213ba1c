"""WebSockets of the practical part: the live simulation of one attempt, and the
supervisors' practical monitor of one exam session.

They authorize like web/ws.py's sockets (same cookie, declared roles, same origin,
``authorize_socket``), and are mounted the same way in create_app.

Attempt socket ``/ws/practical/{attempt_id}`` (the candidate who owns it; supervisors
and admins may watch, read-only). The server advances the run on its own clock and
pushes ``{"type": "state", "status", "state": {...}}`` every tick and at once after an
action; the page may send ``{"type": "action", "action": name, "args": {...}}`` (owner
only), answered by a ``receipt`` or an ``error`` frame — the same rules as the HTTP
action endpoint: stamped by the server, appended, committed, then acknowledged.

Monitor socket ``/ws/practical/monitor/{exam_session_id}``: a JSON list of progress rows
on connect and after every change in the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session

from engine import delivery
from engine.errors import N_, DeadlinePassedError, DeliveryError, IllegalTransitionError, NotFoundError
from engine.models import CandidateSession, Role, User
from engine.practical import monitor
from engine.practical import service as practical
from engine.practical.models import AttemptStatus, PracticalAttempt
from engine.scheduling.service import ensure_may_supervise
from web.auth import allow
from web.bus import room_channel
from web.ws import CloseCode, SocketClosed, authorize_socket, drain_read_only_frames

log = logging.getLogger("skillcert.ws_practical")
router = APIRouter()
T = TypeVar("T")
MAX_FRAME = 4096
MIN_PUSH_SECONDS = 0.5
MONITOR_REFRESH_SECONDS = 5


def practical_channel(attempt_id: int) -> str:
    return f"practical:{attempt_id}"


def monitor_channel(exam_session_id: int) -> str:
    return f"practical-room:{exam_session_id}"


async def _db(websocket: WebSocket, work: Callable[[Session], T], commit: bool = False) -> T:
    def run() -> T:
        with Session(websocket.app.state.db, expire_on_commit=False) as session:
            result = work(session)
            if commit:
                session.commit()
            return result

    return await asyncio.to_thread(run)


async def _closing(websocket: WebSocket, run: Callable[[], Any]) -> None:
    try:
        await run()
    except SocketClosed as closed:
        with contextlib.suppress(Exception):
            await websocket.close(code=closed.code, reason=closed.reason)
    except WebSocketDisconnect:
        pass


async def _refuse_and_close(websocket: WebSocket, code: CloseCode, detail: str) -> None:
    """Tell the page why (one error frame), then close with the code."""
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps({"type": "error", "code": int(code), "detail": detail}))
    raise SocketClosed(code, detail)


# ---- the attempt socket ------------------------------------------------------------------


@allow(Role.candidate, Role.supervisor, Role.admin)
async def attempt_socket(websocket: WebSocket, attempt_id: int) -> None:
    await _closing(websocket, lambda: AttemptChannel(websocket, attempt_id).run())


class AttemptChannel:
    def __init__(self, websocket: WebSocket, attempt_id: int) -> None:
        self.ws, self.attempt_id = websocket, attempt_id
        self.user: User | None = None
        self.owner = False
        self.tick = 1.0
        self.attempt: PracticalAttempt | None = None
        self.exam_session_id = 0
        self.errors = 0

    @property
    def clock(self):
        return self.ws.app.state.clock

    async def run(self) -> None:
        self.user = await authorize_socket(self.ws, attempt_socket)
        try:
            await _db(self.ws, self._load)
        except DeliveryError as exc:
            await _refuse_and_close(self.ws, CloseCode.not_found, str(exc))
        bus = self.ws.app.state.bus
        async with bus.subscribe(practical_channel(self.attempt_id)) as subscription:
            reader = asyncio.create_task(self._read())
            try:
                await self._push()
                while True:
                    getter = asyncio.create_task(subscription.get())
                    done, _ = await asyncio.wait({getter, reader}, timeout=self._tick(),
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if reader in done:
                        getter.cancel()
                        reader.result()  # raises the disconnect / close
                    if getter not in done:
                        getter.cancel()
                    await self._push()
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    def _tick(self) -> float:
        return max(MIN_PUSH_SECONDS, self.tick)

    def _load(self, db: Session) -> None:
        user = self.user
        if user.role == Role.candidate:
            candidate = delivery.candidate_for_user(db, user.id)
            attempt = practical.owned_attempt(db, self.attempt_id, candidate.id)
            self.owner = True
        else:
            attempt = practical.get_attempt(db, self.attempt_id)
            ensure_may_supervise(db, user, sitting_id=attempt.candidate_session_id)
        if attempt.scenario_version_id is None:
            raise NotFoundError(N_("practical attempt %(id)s has no simulation"), id=self.attempt_id)
        self.attempt = attempt
        self.exam_session_id = db.get(CandidateSession, attempt.candidate_session_id).exam_session_id
        self.tick = practical.program_of(practical.version_of(db, attempt)).tick

    def _snapshot(self, db: Session) -> dict[str, Any]:
        """Settle if overdue, bring the worker's live run up to the log and the clock, describe it."""
        now = self.clock()
        attempt = practical.get_attempt(db, self.attempt_id)
        if practical.settle_if_overdue(db, attempt, now):
            db.commit()
        self.attempt = attempt
        view = practical.live_view(db, attempt, now)  # the run kept in this worker, shared with actions
        return {"type": "state", "status": attempt.status.value, "score": attempt.score
                if attempt.status == AttemptStatus.scored and self.owner else None, "state": view.as_dict()}

    async def _push(self) -> None:
        frame = await _db(self.ws, self._snapshot)
        await self.ws.send_text(json.dumps(frame, default=str))

    async def _read(self) -> None:
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            text = frame.get("text")
            if text is None or len(text.encode()) > MAX_FRAME:
                raise SocketClosed(CloseCode.too_big if text else CloseCode.unsupported_data, "text frames only, small")
            try:
                message = json.loads(text)
            except ValueError:
                raise SocketClosed(CloseCode.malformed, "frame is not JSON") from None
            if not isinstance(message, dict) or message.get("type") != "action":
                await self._error(4422, "only {\"type\": \"action\", ...} frames are accepted")
                continue
            if not self.owner:
                await self._error(4403, "watching only: supervisors cannot act for the candidate")
                continue
            await self._act(message)

    async def _act(self, message: dict[str, Any]) -> None:
        now = self.clock()
        username = self.user.username

        def work(db: Session):
            attempt = practical.get_attempt(db, self.attempt_id)
            receipt = practical.submit_action(db, attempt, message.get("action"), message.get("args"), username, now)
            db.commit()
            return receipt, attempt.status.value, attempt.candidate_session_id

        try:
            receipt, status, sitting_id = await _db(self.ws, work)
        except DeliveryError as exc:
            conflict = isinstance(exc, (DeadlinePassedError, IllegalTransitionError))
            await self._error(4409 if conflict else 4422, str(exc))
            return
        await self.ws.send_text(json.dumps({"type": "receipt", "seq": receipt.seq, "t": receipt.t,
                                            "action": receipt.action, "status": status,
                                            "state": receipt.view.as_dict()}, default=str))
        bus = self.ws.app.state.bus
        for channel, payload in ((practical_channel(self.attempt_id), {"type": "practical"}),
                                 (monitor_channel(self.exam_session_id), {"type": "practical"}),
                                 (room_channel(self.exam_session_id), {"type": "row", "sitting": sitting_id})):
            try:
                await bus.publish(channel, payload)
            except Exception:  # committed already: a lost fan-out costs a refresh, never data
                log.exception("publishing to %s failed", channel)

    async def _error(self, code: int, detail: str) -> None:
        self.errors += 1
        if self.errors > 20:
            raise SocketClosed(CloseCode.too_many_errors, "too many refused messages")
        await self.ws.send_text(json.dumps({"type": "error", "code": code, "detail": detail}))


# ---- the supervisors' monitor ------------------------------------------------------------


@allow(Role.supervisor, Role.admin)
async def monitor_socket(websocket: WebSocket, exam_session_id: int) -> None:
    await _closing(websocket, lambda: _watch(websocket, exam_session_id))


def progress_payload(db: Session, exam_session_id: int, now) -> dict[str, Any]:
    rows = monitor.progress_rows(db, exam_session_id, now)
    return {"type": "progress", "rows": [
        {"sitting": row.sitting_id, "candidate": row.candidate_name, "tasks": [
            {"task": p.task.id, "title": p.task.title, "kind": p.task.kind.value,
             "attempt": p.attempt.id if p.attempt else None,
             "status": p.attempt.status.value if p.attempt else "not_started",
             "actions": p.attempt.action_count if p.attempt else 0, "last_action": p.last_action,
             "seconds_left": p.seconds_left, "score": p.attempt.score if p.attempt else None,
             "veto": bool(p.attempt.veto) if p.attempt else False} for p in row.tasks]}
        for row in rows]}


async def _watch(websocket: WebSocket, exam_session_id: int) -> None:
    user = await authorize_socket(websocket, monitor_socket)
    clock = websocket.app.state.clock

    def first_payload(db: Session) -> dict[str, Any]:
        ensure_may_supervise(db, user, exam_session_id)  # only sittings the supervisor is on duty at
        return progress_payload(db, exam_session_id, clock())

    try:
        first = await _db(websocket, first_payload)
    except DeliveryError as exc:
        await _refuse_and_close(websocket, CloseCode.not_found, str(exc))
    async with websocket.app.state.bus.subscribe(monitor_channel(exam_session_id)) as subscription:
        reader = asyncio.create_task(drain_read_only_frames(websocket))
        try:
            await websocket.send_text(json.dumps(first))
            while True:
                getter = asyncio.create_task(subscription.get())
                done, _ = await asyncio.wait({getter, reader}, timeout=MONITOR_REFRESH_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    reader.result()
                if getter not in done:
                    getter.cancel()
                payload = await _db(websocket, lambda db: progress_payload(db, exam_session_id, clock()))
                await websocket.send_text(json.dumps(payload))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


router.add_api_websocket_route("/ws/practical/monitor/{exam_session_id}", monitor_socket)
router.add_api_websocket_route("/ws/practical/{attempt_id}", attempt_socket)
