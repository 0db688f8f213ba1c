"""Proctoring load test: simulated candidates and supervisors against ``skillcert serve``.

    .venv/bin/python bench/load_proctoring.py                         # SQLite, in-process bus
    .venv/bin/python bench/load_proctoring.py --postgres --redis      # PostgreSQL + Redis
    .venv/bin/python bench/load_proctoring.py --candidates 200 --duration 20   # quick

Loopback only, bounded in count and time: the clients are asyncio tasks dealt over
``--client-processes`` processes (each with its own event loop); the server is a real
``skillcert serve`` subprocess (``--workers``) on 127.0.0.1 with its own
data directory (and, with --postgres, a schema of its own, dropped afterwards).

Each candidate signs in, presses *start*, opens the proctoring WebSocket (heartbeat every
10 s) and answers a random question every 10 s on average (exponential gaps). The other
rooms start over ``--warmup`` seconds; then ``--duration`` seconds are measured, and 5 s
into them the storm room's ``--storm`` candidates all press start within
``--storm-seconds`` (as when a whole room begins together) while the rest keep answering.
Latencies are those of answers sent in the measured window (the warm-up's are reported
apart).
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


@bare_app.post("/answer")
async def bare_answer(payload: dict) -> dict:
    """The baseline: a JSON endpoint that stores nothing."""
    return {"stored": True, "seq": payload.get("seq")}


@dataclass
class Stats:
    acks: list[float] = field(default_factory=list)  # answers sent in the measured window
    warmup_acks: list[float] = field(default_factory=list)
    storm_starts: list[float] = field(default_factory=list)
    to_supervisor: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acked: dict[tuple[int, int], tuple[int, list[str]]] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)
    answers_in_window: int = 0
    sent: list[tuple[int, float]] = field(default_factory=list)  # (sitting, monotonic time)
    arrivals: dict[tuple[int, int], list[float]] = field(default_factory=dict)  # (watcher, sitting)
    never_arrived: int = 0
    retries: int = 0

    def merge(self, other: Stats) -> None:
        self.acks += other.acks
        self.warmup_acks += other.warmup_acks
        self.starts += other.starts
        self.storm_starts += other.storm_starts
        self.sent += other.sent
        self.answers_in_window += other.answers_in_window
        self.retries += other.retries
        self.acked.update(other.acked)  # candidates are dealt to one process each: disjoint keys
        self.arrivals.update(other.arrivals)  # a supervisor lives in one process
        for what, count in other.errors.items():
            self.errors[what] += count

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

    def __init__(self, data_dir: Path, database_url: str, redis_url: str | None, workers: int = 1) -> None:
        import subprocess

        from tests.e2e.liveserver import LiveServer, skillcert_command

        class Configured(LiveServer):
            def env(self) -> dict[str, str]:
                env = super().env()
                if redis_url:
                    env["SKILLCERT_REDIS_URL"] = redis_url
                env["SKILLCERT_LOGIN_RATE_LIMIT"] = "100000/minute"
                return env

            def start(self) -> None:  # LiveServer.start, with --workers
                self.starts += 1
                with self.log_path.open("wb") as log:
                    self.process = subprocess.Popen(
                        [*skillcert_command(), "serve", "--host", HOST, "--port", str(self.port),
                         "--workers", str(workers)],
                        cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                self._wait_healthy()

        self.live = Configured(data_dir, database_url=database_url)

    def __enter__(self) -> Server:
        self.live.prepare()
        return self

    def __exit__(self, *exc) -> None:
        self.live.stop()


# ---- clients ------------------------------------------------------------------------------
# Clients run in ``--client-processes`` processes, each with its own event loop, so that the
# client is not the bottleneck. Times are CLOCK_MONOTONIC, which every process on the machine
# shares: a supervisor's arrival in one process is compared with a send in another.


def session_cookies(database_url: str, secret_key: str, usernames: list[str]) -> dict[str, tuple[str, str]]:
    """Signed session cookies and CSRF tokens, made the way Starlette's SessionMiddleware makes
    them. Sign-in is not under test: argon2 verification (and the rehash to the server's
    parameters) would dominate a storm of 2,000 sign-ins."""
    import base64
    import secrets

    from itsdangerous import TimestampSigner
    from sqlmodel import Session, select

    from engine.models import User
    from web.db import make_engine

    db = make_engine(database_url)
    with Session(db) as session:
        users = {u.username: u for u in session.exec(select(User).where(User.username.in_(usernames))).all()}
    db.dispose()
    signer, cookies = TimestampSigner(secret_key), {}
    for name in usernames:
        csrf = secrets.token_urlsafe(32)
        data = base64.b64encode(json.dumps({"uid": users[name].id, "role": users[name].role.value,
                                            "csrf": csrf}).encode())
        cookies[name] = (signer.sign(data).decode(), csrf)
    return cookies


_SSL: list = []


def _ssl_context():
    """One TLS context per client process. Plain HTTP on loopback never uses it, but an
    httpx client builds one when made without it: ~20 ms of CPU and ~0.5 MB each, which
    for 1,000 simulated candidates kept the client processes busy for the first 20 s and
    pushed every start into one late burst."""
    if not _SSL:
        import ssl

        _SSL.append(ssl.create_default_context())
    return _SSL[0]


def _client(base: str, cookie: str | None, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30, verify=_ssl_context(),
                             limits=httpx.Limits(max_connections=connections),
                             cookies={"skillcert_session": cookie} if cookie else None)


async def candidate(base: str, cookie: tuple[str, str], username: str, sitting: int, options: dict[int, list[str]],
                    start_at: float, until: float, window: tuple[float, float], stats: Stats) -> None:
    from websockets.asyncio.client import connect

    client, csrf = _client(base, cookie[0], 2), cookie[1]
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        began = time.monotonic()
        response = await client.post(f"/candidate/sessions/{sitting}/start", data={"csrf_token": csrf})
        (stats.storm_starts if start_at >= window[0] else stats.starts).append(time.monotonic() - began)
        if response.status_code != 303:
            stats.error(f"start {response.status_code}")
            return
        url = base.replace("http://", "ws://") + f"/ws/candidate/{sitting}?tab={username[-16:]}"
        async with connect(url, additional_headers={"Cookie": f"skillcert_session={cookie[0]}", "Origin": base},
                           open_timeout=30) as socket:
            await socket.recv()  # state
            heart = asyncio.create_task(_heartbeat(socket, stats))
            seq = 0
            try:
                while True:
                    await asyncio.sleep(min(60.0, random.expovariate(1 / 10)))
                    if time.monotonic() >= until:
                        break
                    seq += 1
                    await _answer(client, csrf, sitting, options, seq, window, stats)
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


async def _answer(client, csrf, sitting, options, seq, window, stats: Stats) -> None:
    position = random.choice(list(options))
    answer = [random.choice(options[position])]
    sent = time.monotonic()
    stats.sent.append((sitting, sent))
    for attempt in (1, 2):
        try:
            response = await client.post(f"/candidate/sessions/{sitting}/items/{position}/answer",
                                         data={"answer": answer, "seq": str(seq), "csrf_token": csrf},
                                         headers={"HX-Request": "true"})
            break
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # The server closed an idle keep-alive connection as we reused it. Answers are
            # idempotent by seq, so the client sends the same one again (once; counted).
            if attempt == 2:
                raise
            stats.retries += 1
    done = time.monotonic()
    if response.status_code != 200:
        stats.error(f"answer {response.status_code}")
        return
    if window[0] <= sent < window[1]:
        stats.acks.append(done - sent)
        stats.answers_in_window += 1
    else:
        stats.warmup_acks.append(done - sent)
    previous = stats.acked.get((sitting, position))
    if previous is None or previous[0] < seq:
        stats.acked[(sitting, position)] = (seq, answer)


async def supervisor(base: str, cookie: tuple[str, str], watcher: int, room: int, until: float, stats: Stats) -> None:
    """Records when each candidate's row arrives (``stats.arrivals[(watcher, sitting)]``)."""
    from websockets.asyncio.client import connect

    url = base.replace("http://", "ws://") + f"/ws/supervisor/sessions/{room}"
    try:
        async with connect(url, additional_headers={"Cookie": f"skillcert_session={cookie[0]}", "Origin": base},
                           open_timeout=30, max_size=2**24) as socket:
            while time.monotonic() < until + 5:
                try:
                    frame = await asyncio.wait_for(socket.recv(), 1.0)
                except TimeoutError:
                    continue
                arrived = time.monotonic()
                for sitting in {int(s) for s in ROW_RE.findall(frame)}:
                    stats.arrivals.setdefault((watcher, sitting), []).append(arrived)
    except Exception as exc:  # noqa: BLE001
        stats.error("supervisor " + type(exc).__name__)


async def bare_client(base: str, start_at: float, until: float, window, stats: Stats) -> None:
    async with _client(base, None, 1) as client:
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
            if window[0] <= sent < window[1]:
                stats.acks.append(time.monotonic() - sent)
                stats.answers_in_window += 1


STORM_AFTER = 5.0  # seconds into the measured window when the storm room presses start


def schedule(count: int, storm: int, storm_seconds: float, now: float, warmup: float) -> list[float]:
    """Start times: the storm room (the first ``storm`` candidates, one room) all within
    ``storm_seconds``, ``STORM_AFTER`` seconds into the measured window; the other rooms
    began earlier, spread over the warm-up, and are answering when the storm comes."""
    storm_at = now + warmup + STORM_AFTER
    return [storm_at + random.uniform(0, storm_seconds) if i < storm else now + random.uniform(0, warmup)
            for i in range(count)]


# ---- runs ---------------------------------------------------------------------------------


@dataclass
class Shard:
    """One client process's share: its candidates, supervisors and the common timetable."""

    base: str
    candidates: list[tuple[str, tuple[str, str], int, float]]  # username, cookie, sitting, start time
    supervisors: list[tuple[int, int, tuple[str, str]]]  # watcher id, room, cookie
    options: dict[int, list[str]]
    window: tuple[float, float]
    seed: int
    bare: bool = False


def run_shard(shard: Shard) -> Stats:
    random.seed(shard.seed)
    return asyncio.run(_run_shard(shard))


async def _run_shard(shard: Shard) -> Stats:
    stats, until = Stats(), shard.window[1]
    if shard.bare:
        await asyncio.gather(*(bare_client(shard.base, start, until, shard.window, stats)
                               for _u, _c, _s, start in shard.candidates))
        return stats
    sups = [asyncio.create_task(supervisor(shard.base, cookie, watcher, room, until, stats))
            for watcher, room, cookie in shard.supervisors]
    await asyncio.gather(*(candidate(shard.base, cookie, user, sitting, shard.options, start, until, shard.window,
                                     stats) for user, cookie, sitting, start in shard.candidates))
    await asyncio.gather(*sups)
    return stats


def run_sharded(base: str, people, cookies, options, args, bare: bool = False) -> Stats:
    """Deal candidates and supervisors round-robin over the client processes; merge their stats."""
    import multiprocessing

    rooms = sorted({room for _u, _s, room in people})
    t0 = time.monotonic() + 3 + args.client_processes  # processes need a moment to start
    starts = schedule(len(people), args.storm, args.storm_seconds, t0, args.warmup)
    window = (t0 + args.warmup, t0 + args.warmup + args.duration)
    n = args.client_processes
    shards = [Shard(base, [], [], options, window, seed=7 + k, bare=bare) for k in range(n)]
    for i, ((user, sitting, _room), start) in enumerate(zip(people, starts, strict=True)):
        shards[i % n].candidates.append((user, cookies.get(user, ("", "")), sitting, start))
    room_of = {sitting: room for _u, sitting, room in people}
    watcher_room = {}
    if not bare:
        for w in range(args.supervisors):
            watcher_room[w] = rooms[w % len(rooms)]
            shards[w % n].supervisors.append((w, watcher_room[w], cookies["supervisor"]))
    with multiprocessing.get_context("spawn").Pool(n) as pool:
        parts = pool.map(run_shard, shards)
    stats = Stats()
    for part in parts:
        stats.merge(part)
    stats.to_supervisor = to_supervisor_delays(stats, room_of, watcher_room, window)
    return stats


def to_supervisor_delays(stats: Stats, room_of: dict[int, int], watcher_room: dict[int, int],
                         window: tuple[float, float]) -> list[float]:
    """For each answer sent and each supervisor watching its room: the delay until that
    candidate's row next arrived on the supervisor's socket (never arrived: not counted,
    but ``stats.never_arrived`` counts it)."""
    import bisect

    delays = []
    for sitting, sent in stats.sent:
        if not window[0] <= sent < window[1]:
            continue
        for watcher, room in watcher_room.items():
            if room != room_of[sitting]:
                continue
            times = stats.arrivals.get((watcher, sitting), [])
            k = bisect.bisect_right(times, sent)
            if k < len(times):
                delays.append(times[k] - sent)
            else:
                stats.never_arrived += 1
    return delays


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
        "to_supervisor_never": stats.never_arrived,
        "storm_start_p50_ms": round(pct(stats.storm_starts, 0.5), 1),
        "storm_start_p99_ms": round(pct(stats.storm_starts, 0.99), 1),
        "warmup_start_p99_ms": round(pct(stats.starts, 0.99), 1),
        "warmup_answers": len(stats.warmup_acks), "warmup_ack_p99_ms": round(pct(stats.warmup_acks, 0.99), 1),
        "errors": dict(stats.errors), "answer_retries": stats.retries,
    }
    result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # a shared machine skews every figure
    print(json.dumps(result, ensure_ascii=False))
    return result


def start_bare_server(port: int, workers: int):
    import subprocess

    return subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.load_proctoring:bare_app", "--host", HOST,
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                            cwd=ROOT, start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--storm", type=int, default=500)
    parser.add_argument("--storm-seconds", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=45.0,
                        help="seconds measured; the storm comes 5 s into them")
    parser.add_argument("--warmup", type=float, default=60.0,
                        help="seconds over which the other rooms start before the measured window")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at SKILLCERT_TEST_POSTGRES_URL")
    parser.add_argument("--redis", action="store_true", help="Redis bus at SKILLCERT_TEST_REDIS_URL")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (more than one needs --redis)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the simulated clients are dealt to")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not 1 <= args.candidates <= MAX_CANDIDATES or not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"bounded: 1..{MAX_CANDIDATES} candidates, 1..{MAX_DURATION:.0f} s")
    if not 0 <= args.warmup <= MAX_DURATION or args.duration < STORM_AFTER + args.storm_seconds + 10:
        parser.error(f"bounded: warm-up 0..{MAX_DURATION:.0f} s; the measured window must hold the storm and 10 s more")
    if not 1 <= args.workers <= 4 or not 1 <= args.client_processes <= 8:
        parser.error("bounded: 1..4 workers, 1..8 client processes")
    if args.workers > 1 and not args.redis:
        parser.error("several workers share live events only through the Redis bus: add --redis")
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
            with Server(Path(tmp), database_url, redis_url, args.workers) as server:
                people, options = seed_candidates(database_url, args.candidates)
                cookies = session_cookies(database_url, server.live.secret_key,
                                          [user for user, _s, _r in people] + ["supervisor"])
                server.live.start()
                name = ("postgresql" if args.postgres else "sqlite") + ("+redis" if args.redis else "")
                name += f", {args.workers} worker(s), {args.client_processes} client processes"
                stats = run_sharded(server.live.url, people, cookies, options, args)
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
        process = start_bare_server(port, args.workers)
        try:
            _wait_port(port)
            fake = [(f"bare{i}", i, 0) for i in range(args.candidates)]
            bare = report("bare FastAPI JSON", run_sharded(f"http://{HOST}:{port}", fake, {}, {}, args, bare=True),
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
