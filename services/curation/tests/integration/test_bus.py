"""The whole loop through RabbitMQ: catalog submission in, a stand-in validator, decisions out."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from hspm.common.bus import Bus, Consumer
from hspm.common.events import curation as curation_events
from hspm.common.events import validator
from hspm.common.events.base import Event
from hspm.common.testing import wait_for
from hspm.curation.keys import settings_key


async def test_submission_to_awaiting_review_through_the_broker(curation, amqp_url: str) -> None:
    namespace = curation.client.server.app[settings_key].amqp_namespace
    bus = Bus(amqp_url, namespace, "test-validator")
    await bus.connect()
    requests: list[curation_events.ValidationRequested] = []

    async def stand_in_validator(event: Event, _: Any) -> None:
        """Answer each request: started, then a passing report."""
        assert isinstance(event, curation_events.ValidationRequested)
        requests.append(event)
        await bus.publish_event(validator.ValidationStarted(run_id=event.run_id, build_id=event.build_id))
        await bus.publish_event(curation.completion(event.run_id, event.build_id, event.product_id, "passed"))

    stub = Consumer(bus, f"validator-{uuid4().hex[:6]}", stand_in_validator)
    await stub.start_service_queue([curation_events.ValidationRequested.TYPE])
    try:
        pid = uuid4()
        submitted = curation.snapshot(uuid4(), pid, curation.isv.user_id, "3.1.4")
        await bus.publish_event(submitted)

        async def awaiting() -> dict[str, Any] | None:
            row = await (await curation.db()).fetchrow(
                "SELECT * FROM review_cases WHERE build_id = $1", submitted.build_id
            )
            return dict(row) if row and row["state"] == "awaiting_review" else None

        case = await wait_for(awaiting, timeout=10)
        assert case["current_run_id"] == requests[0].run_id
        assert requests[0].image.repository == "acme/app" and requests[0].trigger == "submission"
        # The review_changed events left through the outbox (published or unrouted, never pending).
        await asyncio.sleep(0)
        await wait_for(
            lambda: _pending(curation),
            timeout=10,
        )
    finally:
        await stub.stop(1.0)
        await bus.close()


async def _pending(curation) -> bool:
    count = await (await curation.db()).fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count == 0
