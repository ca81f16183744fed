"""What the consumer does with a message whose handler is stopped part-way.

Real RabbitMQ: the message must go back to the queue at once, with its channel still
open, so another replica (or this one) takes it up.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from aio_pika.abc import AbstractIncomingMessage

from hspm.common.bus import delivery_count
from hspm.common.events import Event
from hspm.common.events.identity import UserCreated
from hspm.common.testing import wait_for

pytestmark = pytest.mark.integration


async def test_a_handler_cancelled_mid_way_gives_its_message_back_at_once(broker: Any) -> None:
    attempts: list[int] = []

    async def handle(event: Event, message: AbstractIncomingMessage) -> None:
        attempts.append(delivery_count(message))
        if len(attempts) == 1:
            # A run cancelled by shutdown: the work the handler awaits is cancelled under it.
            work = asyncio.create_task(asyncio.sleep(3600))
            asyncio.get_running_loop().call_soon(work.cancel)
            await work

    await broker.consume("cancelled", [UserCreated.TYPE], handle, prefetch=1)
    await broker.bus.publish_event(UserCreated(user_id=uuid4(), name="again", producer="identity"))

    # The consumer's channel stays open throughout: only an explicit requeue brings it back.
    async def redelivered() -> bool:
        return attempts == [1, 2]

    await wait_for(redelivered, timeout=20)
