"""Kill the server with SIGKILL while answers stream in; every acknowledged answer survives.

Architecture invariant 1: an answer the server acknowledged is committed before the
acknowledgement, so a crash loses nothing acknowledged, and the deadline (the server's
clock, not the browser's) is the same after the restart. The server is the real
``skillcert serve`` in a subprocess, on a SQLite file and on PostgreSQL; the client is
httpx speaking the same form posts htmx sends.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser

import httpx
import pytest
from sqlmodel import Session, select

from engine.models import AuditEntry, CandidateSession, CandidateSessionStatus, Response
from tests.conftest import PG_URL, create_postgres_schema, drop_postgres_schema
from tests.e2e.liveserver import LiveServer, csrf_from, login
from web.db import make_engine

SEQ_START = 1000  # any growing numbers; browser-sized ones are tested on their own below
ACKS_BEFORE_KILL = 24  # acknowledged answers in the concurrent phase before the SIGKILL
WRITERS = 2


class _Inputs(HTMLParser):
    """The answer inputs of an item page: (type, value, checked)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[str, str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") == "answer":
            self.inputs.append((attributes.get("type", ""), attributes.get("value", ""), "checked" in attributes))


def answer_inputs(html: str) -> list[tuple[str, str, bool]]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def deadline_ms(html: str) -> int:
    match = re.search(r'data-deadline-ms="(\d+)"', html)
    assert match, "item page shows no deadline"
    return int(match.group(1))


@dataclass
class Ledger:
    """What the client sent and what the server acknowledged, shared by the writer threads."""

    sent: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)  # seq -> (position, answer)
    acked: dict[int, int] = field(default_factory=dict)  # position -> highest acknowledged seq
    unacked: set[int] = field(default_factory=set)  # seqs whose reply never came
    acks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    seqs: Iterator[int] = field(default_factory=lambda: itertools.count(SEQ_START))

    def next_seq(self) -> int:
        with self.lock:
            return next(self.seqs)

    def acknowledged(self) -> dict[int, tuple[tuple[str, ...], int]]:
        return {position: (self.sent[seq][1], seq) for position, seq in self.acked.items()}


class Candidate:
    """The demo candidate, speaking to the server the way the exam page's htmx does."""

    def __init__(self, client: httpx.Client, csrf: str, sitting_id: int) -> None:
        self.client, self.csrf, self.sitting_id = client, csrf, sitting_id

    def item_page(self, position: int) -> str:
        page = self.client.get(f"/candidate/sessions/{self.sitting_id}/items/{position}")
        assert page.status_code == 200, f"item {position}: {page.status_code} {page.text[:300]}"
        return page.text

    def post_answer(self, ledger: Ledger, position: int, answer: tuple[str, ...],
                    seq: int | None = None) -> int:
        """Send one answer; on a 200, record the receipt in the ledger. Returns the stored seq."""
        seq = seq if seq is not None else ledger.next_seq()
        with ledger.lock:
            ledger.sent.setdefault(seq, (position, answer))
        try:
            reply = self.client.post(
                f"/candidate/sessions/{self.sitting_id}/items/{position}/answer",
                data={"answer": list(answer), "seq": str(seq)},
                headers={"X-CSRF-Token": self.csrf, "HX-Request": "true"})
        except httpx.TransportError:
            with ledger.lock:
                ledger.unacked.add(seq)
            raise
        assert reply.status_code == 200, f"answer {answer} at {position}: {reply.status_code} {reply.text[:300]}"
        receipt = re.search(r'data-testid="saved" data-position="(\d+)" data-seq="(\d+)"', reply.text)
        assert receipt, f"the reply confirms nothing: {reply.text[:300]}"
        stored_position, stored_seq = int(receipt.group(1)), int(receipt.group(2))
        assert stored_position == position
        with ledger.lock:
            assert stored_seq in ledger.sent and ledger.sent[stored_seq][0] == position, \
                f"receipt names seq {stored_seq}, which this client never sent for item {position}"
            if stored_seq > ledger.acked.get(position, 0):
                ledger.acked[position] = stored_seq
            ledger.acks += 1
        return stored_seq


def stored_state(database_url: str, sitting_id: int):
    """(responses by position, deadline, status, audited seqs) straight from the database."""
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            responses = {r.position: (tuple(r.answer), r.client_seq)
                         for r in session.exec(select(Response).where(Response.candidate_session_id == sitting_id))}
            sitting = session.get(CandidateSession, sitting_id)
            audited = {entry.data["client_seq"] for entry in session.exec(
                select(AuditEntry).where(AuditEntry.action == "response.recorded",
                                         AuditEntry.entity_id == str(sitting_id)))}
            return responses, sitting.deadline, sitting.status, audited
    finally:
        db.dispose()


def _new_answer(options: list[str], kind: str, round_no: int) -> tuple[str, ...]:
    if kind == "checkbox":  # a different pair of options each round
        first = options[round_no % len(options)]
        second = options[(round_no + 1) % len(options)]
        return tuple(sorted({first, second}))
    return (options[round_no % len(options)],)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path) -> Iterator[LiveServer]:
    schema = None
    if request.param == "sqlite":
        live = LiveServer(tmp_path / "data")
    else:
        schema = f"crash_{uuid.uuid4().hex[:10]}"
        create_postgres_schema(schema)
        separator = "&" if "?" in PG_URL else "?"
        live = LiveServer(tmp_path / "data", f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        live.prepare()
        live.start()
        yield live
    finally:
        live.stop()
        if schema:
            drop_postgres_schema(schema)


def test_acknowledged_answers_survive_sigkill(server):
    ledger = Ledger()
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as client:
        csrf = login(client, "candidate")
        home = client.get("/candidate").text
        sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", home).group(1))
        started = client.post(f"/candidate/sessions/{sitting_id}/start", data={"csrf_token": csrf})
        assert started.status_code == 303
        candidate = Candidate(client, csrf, sitting_id)

        # Every item: read its options from the page, answer it; the server confirms each.
        pages = {position: candidate.item_page(position) for position in range(1, 21)}
        shown_deadline = deadline_ms(pages[1])
        options = {p: [value for _type, value, _checked in answer_inputs(html)] for p, html in pages.items()}
        kinds = {p: answer_inputs(html)[0][0] for p, html in pages.items()}
        assert all(options.values()) and set(kinds.values()) == {"radio", "checkbox"}
        for position in options:
            candidate.post_answer(ledger, position, _new_answer(options[position], kinds[position], 0))
        assert len(ledger.acked) == 20
        # A re-sent older request is acknowledged with what is stored, and changes nothing.
        first_seq = ledger.acked[1]
        replayed = candidate.post_answer(ledger, 1, _new_answer(options[1], kinds[1], 1), seq=first_seq - 1)
        assert replayed == first_seq and ledger.acked[1] == first_seq
        _, deadline_before, status_before, _ = stored_state(server.database_url, sitting_id)
        assert status_before == CandidateSessionStatus.in_progress and deadline_before is not None

        # Writers keep changing answers; the server is SIGKILLed while requests are in flight.
        ledger.acks = 0

        failures: list[BaseException] = []

        def writer(lane: int) -> None:
            try:
                write(lane)
            except BaseException as exc:  # noqa: BLE001 — reported by the main thread
                failures.append(exc)
                ledger.enough.set()

        def write(lane: int) -> None:
            with httpx.Client(base_url=server.url, cookies=client.cookies, timeout=10) as own:
                mine = Candidate(own, csrf, sitting_id)
                lane_positions = [p for p in options if p % WRITERS == lane]
                for round_no in itertools.count(1):
                    for position in lane_positions:
                        try:
                            mine.post_answer(ledger, position,
                                             _new_answer(options[position], kinds[position], round_no))
                        except httpx.TransportError:
                            return  # the server is gone; this request was never acknowledged
                        if ledger.acks >= ACKS_BEFORE_KILL:
                            ledger.enough.set()

        threads = [threading.Thread(target=writer, args=(lane,), daemon=True) for lane in range(WRITERS)]
        for thread in threads:
            thread.start()
        assert ledger.enough.wait(timeout=30), f"only {ledger.acks} answers acknowledged in 30 s"
        if failures:
            raise failures[0]
        server.kill()
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a writer hung after the server died"
        if failures:
            raise failures[0]
        with ledger.lock:
            acknowledged = ledger.acknowledged()
            in_flight = set(ledger.unacked)
        assert ledger.acks >= ACKS_BEFORE_KILL

    # Straight from the database, with the server dead: every acknowledged answer is
    # there with its sequence number (or a newer one whose reply the kill cut off).
    responses, deadline_after, status_after, audited = stored_state(server.database_url, sitting_id)
    assert set(responses) == set(acknowledged), "answers appeared or vanished"
    for position, (answer, seq) in acknowledged.items():
        stored_answer, stored_seq = responses[position]
        if stored_seq == seq:
            assert stored_answer == answer, f"item {position}: acknowledged {answer}, stored {stored_answer}"
        else:
            assert stored_seq > seq, f"item {position}: acknowledged seq {seq} was lost (stored {stored_seq})"
            assert stored_seq in in_flight and ledger.sent[stored_seq] == (position, stored_answer), \
                f"item {position}: stored seq {stored_seq} is neither acknowledged nor in flight"
        assert stored_seq in audited, f"item {position}: the stored answer has no audit entry"
    assert isinstance(deadline_after, datetime) and deadline_after == deadline_before
    assert status_after == CandidateSessionStatus.in_progress

    # Restart on the same data: the candidate's cookie still works, the page shows every
    # stored answer selected and the same deadline, and answering goes on.
    server.start()
    with httpx.Client(base_url=server.url, cookies=client.cookies, follow_redirects=False, timeout=10) as client:
        resume = client.get(f"/candidate/sessions/{sitting_id}")
        assert resume.status_code == 303 and "/items/" in resume.headers["location"]
        candidate = Candidate(client, csrf_from(client.get(resume.headers["location"]).text), sitting_id)
        for position, (stored_answer, _seq) in responses.items():
            html = candidate.item_page(position)
            checked = tuple(sorted(value for _type, value, is_checked in answer_inputs(html) if is_checked))
            assert checked == stored_answer, f"item {position}: page shows {checked}, stored {stored_answer}"
            assert deadline_ms(html) == shown_deadline, "the deadline moved across the restart"
        stale = responses[2][1] - 1
        assert candidate.post_answer(ledger, 2, _new_answer(options[2], kinds[2], 7), seq=stale) == responses[2][1]
        fresh = candidate.post_answer(ledger, 2, _new_answer(options[2], kinds[2], 7))
        assert fresh == ledger.acked[2] > responses[2][1]

    verify = server.cli("audit", "verify", check=False)
    assert verify.returncode == 0, f"audit chain broken after the crash:\n{verify.stdout}{verify.stderr}"


def test_browser_sized_sequence_number_is_stored(visitor, demo, db_engine):
    """app.js numbers answers max(last, Date.now()) + 1: about 1.8e12, past a 32-bit integer."""
    visitor.login("candidate")
    page = visitor.get("/candidate").text
    sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", page).group(1))
    assert visitor.post(f"/candidate/sessions/{sitting_id}/start").status_code == 303
    seq = int(time.time() * 1000) + 1
    reply = visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer", {"answer": "B", "seq": str(seq)},
                         htmx=True)
    assert reply.status_code == 200, reply.text[:300]
    assert f'data-seq="{seq}"' in reply.text
    with Session(db_engine) as session:
        stored = session.exec(select(Response).where(Response.candidate_session_id == sitting_id)).one()
    assert (stored.answer, stored.client_seq) == (["B"], seq)
