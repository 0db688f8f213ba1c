"""The event bus: both backends deliver to every subscriber of a channel and only to them."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REDIS_URL, unavailable
from web.bus import QUEUE_LIMIT, InProcessBus, RedisBus, Subscription


async def _redis_bus():
    bus = RedisBus(REDIS_URL)
    try:
        await bus.start()
    except Exception as exc:  # noqa: BLE001 — any failure to reach Redis
        unavailable("Redis at " + REDIS_URL, exc)
    return bus


async def _exercise(make_bus, make_second=None):
    bus = await make_bus()
    other = await make_second() if make_second else bus
    try:
        async with bus.subscribe("room:1") as first, other.subscribe("room:1") as second, \
                bus.subscribe("room:2") as elsewhere:
            await asyncio.sleep(0.05)  # Redis confirms subscriptions asynchronously
            await other.publish("room:1", {"type": "row", "sitting": 7})
            got = await asyncio.wait_for(asyncio.gather(first.get(), second.get()), 2)
            assert got == [{"type": "row", "sitting": 7}] * 2
            await asyncio.sleep(0.1)
            assert elsewhere.queue.empty()
    finally:
        await bus.close()
        if other is not bus:
            await other.close()


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's sync API (tests/e2e, session-scoped)
    may keep an event loop running in the main thread of the same pytest process."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class TestInProcessBus:
    def test_delivers_to_every_subscriber_of_the_channel_only(self):
        async def make():
            return InProcessBus()

        run_async(_exercise(make))

    def test_unsubscribed_queue_gets_nothing(self):
        async def run():
            bus = InProcessBus()
            async with bus.subscribe("sitting:1") as subscription:
                pass
            await bus.publish("sitting:1", {"type": "x"})
            assert subscription.queue.empty()

        run_async(run())


class TestRedisBus:
    def test_two_bus_instances_share_a_channel(self):
        """Two instances stand for two workers: a message published by one reaches both."""
        run_async(_exercise(_redis_bus, _redis_bus))


class TestSubscription:
    def test_a_slow_subscriber_drops_the_oldest(self):
        async def run():
            subscription = Subscription("c")
            for i in range(QUEUE_LIMIT + 3):
                subscription.put({"n": i})
            assert subscription.queue.qsize() == QUEUE_LIMIT
            assert (await subscription.get()) == {"n": 3}

        run_async(run())


@pytest.mark.parametrize("channel", ["sitting:1"])
def test_channel_names(channel):
    from web.bus import room_channel, sitting_channel

    assert sitting_channel(1) == channel and room_channel(5) == "room:5"
