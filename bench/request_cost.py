"""Server CPU per request on the proctoring hot paths: start, answer, heartbeat.

    .venv/bin/python bench/request_cost.py                 # SQLite
    .venv/bin/python bench/request_cost.py --postgres      # PostgreSQL

One ``skillcert serve`` worker on loopback, one client sending requests one after the
other: the server's CPU time (user + system, read from /proc) divided by the number of
requests is what each request costs, whatever else the machine is doing. The load test
(bench/load_proctoring.py) says whether the whole fits; this says where the time goes.
A bare FastAPI JSON endpoint under the same client is the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.load_proctoring import (  # noqa: E402
    HOST,
    Server,
    _drop_schema,
    _postgres_schema,
    _wait_port,
    seed_candidates,
    session_cookies,
    start_bare_server,
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that are still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found + [g for c in found for g in _children(c)]


class Meter:
    def __init__(self, pid: int) -> None:
        self.pid, self.rows = pid, []

    async def measure(self, name: str, count: int, one) -> None:
        latencies = []
        before = cpu_seconds(self.pid)
        for i in range(count):
            began = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - began)
        await asyncio.sleep(0.3)  # let after-commit work (fan-out, presence) finish
        spent = cpu_seconds(self.pid) - before
        row = {"request": name, "count": count, "server_cpu_ms_per_request": round(spent / count * 1000, 2),
               "latency_median_ms": round(statistics.median(latencies) * 1000, 2)}
        self.rows.append(row)
        print(json.dumps(row, ensure_ascii=False))


async def measure_skillcert(base: str, pid: int, people, cookies, options, count: int) -> list[dict]:
    from websockets.asyncio.client import connect

    meter = Meter(pid)
    clients = {user: httpx.AsyncClient(base_url=base, cookies={"skillcert_session": cookies[user][0]})
               for user, _s, _r in people}

    async def start(i: int) -> None:
        user, sitting, _room = people[i]
        response = await clients[user].post(f"/candidate/sessions/{sitting}/start",
                                            data={"csrf_token": cookies[user][1]})
        assert response.status_code == 303, response.status_code

    await meter.measure("start", len(people), start)
    user, sitting, _room = people[0]
    positions = list(options)

    async def answer(i: int) -> None:
        position = random.choice(positions)
        response = await clients[user].post(
            f"/candidate/sessions/{sitting}/items/{position}/answer",
            data={"answer": [random.choice(options[position])], "seq": str(i + 1), "csrf_token": cookies[user][1]},
            headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code

    await meter.measure("answer", count, answer)
    url = base.replace("http://", "ws://") + f"/ws/candidate/{sitting}?tab=bench"
    async with connect(url, additional_headers={"Cookie": f"skillcert_session={cookies[user][0]}",
                                                "Origin": base}) as socket:
        await socket.recv()

        async def heartbeat(_i: int) -> None:
            await socket.send('{"type":"heartbeat"}')
            while json.loads(await socket.recv()).get("type") != "heartbeat_ack":
                pass

        await meter.measure("heartbeat (socket frame)", count, heartbeat)

    async def connect_socket(i: int) -> None:
        user, sitting, _room = people[i]
        async with connect(base.replace("http://", "ws://") + f"/ws/candidate/{sitting}?tab=b{i}",
                           additional_headers={"Cookie": f"skillcert_session={cookies[user][0]}",
                                               "Origin": base}) as socket:
            await socket.recv()

    await meter.measure("socket connect + close", min(len(people), 100), connect_socket)
    for client in clients.values():
        await client.aclose()
    return meter.rows


async def measure_bare(base: str, pid: int, count: int) -> list[dict]:
    meter = Meter(pid)
    async with httpx.AsyncClient(base_url=base) as client:
        async def answer(i: int) -> None:
            response = await client.post("/answer", json={"position": 1, "answer": ["A"], "seq": i})
            assert response.status_code == 200

        await meter.measure("bare FastAPI JSON", count, answer)
    return meter.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=200, help="candidates started one after the other")
    parser.add_argument("--requests", type=int, default=500, help="answers and heartbeats sent")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.starts <= 2000 or not 1 <= args.requests <= 10000:
        parser.error("bounded: 1..2000 starts, 1..10000 requests")
    random.seed(11)
    print(json.dumps({"load_average_before": [round(x, 2) for x in os.getloadavg()]}))
    with TemporaryDirectory(prefix="skillcert-cost-") as tmp:
        database_url, schema = f"sqlite:///{tmp}/skillcert.sqlite3", None
        if args.postgres:
            database_url, schema = _postgres_schema()
        try:
            with Server(Path(tmp), database_url, None) as server:
                people, options = seed_candidates(database_url, args.starts)
                cookies = session_cookies(database_url, server.live.secret_key, [u for u, _s, _r in people])
                server.live.start()
                asyncio.run(measure_skillcert(server.live.url, server.live.process.pid, people, cookies, options,
                                              args.requests))
        finally:
            if schema:
                _drop_schema(schema)
    from tests.e2e.liveserver import free_port

    port = free_port()
    process = start_bare_server(port, 1)
    try:
        _wait_port(port)
        asyncio.run(measure_bare(f"http://{HOST}:{port}", process.pid, args.requests))
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
