"""WebSocket endpoints: the candidate's proctoring socket and the supervisors' live roster.

Sockets authorize like pages: the same signed session cookie, a role declared with
``@allow`` (pinned in tests/web/test_role_matrix.py), and the Origin must be this site
(a page elsewhere cannot ride the cookie). They are mounted without the app-wide HTTP
dependencies, which read a ``Request``, and run ``authorize_socket`` instead.

Answers do not travel over the socket: they stay idempotent htmx POSTs with client
sequence numbers, committed before they are acknowledged (invariant 1). The socket
carries presence, integrity evidence, supervisor commands and their acknowledgements.

Candidate protocol (JSON text frames, at most ``MAX_FRAME`` bytes):
  page → server  {"type": "heartbeat"} | {"type": "integrity", "kind": ..., "detail": {...}}
                 | {"type": "ack", "command": <event id>}
  server → page  {"type": "state", ...clock} | {"type": "command", "id", "kind", ...}
                 | {"type": "heartbeat_ack"} | {"type": "error", "code", "detail"} | {"type": "superseded"}
A refused message gets an ``error`` frame and writes nothing; a frame that is not JSON,
too big, binary, or names another sitting closes the socket with a ``CloseCode``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session

from engine import administration, delivery
from engine.errors import DeliveryError, InvalidInputError
from engine.models import CandidateSession, CandidateSessionStatus, ProctoringEvent, Role, User
from engine.proctoring import service as proctoring
from engine.proctoring.events import EventKind
from engine.scheduling import service as scheduling
from web.auth import allow, declared_roles, signed_in_user
from web.bus import room_channel, sitting_channel
from web.i18n import gettext_callables, locale_of
from web.templating import templates

log = logging.getLogger("skillcert.ws")
router = APIRouter()  # mounted without the app-wide HTTP dependencies (see create_app)
T = TypeVar("T")

MAX_FRAME = 4096
TAB_RE = re.compile(r"[A-Za-z0-9]{1,16}")  # the page's per-tab id (sessionStorage)
MAX_ERRORS = 20  # refused messages per connection before it is closed
MAX_EVENTS_PER_MINUTE = 120
HEARTBEAT_SECONDS = 10
ROSTER_REFRESH_SECONDS = 10
BATCH_SECONDS = 0.05  # row changes arriving this close together go out in one frame


class CloseCode(IntEnum):
    normal = 1000
    unsupported_data = 1003  # binary frame
    too_big = 1009
    superseded = 4001  # the sitting was opened on another page; this one must stop
    malformed = 4400
    not_signed_in = 4401
    forbidden = 4403  # wrong role, foreign origin, or another candidate's sitting
    not_found = 4404
    not_active = 4409  # the sitting is not running (not started or submitted)
    too_many_errors = 4429


class ErrorCode(IntEnum):
    """Codes of refused messages (the socket stays open)."""

    invalid = 4422
    rate_limited = 4429
    conflict = 4409


class SocketClosed(Exception):
    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code, self.reason = code, reason
        super().__init__(reason)


# ---- authorization ---------------------------------------------------------------------


def same_origin(websocket: WebSocket) -> bool:
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


async def authorize_socket(websocket: WebSocket, endpoint: Callable[..., Any]) -> User:
    """Accept, then close with a clear code unless origin, sign-in and role are right."""
    await websocket.accept()
    if not same_origin(websocket):
        raise SocketClosed(CloseCode.forbidden, "origin not allowed")
    user = await _db(websocket, lambda db: signed_in_user(websocket, db))  # type: ignore[arg-type]
    if user is None:
        raise SocketClosed(CloseCode.not_signed_in, "sign in first")
    roles = declared_roles(endpoint)
    if not roles or user.role not in roles:
        raise SocketClosed(CloseCode.forbidden, "role not allowed")
    return user


async def _db(websocket: WebSocket, work: Callable[[Session], T], commit: bool = False) -> T:
    """Run database work in a thread with its own unit of work."""

    def run() -> T:
        with Session(websocket.app.state.db, expire_on_commit=False) as session:
            result = work(session)
            if commit:
                session.commit()
            return result

    return await asyncio.to_thread(run)


async def _publish(websocket: WebSocket, channel: str, message: dict[str, Any]) -> None:
    try:
        await websocket.app.state.bus.publish(channel, message)
    except Exception:  # the fact is committed; a lost fan-out costs a refresh, never data
        log.exception("publishing to %s failed", channel)


async def _closing(websocket: WebSocket, run: Callable[[], Any]) -> None:
    try:
        await run()
    except SocketClosed as closed:
        with contextlib.suppress(Exception):
            await websocket.close(code=closed.code, reason=closed.reason)
    except WebSocketDisconnect:
        pass


# ---- the candidate's socket --------------------------------------------------------------


@allow(Role.candidate)
async def candidate_socket(websocket: WebSocket, sitting_id: int) -> None:
    """Presence, integrity evidence and supervisor commands of one sitting."""
    await _closing(websocket, lambda: CandidateChannel(websocket, sitting_id).run())


class CandidateChannel:
    """One candidate page's connection; state-guarded: ``run`` once, after accept."""

    def __init__(self, websocket: WebSocket, sitting_id: int) -> None:
        self.ws, self.sitting_id = websocket, sitting_id
        tab = websocket.query_params.get("tab", "")
        tab = tab if TAB_RE.fullmatch(tab) else uuid.uuid4().hex[:16]
        self.connection_id = f"{tab}.{uuid.uuid4().hex[:12]}"
        self.user: User | None = None
        self.exam_session_id = 0
        self.errors = 0
        self.recent_events: list[float] = []
        self.connected = False

    @property
    def clock(self):
        return self.ws.app.state.clock

    async def run(self) -> None:
        self.user = await authorize_socket(self.ws, candidate_socket)
        sitting = await _db(self.ws, self._owned_sitting)
        self.exam_session_id = sitting.exam_session_id
        bus = self.ws.app.state.bus
        async with bus.subscribe(sitting_channel(self.sitting_id)) as subscription:
            await self._connect()
            try:
                await self._send_pending()
                await self._loop(subscription)
            finally:
                await self._disconnect()

    def _owned_sitting(self, db: Session) -> CandidateSession:
        assert self.user is not None
        try:
            candidate = delivery.candidate_for_user(db, self.user.id)
            sitting = delivery.owned_session(db, self.sitting_id, candidate.id)
        except DeliveryError:
            raise SocketClosed(CloseCode.not_found, "no such sitting of yours") from None
        if delivery.settle_if_overdue(db, sitting, self.clock()):
            db.commit()
        if sitting.status not in (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused):
            raise SocketClosed(CloseCode.not_active, f"sitting is {sitting.status.value}")
        return sitting

    async def _connect(self) -> None:
        ip = self.ws.client.host if self.ws.client else None
        agent = self.ws.headers.get("user-agent")

        def connect(db: Session) -> tuple[proctoring.Connected, dict]:
            sitting = proctoring.get_sitting(db, self.sitting_id)
            connected = proctoring.connect(db, sitting, self.connection_id, self.user.username, self.clock(),
                                           ip=ip, user_agent=agent)
            return connected, proctoring.sitting_clock(sitting, self.clock())

        connected, clock = await _db(self.ws, connect, commit=True)
        self.connected = True
        if connected.superseded:
            await _publish(self.ws, sitting_channel(self.sitting_id),
                           {"type": "superseded", "connection": connected.superseded})
        await self._send({"type": "state", "connection": self.connection_id, **clock})
        await self._row_changed()

    async def _disconnect(self) -> None:
        if not self.connected:
            return

        def disconnect(db: Session) -> None:
            sitting = proctoring.get_sitting(db, self.sitting_id)
            proctoring.disconnect(db, sitting, self.connection_id, self.user.username, self.clock())

        with contextlib.suppress(Exception):
            await _db(self.ws, disconnect, commit=True)
            await self._row_changed()

    async def _row_changed(self) -> None:
        await _publish(self.ws, room_channel(self.exam_session_id), {"type": "row", "sitting": self.sitting_id})

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps({**message, "server_now_ms": int(self.clock().timestamp() * 1000)},
                                           separators=(",", ":"), default=str))

    async def _send_pending(self) -> None:
        """Commands issued while this page was away (queued), oldest first."""
        pending = await _db(self.ws, lambda db: proctoring.pending_commands(db, self.sitting_id))
        for event in pending:
            await self._deliver(event.id)

    async def _deliver(self, event_id: int) -> None:
        def load(db: Session) -> tuple[ProctoringEvent, dict]:
            event = db.get(ProctoringEvent, event_id)
            sitting = proctoring.get_sitting(db, self.sitting_id)
            return event, proctoring.sitting_clock(sitting, self.clock())

        event, clock = await _db(self.ws, load)
        if event is None or event.candidate_session_id != self.sitting_id:
            return
        await self._send({"type": "command", "id": event.id, "kind": event.kind,
                          "reason": event.data.get("reason"), "minutes": event.data.get("minutes"), **clock})
        await self._acknowledge(event.id, EventKind.command_delivered, "system")

    async def _acknowledge(self, event_id: int, kind: EventKind, actor: str) -> None:
        now = self.clock()
        written = await _db(self.ws, lambda db: proctoring.acknowledge(db, self.sitting_id, event_id, kind,
                                                                        actor, now), commit=True)
        if written is not None:
            await self._row_changed()

    async def _loop(self, subscription) -> None:
        reader = asyncio.create_task(self._read_frames())
        forwarder = asyncio.create_task(self._forward(subscription))
        try:
            done, _pending = await asyncio.wait({reader, forwarder}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise SocketClosed / WebSocketDisconnect
        finally:
            for task in (reader, forwarder):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _forward(self, subscription) -> None:
        while True:
            message = await subscription.get()
            if message.get("type") == "command":
                await self._deliver(int(message["event_id"]))
            elif message.get("type") == "superseded" and message.get("connection") == self.connection_id:
                await self._send({"type": "superseded"})
                raise SocketClosed(CloseCode.superseded, "opened on another page")

    async def _read_frames(self) -> None:
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            if frame.get("text") is None:
                raise SocketClosed(CloseCode.unsupported_data, "text frames only")
            await self._handle(parse_frame(frame["text"], self.sitting_id))

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "heartbeat":
            await self._heartbeat()
        elif kind == "integrity":
            await self._integrity(message)
        elif kind == "ack":
            await self._applied(message)
        else:
            await self._refuse(ErrorCode.invalid, f"unknown message type {str(kind)[:40]!r}")

    async def _heartbeat(self) -> None:
        def beat(db: Session) -> None:
            sitting = proctoring.get_sitting(db, self.sitting_id)
            if sitting.connection_id is None:  # a restarted worker: this page is still here
                sitting.connection_id = self.connection_id
            proctoring.heartbeat(db, sitting, self.clock())

        await _db(self.ws, beat, commit=True)
        await self._send({"type": "heartbeat_ack"})

    async def _integrity(self, message: dict[str, Any]) -> None:
        loop_now = asyncio.get_running_loop().time()
        self.recent_events = [t for t in self.recent_events if loop_now - t < 60]
        if len(self.recent_events) >= MAX_EVENTS_PER_MINUTE:
            await self._refuse(ErrorCode.rate_limited, "too many events; slow down")
            return
        now = self.clock()

        def record(db: Session) -> None:
            sitting = proctoring.get_sitting(db, self.sitting_id)
            proctoring.record_client_event(db, sitting, message.get("kind"), message.get("detail"),
                                           self.user.username, now)

        try:
            await _db(self.ws, record, commit=True)
        except InvalidInputError as exc:
            await self._refuse(ErrorCode.invalid, str(exc))
            return
        self.recent_events.append(loop_now)
        await self._row_changed()

    async def _applied(self, message: dict[str, Any]) -> None:
        command = message.get("command")
        if not isinstance(command, int) or isinstance(command, bool):
            await self._refuse(ErrorCode.invalid, "ack needs a command id")
            return
        try:
            await self._acknowledge(command, EventKind.command_applied, self.user.username)
        except DeliveryError as exc:
            await self._refuse(ErrorCode.invalid, str(exc))

    async def _refuse(self, code: ErrorCode, detail: str) -> None:
        self.errors += 1
        if self.errors > MAX_ERRORS:
            raise SocketClosed(CloseCode.too_many_errors, "too many refused messages")
        await self._send({"type": "error", "code": int(code), "detail": detail})


def parse_frame(text: str, sitting_id: int) -> dict[str, Any]:
    """A JSON object with a string ``type``; anything else closes the socket."""
    if len(text.encode()) > MAX_FRAME:
        raise SocketClosed(CloseCode.too_big, f"frames are limited to {MAX_FRAME} bytes")
    try:
        message = json.loads(text)
    except ValueError:
        raise SocketClosed(CloseCode.malformed, "frame is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise SocketClosed(CloseCode.malformed, "frame must be an object with a 'type'")
    if "sitting" in message and message["sitting"] != sitting_id:
        raise SocketClosed(CloseCode.forbidden, "frame names another sitting")
    return message


# ---- the supervisors' socket -------------------------------------------------------------


@allow(Role.supervisor, Role.admin)
async def supervisor_socket(websocket: WebSocket, exam_session_id: int) -> None:
    """Live roster rows of one exam session, as server-rendered fragments with hx-swap-oob."""
    await _closing(websocket, lambda: _watch_room(websocket, exam_session_id))


async def _watch_room(websocket: WebSocket, exam_session_id: int) -> None:
    user = await authorize_socket(websocket, supervisor_socket)
    try:  # a supervisor watches only sittings on duty at (engine.scheduling)
        await _db(websocket, lambda db: scheduling.supervised_exam_session(db, user, exam_session_id))
    except DeliveryError:
        raise SocketClosed(CloseCode.not_found, "no such exam session") from None
    locale = locale_of(websocket, websocket.app.state.settings.default_locale)  # type: ignore[arg-type]
    render = RowRenderer(websocket, locale)
    async with websocket.app.state.bus.subscribe(room_channel(exam_session_id)) as subscription:
        reader = asyncio.create_task(_drain_supervisor_frames(websocket))
        try:
            await websocket.send_text(await render.table(exam_session_id))
            while True:
                getter = asyncio.create_task(subscription.get())
                done, _ = await asyncio.wait({getter, reader}, timeout=ROSTER_REFRESH_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    reader.result()  # raises WebSocketDisconnect / SocketClosed
                if getter not in done:
                    getter.cancel()  # quiet room: refresh the whole table (time left, presence)
                    await websocket.send_text(await render.table(exam_session_id))
                    continue
                sittings, whole = await _batch(subscription, getter.result())
                if whole:
                    await websocket.send_text(await render.table(exam_session_id))
                elif sittings:
                    await websocket.send_text(await render.rows(sorted(sittings)))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _batch(subscription, first: dict[str, Any]) -> tuple[set[int], bool]:
    """Collect what else arrives within ``BATCH_SECONDS``: one render per changed row, not per event."""
    messages = [first]
    await asyncio.sleep(BATCH_SECONDS)
    while not subscription.queue.empty():
        messages.append(subscription.queue.get_nowait())
    sittings = {int(m["sitting"]) for m in messages if m.get("type") == "row" and isinstance(m.get("sitting"), int)}
    return sittings, any(m.get("type") == "table" for m in messages)


async def _drain_supervisor_frames(websocket: WebSocket) -> None:
    """Supervisors act through HTTP POSTs; frames they send are read, bounded and dropped."""
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(frame.get("code", 1000))
        if len((frame.get("text") or "").encode()) + len(frame.get("bytes") or b"") > MAX_FRAME:
            raise SocketClosed(CloseCode.too_big, f"frames are limited to {MAX_FRAME} bytes")


class RowRenderer:
    """Roster fragments for one supervisor's socket, in the supervisor's language."""

    def __init__(self, websocket: WebSocket, locale: str) -> None:
        self.ws = websocket
        self.context = {"locale": locale, **gettext_callables(locale)}

    async def rows(self, sitting_ids: list[int]) -> str:
        now = self.ws.app.state.clock()
        lines = await _db(self.ws, lambda db: [administration.roster_line(db, i, now) for i in sitting_ids])
        template = templates.get_template("supervisor/_row.html")
        return "".join(template.render({**self.context, "line": line, "oob": True, "now": now}) for line in lines)

    async def table(self, exam_session_id: int) -> str:
        now = self.ws.app.state.clock()
        lines = await _db(self.ws, lambda db: administration.roster(db, exam_session_id, now))
        return templates.get_template("supervisor/_roster_body.html").render(
            {**self.context, "lines": lines, "oob": True, "now": now})


router.add_api_websocket_route("/ws/candidate/{sitting_id}", candidate_socket)
router.add_api_websocket_route("/ws/supervisor/sessions/{exam_session_id}", supervisor_socket)
