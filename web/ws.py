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

from engine import delivery
from engine.errors import DeliveryError, InvalidInputError
from engine.models import CandidateSession, CandidateSessionStatus, ProctoringEvent, Role, User
from engine.proctoring import actions
from engine.proctoring import roster as live_roster
from engine.proctoring import service as proctoring
from engine.proctoring.events import EventKind
from engine.proctoring.roster import LiveLine
from engine.scheduling import service as scheduling
from web.auth import allow, declared_roles, resolve_user
from web.bus import publish_row, room_channel, sitting_channel
from web.db import read_only
from web.group_commit import write
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
PRESENCE_WRITE_SECONDS = 5
ROSTER_REFRESH_SECONDS = 15  # the whole table again (time left of quiet rows); rows change live
PRESENCE_CHECK_SECONDS = 5  # how often a quiet room looks for pages that stopped beating
RENDER_INTERVAL = 0.2  # at most one roster render per room and worker this often
OOB_ATTRIBUTE = 'hx-swap-oob="true"'  # as supervisor/_row.html writes it on a pushed row
WATCHER_QUEUE = 64  # frames a slow supervisor socket may lag before it gets the whole table


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
    user = await resolve_user(websocket)
    if user is None:
        raise SocketClosed(CloseCode.not_signed_in, "sign in first")
    roles = declared_roles(endpoint)
    if not roles or user.role not in roles:
        raise SocketClosed(CloseCode.forbidden, "role not allowed")
    return user


async def _db(websocket: WebSocket, work: Callable[[Session], T], commit: bool = False, read: bool = False) -> T:
    """Run database work in a thread with its own unit of work (``read``: no SQLite write lock);
    work to ``commit`` goes into the worker's group commit (web/group_commit.py)."""
    if commit:
        return await write(websocket.app, work)
    db = read_only(websocket.app.state.db) if read else websocket.app.state.db

    def run() -> T:
        with Session(db, expire_on_commit=False) as session:
            return work(session)

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
        self.pending: list[int] = []

    @property
    def clock(self):
        return self.ws.app.state.clock

    async def run(self) -> None:
        self.user = await authorize_socket(self.ws, candidate_socket)
        bus = self.ws.app.state.bus
        async with bus.subscribe(sitting_channel(self.sitting_id)) as subscription:
            await self._connect()  # checks first that the sitting is this candidate's and running
            try:
                await self._send_pending()
                await self._loop(subscription)
            finally:
                await self._disconnect()

    def _owned_sitting(self, db: Session) -> CandidateSession | SocketClosed:
        """The candidate's running sitting, settled first if overdue; else why the socket closes
        (returned, not raised: a settlement in the same transaction is kept)."""
        assert self.user is not None
        try:
            candidate = delivery.candidate_for_user(db, self.user.id)
            sitting = delivery.owned_session(db, self.sitting_id, candidate.id)
        except DeliveryError:
            return SocketClosed(CloseCode.not_found, "no such sitting of yours")
        delivery.settle_if_overdue(db, sitting, self.clock())
        if sitting.status not in (CandidateSessionStatus.in_progress, CandidateSessionStatus.paused):
            return SocketClosed(CloseCode.not_active, f"sitting is {sitting.status.value}")
        return sitting

    async def _connect(self) -> None:
        ip = self.ws.client.host if self.ws.client else None
        agent = self.ws.headers.get("user-agent")

        def connect(db: Session) -> tuple[proctoring.Connected, dict, list[int], int] | SocketClosed:
            # One unit of work for the whole connect: a room that begins together opens
            # hundreds of sockets within seconds.
            sitting = self._owned_sitting(db)
            if isinstance(sitting, SocketClosed):
                return sitting
            if proctoring.tab_of(self.connection_id) in actions.barred_tabs(db, self.sitting_id):
                raise SocketClosed(CloseCode.forbidden, "this workstation was replaced by a supervisor")
            connected = proctoring.connect(db, sitting, self.connection_id, self.user.username, self.clock(),
                                           ip=ip, user_agent=agent)
            actions.take_over(db, self.sitting_id, self.connection_id, self.user.username, self.clock(), ip=ip)
            pending = [event.id for event in proctoring.pending_commands(db, self.sitting_id)]
            return connected, proctoring.sitting_clock(sitting, self.clock()), pending, sitting.exam_session_id

        done = await _db(self.ws, connect, commit=True)
        if isinstance(done, SocketClosed):
            raise done
        connected, clock, self.pending, self.exam_session_id = done
        self.connected = True
        if connected.superseded:
            await _publish(self.ws, sitting_channel(self.sitting_id),
                           {"type": "superseded", "connection": connected.superseded})
        await self._send({"type": "state", "connection": self.connection_id, **clock})
        await self._row_changed()

    async def _disconnect(self) -> None:
        if not self.connected:
            return
        presence_keeper(self.ws.app).forget(self.sitting_id, self.connection_id)

        def disconnect(db: Session) -> None:
            sitting = proctoring.get_sitting(db, self.sitting_id)
            proctoring.disconnect(db, sitting, self.connection_id, self.user.username, self.clock())

        with contextlib.suppress(Exception):
            await _db(self.ws, disconnect, commit=True)
            await self._row_changed()

    async def _row_changed(self) -> None:
        await publish_row(self.ws.app.state.bus, self.exam_session_id, self.sitting_id)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps({**message, "server_now_ms": int(self.clock().timestamp() * 1000)},
                                           separators=(",", ":"), default=str))

    async def _send_pending(self) -> None:
        """Commands issued while this page was away (queued), oldest first."""
        for event_id in self.pending:
            await self._deliver(event_id)

    async def _deliver(self, event_id: int) -> None:
        def load(db: Session) -> tuple[ProctoringEvent, dict]:
            event = db.get(ProctoringEvent, event_id)
            sitting = proctoring.get_sitting(db, self.sitting_id)
            return event, proctoring.sitting_clock(sitting, self.clock())

        event, clock = await _db(self.ws, load, read=True)
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
        # Written with every other page of this worker in one transaction (PresenceKeeper).
        presence_keeper(self.ws.app).beat(self.sitting_id, self.connection_id)
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


def presence_keeper(app) -> PresenceKeeper:
    keeper = getattr(app.state, "presence_keeper", None)
    if keeper is None:
        keeper = app.state.presence_keeper = PresenceKeeper(app)
    return keeper


class PresenceKeeper:
    """Heartbeats of this worker's pages, written for all of them in one transaction.

    Two thousand pages beating every ten seconds would be two hundred write transactions
    a second; presence only needs to be fresher than ``PRESENCE_TIMEOUT``, so the beats
    are collected in memory and written every ``PRESENCE_WRITE_SECONDS``.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.beats: dict[int, str] = {}
        self.task: asyncio.Task | None = None

    def beat(self, sitting_id: int, connection_id: str) -> None:
        self.beats[sitting_id] = connection_id
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._write_soon())

    def forget(self, sitting_id: int, connection_id: str) -> None:
        if self.beats.get(sitting_id) == connection_id:
            del self.beats[sitting_id]

    async def _write_soon(self) -> None:
        await asyncio.sleep(PRESENCE_WRITE_SECONDS)
        beats, self.beats = self.beats, {}
        now = self.app.state.clock()

        try:
            await write(self.app, lambda db: proctoring.record_presence(db, beats, now))
        except Exception:  # the next beats retry; presence is a hint, never evidence
            log.exception("writing presence of %s pages failed", len(beats))


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
        await _db(websocket, lambda db: scheduling.supervised_exam_session(db, user, exam_session_id), read=True)
    except DeliveryError:
        raise SocketClosed(CloseCode.not_found, "no such exam session") from None
    locale = locale_of(websocket, websocket.app.state.settings.default_locale)  # type: ignore[arg-type]
    async with room_hubs(websocket.app).watch(exam_session_id, locale) as frames:
        reader = asyncio.create_task(drain_read_only_frames(websocket))
        try:
            while True:
                getter = asyncio.create_task(frames.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    reader.result()  # raises WebSocketDisconnect / SocketClosed
                await websocket.send_text(getter.result())
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def drain_read_only_frames(websocket: WebSocket) -> None:
    """For watch-only sockets (supervisors act through HTTP POSTs): frames are read, bounded and dropped."""
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(frame.get("code", 1000))
        if len((frame.get("text") or "").encode()) + len(frame.get("bytes") or b"") > MAX_FRAME:
            raise SocketClosed(CloseCode.too_big, f"frames are limited to {MAX_FRAME} bytes")


def room_hubs(app) -> RoomHubs:
    hubs = getattr(app.state, "room_hubs", None)
    if hubs is None:
        hubs = app.state.room_hubs = RoomHubs(app)
    return hubs


class RoomHubs:
    """This worker's hubs, one per (exam session, language), shared by its supervisor sockets."""

    def __init__(self, app) -> None:
        self.app = app
        self.hubs: dict[tuple[int, str], RoomHub] = {}

    @contextlib.asynccontextmanager
    async def watch(self, exam_session_id: int, locale: str):
        key = (exam_session_id, locale)
        hub = self.hubs.get(key)
        if hub is None:
            hub = self.hubs[key] = RoomHub(self.app, exam_session_id, locale)
            await hub.start()
        frames = hub.join()
        try:
            yield frames
        finally:
            hub.leave(frames)
            if not hub.watchers and self.hubs.get(key) is hub:
                del self.hubs[key]
                await hub.stop()


class RoomHub:
    """The roster of one room as this worker's supervisors see it.

    It subscribes to the room's channel once, renders each changed row once (at most one
    render per ``RENDER_INTERVAL``: a burst of events for one row costs one render) and
    hands the same fragment to every watching socket. Rows are read for all changed
    candidates at once (engine/proctoring/roster.py) in a read-only transaction, so on
    SQLite a supervisor never waits for, or holds up, the writers.
    """

    def __init__(self, app, exam_session_id: int, locale: str) -> None:
        self.app, self.exam_session_id = app, exam_session_id
        self.context = {"locale": locale, **gettext_callables(locale)}
        self.watchers: set[asyncio.Queue[str]] = set()
        self.rows: dict[int, str] = {}
        self.order: list[int] = []
        self.presence: dict[int, str] = {}
        self.dirty: set[int] = set()
        self.whole = True
        self.table_ready = False
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self._subscription_cm = None
        self.last_table = 0.0

    async def start(self) -> None:
        self._subscription_cm = self.app.state.bus.subscribe(room_channel(self.exam_session_id))
        subscription = await self._subscription_cm.__aenter__()
        self.tasks = [asyncio.create_task(self._listen(subscription)), asyncio.create_task(self._render_loop())]
        self.wake.set()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._subscription_cm is not None:
            await self._subscription_cm.__aexit__(None, None, None)

    def join(self) -> asyncio.Queue[str]:
        frames: asyncio.Queue[str] = asyncio.Queue(WATCHER_QUEUE)
        if self.table_ready:
            frames.put_nowait(self._table_html())
        self.watchers.add(frames)
        return frames

    def leave(self, frames: asyncio.Queue[str]) -> None:
        self.watchers.discard(frames)

    async def _listen(self, subscription) -> None:
        while True:
            message = await subscription.get()
            if message.get("type") == "row" and isinstance(message.get("sitting"), int):
                self.dirty.add(message["sitting"])
            elif message.get("type") == "table":
                self.whole = True
            self.wake.set()

    async def _render_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), PRESENCE_CHECK_SECONDS)
            self.wake.clear()
            try:
                if loop.time() - self.last_table >= ROSTER_REFRESH_SECONDS:
                    self.whole = True  # time left and presence of quiet rows
                elif not self.dirty:
                    await self._note_presence_changes()
                if self.whole:
                    self.whole, self.dirty = False, set()
                    await self._render_table()
                    self.last_table = loop.time()
                elif self.dirty:
                    changed, self.dirty = self.dirty, set()
                    await self._render_rows(sorted(changed))
            except Exception:  # a failed read costs a later full refresh, never the hub
                log.exception("rendering the roster of exam session %s failed", self.exam_session_id)
                self.whole = True
            await asyncio.sleep(RENDER_INTERVAL)  # what arrives meanwhile goes out in the next frame

    async def _render_table(self) -> None:
        now = self.app.state.clock()
        template = templates.get_template("supervisor/_row.html")

        def read_and_render(db: Session) -> list[tuple[LiveLine, str]]:  # rendering too stays off the loop
            return [(line, template.render({**self.context, "line": line, "oob": False, "now": now}))
                    for line in live_roster.lines(db, self.exam_session_id, now)]

        rendered = await self._read(read_and_render)
        self.rows = {line.candidate_session_id: html for line, html in rendered}
        self.order = [line.candidate_session_id for line, _html in rendered]
        self.presence = {line.candidate_session_id: line.presence for line, _html in rendered}
        self.table_ready = True
        self._broadcast(self._table_html())

    async def _render_rows(self, sitting_ids: list[int]) -> None:
        if any(sid not in self.rows for sid in sitting_ids):
            self.whole = True  # a candidate enrolled meanwhile: the order changes
            self.wake.set()
            return
        now = self.app.state.clock()
        template = templates.get_template("supervisor/_row.html")

        def read_and_render(db: Session) -> list[tuple[LiveLine, str, str]]:
            rendered = []
            for line in live_roster.lines(db, self.exam_session_id, now, sitting_ids):
                pushed = template.render({**self.context, "line": line, "oob": True, "now": now})
                # The kept copy is the same row without the swap attribute: one render, not two.
                rendered.append((line, pushed.replace(OOB_ATTRIBUTE, "", 1), pushed))
            return rendered

        rendered = await self._read(read_and_render)
        for line, html, _pushed in rendered:
            self.rows[line.candidate_session_id] = html
            self.presence[line.candidate_session_id] = line.presence
        if rendered:
            self._broadcast("".join(pushed for _line, _html, pushed in rendered))

    async def _note_presence_changes(self) -> None:
        """Pages that stopped beating change no event; find them with one narrow query."""
        now = self.app.state.clock()
        current = await self._read(lambda db: live_roster.presence_map(db, self.exam_session_id, now))
        self.dirty |= {sid for sid, state in current.items() if self.presence.get(sid) != state}

    def _table_html(self) -> str:
        body = "".join(self.rows[sid] for sid in self.order)
        if not body:
            return templates.get_template("supervisor/_roster_body.html").render(
                {**self.context, "lines": [], "oob": True})
        return f'<tbody id="roster-body" hx-swap-oob="true">{body}</tbody>'

    def _broadcast(self, html: str) -> None:
        for frames in list(self.watchers):
            if frames.full():  # a supervisor this far behind gets the whole table instead
                while not frames.empty():
                    frames.get_nowait()
                html_for = self._table_html() if self.table_ready else html
                frames.put_nowait(html_for)
            else:
                frames.put_nowait(html)

    async def _read(self, work: Callable[[Session], T]) -> T:
        read_db = read_only(self.app.state.db)

        def run() -> T:
            with Session(read_db, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.to_thread(run)


router.add_api_websocket_route("/ws/candidate/{sitting_id}", candidate_socket)
router.add_api_websocket_route("/ws/supervisor/sessions/{exam_session_id}", supervisor_socket)
