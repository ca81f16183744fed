"""Resume: an agent cut off at random points hundreds of times applies every event exactly
once, in order, while two producers append concurrently in transactions of random size."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from hspm.client.agent import Agent, Backoff, Item
from hspm.common.testing import wait_for
from hspm.notifier.stream import service as stream

EVENTS = 2_000
PRODUCERS = 2
DROPS = 200
BOUND = 240.0  # generous: waits end on conditions, this only stops a hung run


async def produce(pool: Any, platform_id: object, producer: int, count: int, rng: random.Random) -> None:
    n = 0
    while n < count:
        size = min(rng.randint(1, 5), count - n)
        async with pool.acquire() as conn, conn.transaction():
            for _ in range(size):
                await stream.append(conn, platform_id, "test", "tick", "t", {"producer": producer, "n": n})
                n += 1
        await asyncio.sleep(rng.random() * 0.003)


class Applied:
    """What the agent applied: the events in order, and how often anything was seen twice."""

    def __init__(self) -> None:
        self.events: list[Item] = []
        self.resyncs: list[Item] = []

    def apply(self, item: Item) -> None:
        (self.events if item.kind == "event" else self.resyncs).append(item)


async def consume(agent: Agent, applied: Applied, rng: random.Random, drops: list[int]) -> None:
    async for item in agent.items():
        applied.apply(item)
        await agent.ack(item)
        # A cut right after an ack, before the next read: the other half of the random points.
        if len(drops) < DROPS and rng.random() < 0.05:
            drops.append(1)
            await agent.drop()


async def chaos(agent: Agent, rng: random.Random, drops: list[int]) -> None:
    """Cut the socket at random moments: mid-handshake, mid-page, while idle."""
    while len(drops) < DROPS:
        await asyncio.sleep(rng.random() * 0.03)
        if agent.connected:
            drops.append(1)
            await agent.drop()


def check(applied: Applied) -> None:
    seqs = [i.seq for i in applied.events]
    assert seqs == list(range(1, EVENTS + 1))
    for producer in range(PRODUCERS):
        ns = [i.frame["model"]["n"] for i in applied.events if i.frame["model"]["producer"] == producer]
        assert ns == list(range(EVENTS // PRODUCERS))
    assert len(applied.resyncs) == 1  # the first connection only: every later one resumed


async def test_an_agent_cut_off_200_times_applies_2000_events_exactly_once_in_order(notifier) -> None:
    rng = random.Random(20_000)
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    url = str(notifier.client.make_url("/websocket"))
    agent = Agent([url], platform["id"], key_id, private, backoff=Backoff(base=0.005, cap=0.05, rng=rng))
    applied, drops = Applied(), []
    consumer = asyncio.create_task(consume(agent, applied, rng, drops))
    try:
        await wait_for(lambda: _true(applied.resyncs), timeout=BOUND)  # subscribed from the empty state
        noise = asyncio.create_task(chaos(agent, rng, drops))
        await asyncio.gather(
            *(produce(notifier.pool, platform["id"], p, EVENTS // PRODUCERS, rng) for p in range(PRODUCERS))
        )
        await wait_for(lambda: _true(len(applied.events) >= EVENTS and len(drops) >= DROPS), timeout=BOUND)
        await noise
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    check(applied)
    assert agent.connections > DROPS // 2


async def _true(value: Any) -> bool:
    return bool(value)
