"""The live event bus: fan-out of proctoring messages to connected sockets.

Two backends behind one interface: ``InProcessBus`` (default; one worker) and
``RedisBus`` (``SKILLCERT_REDIS_URL``; several workers or hosts). The bus is only
fan-out: every fact is in the database before it is published ("send only after
commit"), so a lost message costs a refresh, never data, and a restarted worker rebuilds
presence and timers from the database.

Channels: ``sitting:<id>`` reaches the candidate's page, ``room:<exam_session_id>``
reaches the supervisors watching that exam session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

log = logging.getLogger("skillcert.bus")
QUEUE_LIMIT = 256  # a subscriber this far behind is too slow; it drops the oldest


def sitting_channel(sitting_id: int) -> str:
    return f"sitting:{sitting_id}"


def room_channel(exam_session_id: int) -> str:
    return f"room:{exam_session_id}"


class Subscription:
    """One subscriber's queue on one channel; iterate it for messages."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)

    def put(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()  # the newest state matters more than an old one
        self.queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class _LocalFanOut:
    """Subscribers of this process, by channel."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> bool:
        """True when this is the channel's first local subscriber."""
        members = self.subscribers.setdefault(subscription.channel, set())
        members.add(subscription)
        return len(members) == 1

    def remove(self, subscription: Subscription) -> bool:
        """True when the channel has no local subscriber left."""
        members = self.subscribers.get(subscription.channel, set())
        members.discard(subscription)
        if not members:
            self.subscribers.pop(subscription.channel, None)
            return True
        return False

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        for subscription in list(self.subscribers.get(channel, ())):
            subscription.put(message)


class InProcessBus:
    """Fan-out inside one process: enough for a single uvicorn worker."""

    def __init__(self) -> None:
        self._local = _LocalFanOut()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._local.deliver(channel, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel)
        self._local.add(subscription)
        try:
            yield subscription
        finally:
            self._local.remove(subscription)


class RedisBus:
    """Redis pub/sub: one connection publishes, one subscribes per worker for all its sockets."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._local = _LocalFanOut()
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._redis.ping()  # fail at start-up, not at the first exam event
        # A pub/sub connection must subscribe to something before it can be read.
        await self._pubsub.subscribe("skillcert:hello")
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()
        await self._redis.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, json.dumps(message, separators=(",", ":")))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel)
        async with self._lock:
            if self._local.add(subscription):
                await self._pubsub.subscribe(channel)
        try:
            yield subscription
        finally:
            async with self._lock:
                if self._local.remove(subscription):
                    await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped Redis connection: redis-py reconnects on the next call
                log.exception("reading from Redis failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            try:
                self._local.deliver(channel, json.loads(message["data"]))
            except ValueError:
                log.warning("dropped a malformed bus message on %s", channel)


def make_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()


async def publish_row(bus: EventBus, exam_session_id: int, sitting_id: int) -> None:
    """After commit, from the event loop: supervisors watching the room see the sitting's new row.
    A failure is logged only: the fact is committed, a lost fan-out costs a refresh."""
    try:
        await bus.publish(room_channel(exam_session_id), {"type": "row", "sitting": sitting_id})
    except Exception:
        log.exception("publishing the row of sitting %s failed", sitting_id)


def publish_after_commit(bus: EventBus, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish from a sync route's worker thread, after its commit; failures are logged only.

    The facts are already in the database: a lost fan-out costs a refresh, never data.
    """
    import anyio.from_thread

    async def publish() -> None:
        for channel, message in messages:
            await bus.publish(channel, message)

    try:
        anyio.from_thread.run(publish)
    except Exception:
        log.exception("publishing after commit failed")
