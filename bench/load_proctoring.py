"""Proctoring load test: simulated candidates and supervisors against ``skillcert serve``.

    .venv/bin/python bench/load_proctoring.py                         # SQLite, in-process bus
    .venv/bin/python bench/load_proctoring.py --postgres --redis      # PostgreSQL + Redis
    .venv/bin/python bench/load_proctoring.py --candidates 200 --duration 20   # quick

Loopback only, bounded in count and time: every client is an asyncio task in this
process; the server is a real ``skillcert serve`` subprocess on 127.0.0.1 with its own
data directory (and, with --postgres, a schema of its own, dropped afterwards).

Each candidate signs in, presses *start* (the first ``--storm`` of them within
``--storm-seconds``, as when a whole room begins together; the others over the next 15
seconds), opens the proctoring WebSocket (heartbeat every 10 s) and answers a random
question every 10 s on average (exponential gaps) for ``--duration`` seconds.
``--supervisors`` supervisors watch the rooms' live rosters. Reported: answers/s,
answer acknowledgement latency (p50/p99), the delay from an answer being sent to the
candidate's row arriving on a supervisor's socket (p50/p99), errors, and lost answers
(acknowledged sequence numbers missing from the database after the run). The same
client schedule then runs against a bare FastAPI JSON endpoint for the throughput ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

HOST = "127.0.0.1"  # loopback only
ROOM_SIZE = 500
MAX_CANDIDATES = 3000
MAX_DURATION = 600.0
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW_RE = re.compile(r'id="row-(\d+)"')

bare_app = FastAPI()
_DB = None  # the server's database, for minting session cookies
_SECRET = ""


@bare_app.post("/answer")
async def bare_answer(payload: dict) -> dict:
    """The baseline: a JSON endpoint that stores nothing."""
    return {"stored": True, "seq": payload.get("seq")}


@dataclass
class Stats:
    acks: list[float] = field(default_factory=list)
    to_supervisor: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acked: dict[tuple[int, int], tuple[int, list[str]]] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)
    answers_in_window: int = 0

    def error(self, what: str) -> None:
        self.errors[what] += 1


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)] * 1000


# ---- server set-up ----------------------------------------------------------------------


def seed_candidates(database_url: str, count: int) -> tuple[list[tuple[str, int, int]], dict[int, list[str]]]:
    """Enrol ``count`` candidates with logins in rooms of 500; returns (username, sitting, exam session)
    and the answer options per position of the demo form."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST
    from sqlmodel import Session, select

    from engine import accounts, administration
    from engine.identity import check_character
    from engine.models import ExamDefinition, ExamFormItem, ExamSession, TestCenter
    from itembank.models import Item, ItemVersion
    from itembank.timeutil import utcnow
    from web.db import make_engine

    accounts.use_hasher(PasswordHasher.from_parameters(CHEAPEST))  # sign-in cost is not under test
    db = make_engine(database_url)
    people = []
    with Session(db, expire_on_commit=False) as session:
        definition = session.exec(select(ExamDefinition)).first()
        center = session.exec(select(TestCenter)).first()
        for room_no in range(math.ceil(count / ROOM_SIZE)):
            room = administration.create_room(session, center.id, f"bench-room-{room_no}", ROOM_SIZE, "bench")
            exam_session = administration.create_exam_session(session, definition.id, room.id,
                                                              f"bench {room_no}", utcnow(), "bench")
            for i in range(room_no * ROOM_SIZE, min(count, (room_no + 1) * ROOM_SIZE)):
                first17 = f"110105{1960 + i % 40}0101{i % 1000:03d}"
                if i >= 1000:
                    first17 = f"110106{1960 + i % 40}0101{i % 1000:03d}"
                if i >= 2000:
                    first17 = f"110107{1960 + i % 40}0101{i % 1000:03d}"
                sitting = administration.enrol(session, exam_session.id, f"考生{i}", first17 + check_character(first17),
                                               "bench", username=f"bench{i}", password=f"bench{i}-pass")
                people.append((f"bench{i}", sitting.id, exam_session.id))
        options = {}
        for line in session.exec(select(ExamFormItem).where(ExamFormItem.exam_definition_id == definition.id)).all():
            item = session.get(Item, line.item_id)
            version = session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                             ItemVersion.version_no == item.current_version)).one()
            options[line.position] = [o["id"] for o in version.options]
        session.commit()
        assert session.exec(select(ExamSession)).first() is not None
    db.dispose()
    return people, options


class Server:
    """``skillcert serve`` on loopback with its own data directory."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str | None) -> None:
        from tests.e2e.liveserver import LiveServer

        class Configured(LiveServer):
            def env(self) -> dict[str, str]:
                env = super().env()
                if redis_url:
                    env["SKILLCERT_REDIS_URL"] = redis_url
                env["SKILLCERT_LOGIN_RATE_LIMIT"] = "100000/minute"
                return env

        self.live = Configured(data_dir, database_url=database_url)

    def __enter__(self) -> Server:
        self.live.prepare()
        return self

    def __exit__(self, *exc) -> None:
        self.live.stop()


# ---- clients ------------------------------------------------------------------------------


def session_cookie(secret_key: str, username: str) -> tuple[str, str]:
    """A signed session cookie for ``username`` and its CSRF token, made the way Starlette's
    SessionMiddleware makes them. Sign-in is not under test: argon2 verification (and the
    rehash to the server's parameters) would dominate a storm of 2,000 sign-ins."""
    import base64
    import secrets

    from itsdangerous import TimestampSigner
    from sqlmodel import Session, select

    from engine.models import User

    with Session(_DB) as session:
        user = session.exec(select(User).where(User.username == username)).one()
    csrf = secrets.token_urlsafe(32)
    data = base64.b64encode(json.dumps({"uid": user.id, "role": user.role.value, "csrf": csrf}).encode())
    return TimestampSigner(secret_key).sign(data).decode(), csrf


async def sign_in(base: str, username: str, limits: httpx.Limits) -> tuple[httpx.AsyncClient, str]:
    cookie, csrf = session_cookie(_SECRET, username)
    client = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30, limits=limits,
                               cookies={"skillcert_session": cookie})
    return client, csrf


async def candidate(base: str, username: str, sitting: int, room: int, options: dict[int, list[str]],
                    start_at: float, until: float, window: tuple[float, float], stats: Stats,
                    watchers: dict[int, list[dict]]) -> None:
    from websockets.asyncio.client import connect

    client, csrf = await sign_in(base, username, httpx.Limits(max_connections=2))
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        began = time.monotonic()
        response = await client.post(f"/candidate/sessions/{sitting}/start", data={"csrf_token": csrf})
        stats.starts.append(time.monotonic() - began)
        if response.status_code != 303:
            stats.error(f"start {response.status_code}")
            return
        cookie = f"skillcert_session={client.cookies['skillcert_session']}"
        url = base.replace("http://", "ws://") + f"/ws/candidate/{sitting}?tab={username[-16:]}"
        async with connect(url, additional_headers={"Cookie": cookie, "Origin": base}, open_timeout=30) as socket:
            await socket.recv()  # state
            heart = asyncio.create_task(_heartbeat(socket, stats))
            seq = 0
            try:
                while True:
                    await asyncio.sleep(min(60.0, random.expovariate(1 / 10)))
                    if time.monotonic() >= until:
                        break
                    seq += 1
                    await _answer(client, csrf, sitting, room, options, seq, window, stats, watchers)
            finally:
                heart.cancel()
    except Exception as exc:  # noqa: BLE001 — every failure is counted, the run goes on
        stats.error(type(exc).__name__)
    finally:
        await client.aclose()


async def _heartbeat(socket, stats: Stats) -> None:
    try:
        while True:
            await asyncio.sleep(10)
            await socket.send('{"type":"heartbeat"}')
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        stats.error("heartbeat " + type(exc).__name__)


async def _answer(client, csrf, sitting, room, options, seq, window, stats, watchers) -> None:
    position = random.choice(list(options))
    answer = [random.choice(options[position])]
    sent = time.monotonic()
    for watcher in watchers.get(room, []):
        watcher.setdefault(sitting, []).append(sent)
    response = await client.post(f"/candidate/sessions/{sitting}/items/{position}/answer",
                                 data={"answer": answer, "seq": str(seq), "csrf_token": csrf},
                                 headers={"HX-Request": "true"})
    done = time.monotonic()
    if response.status_code != 200:
        stats.error(f"answer {response.status_code}")
        return
    stats.acks.append(done - sent)
    if window[0] <= sent < window[1]:
        stats.answers_in_window += 1
    previous = stats.acked.get((sitting, position))
    if previous is None or previous[0] < seq:
        stats.acked[(sitting, position)] = (seq, answer)


async def supervisor(base: str, room: int, until: float, stats: Stats, pending: dict[int, list[float]]) -> None:
    from websockets.asyncio.client import connect

    client, _csrf = await sign_in(base, "supervisor", httpx.Limits(max_connections=1))
    cookie = f"skillcert_session={client.cookies['skillcert_session']}"
    url = base.replace("http://", "ws://") + f"/ws/supervisor/sessions/{room}"
    try:
        async with connect(url, additional_headers={"Cookie": cookie, "Origin": base}, open_timeout=30,
                           max_size=2**24) as socket:
            while time.monotonic() < until + 5:
                try:
                    frame = await asyncio.wait_for(socket.recv(), 1.0)
                except TimeoutError:
                    continue
                arrived = time.monotonic()
                for sitting in {int(s) for s in ROW_RE.findall(frame)}:
                    for sent in pending.pop(sitting, []):
                        stats.to_supervisor.append(arrived - sent)
    except Exception as exc:  # noqa: BLE001
        stats.error("supervisor " + type(exc).__name__)
    finally:
        await client.aclose()


async def bare_client(base: str, start_at: float, until: float, window, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1)) as client:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        seq = 0
        while True:
            await asyncio.sleep(min(60.0, random.expovariate(1 / 10)))
            if time.monotonic() >= until:
                return
            seq += 1
            sent = time.monotonic()
            try:
                response = await client.post("/answer", json={"position": 1, "answer": ["A"], "seq": seq})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if not ok:
                stats.error("bare")
                continue
            stats.acks.append(time.monotonic() - sent)
            if window[0] <= sent < window[1]:
                stats.answers_in_window += 1


def schedule(count: int, storm: int, storm_seconds: float, now: float) -> list[float]:
    return [now + (random.uniform(0, storm_seconds) if i < storm else random.uniform(storm_seconds, storm_seconds + 15))
            for i in range(count)]


# ---- runs ---------------------------------------------------------------------------------


async def run_skillcert(base: str, people, options, args) -> Stats:
    stats = Stats()
    rooms = sorted({room for _u, _s, room in people})
    watchers: dict[int, list[dict]] = {room: [] for room in rooms}
    t0 = time.monotonic() + 2
    starts = schedule(len(people), args.storm, args.storm_seconds, t0)
    steady_from = t0 + args.storm_seconds + 15
    until = steady_from + args.duration
    sup_tasks = []
    for i in range(args.supervisors):
        room = rooms[i % len(rooms)]
        pending: dict[int, list[float]] = {}
        watchers[room].append(pending)
        sup_tasks.append(asyncio.create_task(supervisor(base, room, until, stats, pending)))
    tasks = [candidate(base, user, sitting, room, options, start, until, (steady_from, until), stats, watchers)
             for (user, sitting, room), start in zip(people, starts, strict=False)]
    await asyncio.gather(*tasks)
    await asyncio.gather(*sup_tasks)
    stats.window_seconds = args.duration  # type: ignore[attr-defined]
    return stats


async def run_bare(base: str, count: int, args) -> Stats:
    stats = Stats()
    t0 = time.monotonic() + 1
    starts = schedule(count, args.storm, args.storm_seconds, t0)
    steady_from = t0 + args.storm_seconds + 15
    until = steady_from + args.duration
    await asyncio.gather(*(bare_client(base, s, until, (steady_from, until), stats) for s in starts))
    return stats


def lost_answers(database_url: str, stats: Stats) -> int:
    from sqlmodel import Session, select

    from engine.models import Response
    from web.db import make_engine

    db = make_engine(database_url)
    with Session(db) as session:
        stored = {(r.candidate_session_id, r.position): (r.client_seq, list(r.answer))
                  for r in session.exec(select(Response)).all()}
    db.dispose()
    return sum(1 for key, (seq, answer) in stats.acked.items()
               if key not in stored or stored[key][0] < seq or (stored[key][0] == seq and stored[key][1] != answer))


def report(name: str, stats: Stats, duration: float) -> dict:
    result = {
        "run": name, "answers": len(stats.acks), "answers_per_s": round(stats.answers_in_window / duration, 1),
        "ack_p50_ms": round(pct(stats.acks, 0.5), 1), "ack_p99_ms": round(pct(stats.acks, 0.99), 1),
        "to_supervisor_p50_ms": round(pct(stats.to_supervisor, 0.5), 1),
        "to_supervisor_p99_ms": round(pct(stats.to_supervisor, 0.99), 1),
        "start_p99_ms": round(pct(stats.starts, 0.99), 1),
        "errors": dict(stats.errors),
    }
    result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # a shared machine skews every figure
    print(json.dumps(result, ensure_ascii=False))
    return result


def start_bare_server(port: int):
    import subprocess

    return subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.load_proctoring:bare_app", "--host", HOST,
                             "--port", str(port), "--log-level", "warning"], cwd=ROOT, start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--storm", type=int, default=500)
    parser.add_argument("--storm-seconds", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of steady answering measured")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at SKILLCERT_TEST_POSTGRES_URL")
    parser.add_argument("--redis", action="store_true", help="Redis bus at SKILLCERT_TEST_REDIS_URL")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not 1 <= args.candidates <= MAX_CANDIDATES or not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"bounded: 1..{MAX_CANDIDATES} candidates, 1..{MAX_DURATION:.0f} s")
    args.storm = min(args.storm, args.candidates)
    random.seed(7)
    print(json.dumps({"load_average_before": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}))
    results = []
    with TemporaryDirectory(prefix="skillcert-bench-") as tmp:
        database_url, schema = f"sqlite:///{tmp}/skillcert.sqlite3", None
        if args.postgres:
            database_url, schema = _postgres_schema()
        redis_url = os.environ.get("SKILLCERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15") if args.redis else None
        try:
            with Server(Path(tmp), database_url, redis_url) as server:
                people, options = seed_candidates(database_url, args.candidates)
                global _DB, _SECRET
                from web.db import make_engine

                _DB, _SECRET = make_engine(database_url), server.live.secret_key
                server.live.start()
                name = ("postgresql" if args.postgres else "sqlite") + ("+redis" if args.redis else "")
                stats = asyncio.run(run_skillcert(server.live.url, people, options, args))
                result = report(f"skillcert {name}", stats, args.duration)
                server.live.stop()  # drain and stop before reading the database back
                if stats.errors and os.environ.get("BENCH_KEEP_LOG"):
                    Path(os.environ["BENCH_KEEP_LOG"]).write_text(server.live.log_path.read_text(errors="replace"))
                result["lost_answers"] = lost_answers(database_url, stats)
                result["acknowledged_positions"] = len(stats.acked)
                print(json.dumps({"lost_answers": result["lost_answers"],
                                  "acknowledged_positions": result["acknowledged_positions"]}))
                results.append(result)
        finally:
            if schema:
                _drop_schema(schema)
    if not args.no_bare:
        from tests.e2e.liveserver import free_port

        port = free_port()
        process = start_bare_server(port)
        try:
            _wait_port(port)
            bare = report("bare FastAPI JSON", asyncio.run(run_bare(f"http://{HOST}:{port}", args.candidates, args)),
                          args.duration)
            results.append(bare)
            ratio = results[0]["answers_per_s"] / bare["answers_per_s"] if bare["answers_per_s"] else float("nan")
            print(json.dumps({"throughput_ratio_skillcert_to_bare": round(ratio, 3)}))
            results.append({"throughput_ratio_skillcert_to_bare": round(ratio, 3)})
        finally:
            process.terminate()
            process.wait(timeout=10)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("bare server did not start")


def _postgres_schema() -> tuple[str, str]:
    from sqlalchemy import text

    from web.db import make_engine

    base = os.environ.get("SKILLCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    from sqlalchemy import text

    from web.db import make_engine

    admin = make_engine(os.environ.get("SKILLCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


if __name__ == "__main__":
    main()
