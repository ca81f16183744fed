"""``python -m hspm.common.deadletters`` on a real broker: a message dead-lettered by a
failing consumer is listed without being taken, then replayed to the same consumer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage

from hspm.common import deadletters
from hspm.common.bus import Bus, Consumer
from hspm.common.events import Event
from hspm.common.events.identity import UserCreated
from hspm.common.testing import wait_for

SERVICE = "replayed"


@pytest_asyncio.fixture
async def bus(amqp_url: str, amqp_namespace: str) -> AsyncIterator[Bus]:
    the_bus = Bus(amqp_url, amqp_namespace, "replay-tests")
    await the_bus.connect()
    yield the_bus
    topo = the_bus.topology
    channel = await the_bus.channel(prefetch=1)
    for queue in (topo.queue(SERVICE), topo.dead_letter_queue(SERVICE)):
        await channel.queue_delete(queue)
    await channel.exchange_delete(topo.exchange)
    await channel.exchange_delete(topo.dead_letter_exchange)
    await the_bus.close()


async def test_a_dead_letter_is_listed_then_replayed_to_its_consumer(
    bus: Bus, amqp_url: str, amqp_namespace: str
) -> None:
    handled: list[Event] = []
    broken = True

    async def handle(event: Event, _: AbstractIncomingMessage) -> None:
        if broken:
            raise RuntimeError("a bug, fixed before the replay")
        handled.append(event)

    consumer = Consumer(bus, SERVICE, handle, prefetch=1)
    await consumer.start_service_queue([UserCreated.TYPE])
    try:
        event = UserCreated(user_id=uuid4(), name="lost once", producer="identity")
        await bus.publish_event(event)

        async def dead_lettered() -> bool:
            return await deadletters.run(amqp_url, amqp_namespace, SERVICE, False, 10) == 1

        await wait_for(dead_lettered, timeout=30)
        # Listing took nothing: the message is still there.
        assert await deadletters.run(amqp_url, amqp_namespace, SERVICE, False, 10) == 1

        broken = False
        assert await deadletters.run(amqp_url, amqp_namespace, SERVICE, True, 10) == 1

        async def applied() -> bool:
            return len(handled) == 1

        await wait_for(applied, timeout=10)
        assert handled[0].event_id == event.event_id
        assert await deadletters.run(amqp_url, amqp_namespace, SERVICE, False, 10) == 0
    finally:
        await consumer.stop(2.0)
