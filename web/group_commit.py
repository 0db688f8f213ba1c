"""Group commit: many requests of one worker written in one transaction.

A request hands its work to a ``GroupCommit`` and awaits the outcome. One writer task
per group takes everything that queued while the previous transaction ran, does it in a
single transaction and commits once; then every waiting request learns its outcome. So a
burst costs one commit (one fsync on SQLite, one WAL flush on PostgreSQL) and one lock of
the audit chain's head instead of one per request, and no request thread waits in a
queue for SQLite's write lock. At low load a batch is a single request: nothing waits
for company.

Invariant 1 holds: an outcome is handed out only after its transaction committed; if the
commit fails, every request of the batch gets the error and nothing was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine import audit
from engine.answers import AnswerRequest, PresentedLines, record_batch

log = logging.getLogger("skillcert.group_commit")
Req = TypeVar("Req")  # a request
Out = TypeVar("Out")  # an outcome
T = TypeVar("T")


class Overloaded(Exception):
    """More requests wait than a batch can clear before the client gives up."""


@dataclass(frozen=True)
class Failed:
    """An outcome that is an error of this one request (the rest of the batch is kept)."""

    error: BaseException


class GroupCommit(Generic[Req, Out]):
    """``handle(session, requests) -> outcomes`` run for queued requests, one commit per batch."""

    def __init__(self, db: Engine, handle: Callable[[Session, list[Req]], list[Out | Failed]], name: str,
                 max_batch: int = 256, max_waiting: int = 4000,
                 slow: Callable[[Req], bool] = lambda _request: False, max_slow: int = 256) -> None:
        self.db, self.handle, self.name = db, handle, name
        self.slow, self.max_slow = slow, max_slow
        self.max_batch, self.max_waiting = max_batch, max_waiting
        self.waiting: list[tuple[Req, asyncio.Future]] = []
        self.wake: asyncio.Event | None = None
        self.writer: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, request: Req) -> Out:
        if len(self.waiting) >= self.max_waiting:
            raise Overloaded(self.name)
        loop = asyncio.get_running_loop()
        if self.writer is None or self.writer.done() or self.loop is not loop:
            # First use, or a new event loop (a test client runs one per request): the
            # writer lives on the loop of the requests it serves.
            self.loop, self.wake, self.waiting = loop, asyncio.Event(), []
            self.writer = loop.create_task(self._write_batches(loop, self.wake))
        future = loop.create_future()
        self.waiting.append((request, future))
        self.wake.set()
        outcome = await future
        if isinstance(outcome, Failed):
            raise outcome.error
        return outcome

    async def close(self) -> None:
        if self.writer is not None and self.loop is asyncio.get_running_loop():
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.writer

    async def _write_batches(self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
        while self.loop is loop:  # a writer of an earlier loop stops, leaving the queue alone
            await wake.wait()
            wake.clear()
            while self.waiting and self.loop is loop:
                batch, self.waiting = self._next_batch()
                try:
                    # The loop's default executor: closing the loop waits for a batch still running.
                    # Batches never overlap: this task awaits each before taking the next.
                    outcomes = await loop.run_in_executor(None, self._transaction, [r for r, _f in batch])
                except Exception as exc:  # noqa: BLE001 — nothing committed: every request learns why
                    log.warning("group commit %s: a batch of %s failed: %s", self.name, len(batch), exc)
                    outcomes = [Failed(exc)] * len(batch)
                for (_request, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():  # the request may have been cancelled (client gone)
                        future.set_result(outcome)

    def _next_batch(self) -> tuple[list, list]:
        """Up to ``max_batch`` requests, of which at most ``max_slow`` are ``slow`` ones (in
        arrival order either way): a start storm's heavy jobs then share each transaction
        with the answers queued beside them instead of holding them up for a whole batch."""
        taken, left, slow = [], [], 0
        for entry in self.waiting:
            is_slow = self.slow(entry[0])
            if len(taken) < self.max_batch and not (is_slow and slow >= self.max_slow):
                taken.append(entry)
                slow += is_slow
            else:
                left.append(entry)
        return taken, left

    def _transaction(self, requests: list[Req]) -> list[Out | Failed]:
        with Session(self.db, expire_on_commit=False) as session:
            outcomes = self.handle(session, requests)
            session.commit()
            return outcomes


def run_job(session: Session, job: Callable[[Session], Any]) -> Any:
    """One ORM job in a savepoint, so its error undoes only its own work."""
    try:
        with session.begin_nested():
            return job(session)
    except Exception as exc:  # noqa: BLE001 — handed to the job's request, not to the batch
        return Failed(exc)


MAX_JOBS_PER_BATCH = 8


def worker_writer(db: Engine) -> GroupCommit:
    """The worker's one writer: answers (batched by ``engine.answers.record_batch``) and ORM
    jobs (``write``). One writer per process means SQLite's write lock is never contended
    inside the process: waiting for it is a sleep-and-retry, not a queue, and under a
    start storm that alone idled the server with hundreds of requests waiting."""
    lines = PresentedLines()

    def handle(session: Session, requests: list[Any]) -> list[Any]:
        audit.lock_head(session)  # first: every row lock of the batch is taken after it
        outcomes: list[Any] = [None] * len(requests)
        answers = []
        for index, request in enumerate(requests):
            if isinstance(request, AnswerRequest):
                answers.append(index)
            else:
                outcomes[index] = run_job(session, request)
        if answers:
            recorded = record_batch(session, [requests[i] for i in answers], lines)
            for index, outcome in zip(answers, recorded, strict=True):
                outcomes[index] = outcome
        return outcomes

    # ORM jobs (a start pins a whole form) cost milliseconds, an answer a fraction of one.
    return GroupCommit(db, handle, name="writer", slow=lambda request: not isinstance(request, AnswerRequest),
                       max_slow=MAX_JOBS_PER_BATCH)


async def write(app, job: Callable[[Session], T]) -> T:
    """Run ``job(session)`` in the worker's next group commit; its result once committed."""
    return await app.state.writer.submit(job)
