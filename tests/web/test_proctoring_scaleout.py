"""Two real ``skillcert serve`` processes sharing one database and Redis: a candidate on
worker A is seen live by a supervisor on worker B, a pause issued on B reaches the page
on A; then worker A is killed with SIGKILL and restarted, and the candidate's socket
reconnects by itself to find the same sitting: still paused, the same deadline, every
acknowledged answer stored.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed

from engine.models import CandidateSession, CandidateSessionStatus, ExamSession, Response
from tests.conftest import REDIS_URL, unavailable
from tests.e2e.liveserver import LiveServer, login
from web.db import make_engine


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's sync API (tests/e2e, session-scoped)
    may keep an event loop running in the main thread of the same pytest process."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


pytestmark = pytest.mark.slow
EVENT_BOUND_S = 1.0  # generous bound for a live event across workers on loopback


class RedisServer(LiveServer):
    """A live server whose event bus is Redis (``SKILLCERT_REDIS_URL``)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "SKILLCERT_REDIS_URL": REDIS_URL}


@pytest.fixture
def workers(tmp_path: Path):
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis at " + REDIS_URL, exc)
    a = RedisServer(tmp_path / "a")
    a.prepare()
    b = RedisServer(tmp_path / "b", database_url=a.database_url)
    b.secret_key = a.secret_key  # one deployment: cookies signed by A are valid on B
    a.start()
    b.start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _ws_url(server: LiveServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def _headers(client: httpx.Client, server: LiveServer) -> dict[str, str]:
    return {"Cookie": f"skillcert_session={client.cookies['skillcert_session']}", "Origin": server.url}


async def _until(socket, predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        frame = await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic()))
        if predicate(frame):
            return frame


def test_two_workers_share_live_events_and_survive_a_kill(workers):
    from websockets.asyncio.client import connect

    a, b = workers
    candidate = httpx.Client(base_url=a.url, follow_redirects=False, timeout=10)
    supervisor = httpx.Client(base_url=b.url, follow_redirects=False, timeout=10)
    candidate_csrf = login(candidate, "candidate")
    supervisor_csrf = login(supervisor, "supervisor")
    sitting = int(re.search(r"/candidate/sessions/(\d+)/start", candidate.get("/candidate").text).group(1))
    candidate.post(f"/candidate/sessions/{sitting}/start", data={"csrf_token": candidate_csrf})
    db = make_engine(a.database_url)
    with Session(db) as session:
        exam_session_id = session.exec(select(ExamSession.id)).one()
    acknowledged = []
    for position in (1, 2, 3):
        reply = candidate.post(f"/candidate/sessions/{sitting}/items/{position}/answer",
                               data={"answer": "A", "seq": str(position), "csrf_token": candidate_csrf},
                               headers={"HX-Request": "true"})
        assert reply.status_code == 200
        acknowledged.append(position)

    async def scenario() -> dict:
        measured = {}
        room = _ws_url(b, f"/ws/supervisor/sessions/{exam_session_id}")
        async with connect(room, additional_headers=_headers(supervisor, b)) as watch:
            await _until(watch, lambda f: 'id="roster-body"' in f)
            page = _ws_url(a, f"/ws/candidate/{sitting}?tab=scaleout")
            started = time.monotonic()
            async with connect(page, additional_headers=_headers(candidate, a)) as socket:
                state = json.loads(await socket.recv())
                await _until(watch, lambda f: f'id="row-{sitting}"' in f and 'data-presence="online"' in f)
                measured["presence_s"] = time.monotonic() - started
                # an integrity event on A appears on B's screen
                started = time.monotonic()
                await socket.send(json.dumps({"type": "integrity", "kind": "page_hidden"}))
                await _until(watch, lambda f: f'id="row-{sitting}"' in f and "data-attention" in f)
                measured["event_s"] = time.monotonic() - started
                # a pause issued on B reaches the page on A
                started = time.monotonic()
                response = await asyncio.to_thread(
                    supervisor.post, f"/supervisor/sittings/{sitting}/commands",
                    data={"kind": "pause", "reason": "two-worker test", "csrf_token": supervisor_csrf},
                    headers={"HX-Request": "true"})
                assert response.status_code == 200
                command = json.loads(await _until(socket, lambda f: '"command"' in f))
                measured["command_s"] = time.monotonic() - started
                assert command["kind"] == "paused" and command["paused"] is True
                measured["deadline_ms"] = command["deadline_ms"]
                measured["state"] = state
                # SIGKILL worker A with the candidate connected; the socket drops
                a.kill()
                with pytest.raises((ConnectionClosed, TimeoutError, OSError)):
                    await asyncio.wait_for(socket.recv(), 5)
            a.start()
            # the page reconnects (as proctor.js does) and resumes the same sitting
            async with connect(_ws_url(a, f"/ws/candidate/{sitting}?tab=scaleout"),
                               additional_headers=_headers(candidate, a)) as socket:
                measured["after"] = json.loads(await socket.recv())
        return measured

    measured = run_async(scenario())
    for key in ("presence_s", "event_s", "command_s"):
        assert measured[key] < EVENT_BOUND_S, f"{key} took {measured[key]:.3f}s"
    after = measured["after"]
    assert after["type"] == "state" and after["paused"] is True and after["status"] == "paused"
    assert after["deadline_ms"] == measured["deadline_ms"] == measured["state"]["deadline_ms"], \
        "the deadline is the server's and survives the kill unchanged"
    with Session(db) as session:
        stored = session.exec(select(Response.position).where(Response.candidate_session_id == sitting)).all()
        assert sorted(stored) == acknowledged
        assert session.get(CandidateSession, sitting).status == CandidateSessionStatus.paused
    db.dispose()
    print(f"\nlive across workers: presence {measured['presence_s'] * 1000:.0f} ms, "
          f"event {measured['event_s'] * 1000:.0f} ms, command {measured['command_s'] * 1000:.0f} ms")
