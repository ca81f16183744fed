"""``hspm_bus_messages_total``: every message a consumer takes off its queue is counted by
what became of it, on a real broker, and the dead-lettered count matches the dead-letter
queue (the broker, not the consumer, moves a message there at the delivery limit)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from aio_pika.abc import AbstractIncomingMessage

from hspm.common import metrics
from hspm.common.bus import DELIVERY_LIMIT, OutgoingMessage
from hspm.common.events import Event
from hspm.common.events.identity import UserCreated
from hspm.common.testing import unique, wait_for

pytestmark = pytest.mark.integration
TYPE = UserCreated.TYPE


async def reaches(service: str, outcome: str, value: float) -> None:
    """The consumer counts just after its answer to the broker: wait rather than race it."""

    async def there() -> bool:
        return counted(service, outcome) == value

    await wait_for(there)


def counted(service: str, outcome: str) -> float:
    value = metrics.SHARED.get_sample_value(
        "hspm_bus_messages_total", {"service": service, "event_type": TYPE, "outcome": outcome}
    )
    return value or 0.0


async def dead_letters(broker: Any, service: str, n: int) -> list[AbstractIncomingMessage]:
    taken: list[AbstractIncomingMessage] = []

    async def arrived() -> bool:
        taken.extend(await broker.drain_dead_letters(service))
        return len(taken) >= n

    await wait_for(arrived, timeout=30)
    return taken


async def test_handled_messages_are_counted_acked(broker: Any) -> None:
    service = unique("metrics-ack")
    handled: list[Event] = []

    async def handle(event: Event, _: AbstractIncomingMessage) -> None:
        handled.append(event)

    await broker.consume(service, [TYPE], handle)
    for name in ("one", "two"):
        await broker.bus.publish_event(UserCreated(user_id=uuid4(), name=name, producer="identity"))

    await reaches(service, "acked", 2)
    assert len(handled) == 2
    assert counted(service, "requeued") == counted(service, "dead_lettered") == 0


async def test_a_failing_handler_counts_each_return_then_the_dead_letter(broker: Any) -> None:
    service = unique("metrics-fail")

    async def explode(event: Event, _: AbstractIncomingMessage) -> None:
        raise RuntimeError("a handler bug")

    await broker.consume(service, [TYPE], explode)
    await broker.bus.publish_event(UserCreated(user_id=uuid4(), name="explodes", producer="identity"))

    dead = await dead_letters(broker, service, 1)
    assert dead[0].headers["x-first-death-reason"] == "delivery_limit"
    # The first delivery and DELIVERY_LIMIT redeliveries; the last return is the dead letter.
    await reaches(service, "dead_lettered", 1)
    assert counted(service, "requeued") == DELIVERY_LIMIT
    assert counted(service, "acked") == 0


async def test_a_message_that_cannot_parse_is_counted_dead_lettered(broker: Any) -> None:
    service = unique("metrics-poison")

    async def never(event: Event, _: AbstractIncomingMessage) -> None:
        raise AssertionError("a poison message reaches no handler")

    await broker.consume(service, [TYPE], never)
    await broker.bus.publish(OutgoingMessage(str(uuid4()), TYPE, b"{not json"))

    dead = await dead_letters(broker, service, 1)
    assert dead[0].headers["x-first-death-reason"] == "rejected"
    await reaches(service, "dead_lettered", 1)
    assert counted(service, "requeued") == counted(service, "acked") == 0
