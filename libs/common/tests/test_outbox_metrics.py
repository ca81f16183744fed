"""The outbox relay's metrics on real PostgreSQL and RabbitMQ: the backlog gauge
(``hspm_outbox_pending_events``) and what became of each published row
(``hspm_outbox_published_total``, ``hspm_outbox_publish_failures_total``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import generate_latest

from hspm.common import metrics, outbox
from hspm.common.bus import Bus
from hspm.common.events import Event
from hspm.common.events.identity import GroupDeleted, UserCreated
from hspm.common.testing import unique, wait_for
from hspm.common.web.app import Metrics

pytestmark = pytest.mark.integration


def sample(name: str, **labels: str) -> float | None:
    return metrics.SHARED.get_sample_value(name, labels)


@pytest_asyncio.fixture
async def pool(fresh_db: str, migrated_pool: Any) -> AsyncIterator[asyncpg.Pool]:
    the_pool = await migrated_pool(fresh_db)
    yield the_pool
    await the_pool.close()


@pytest_asyncio.fixture
async def producer_bus(amqp_url: str, amqp_namespace: str) -> AsyncIterator[Bus]:
    """The producing service's own connection: its name is the metrics' ``service`` label."""
    bus = Bus(amqp_url, amqp_namespace, unique("producer"))
    await bus.connect()
    yield bus
    await bus.close()


async def queue(pool: asyncpg.Pool, *events: Event) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await outbox.add(conn, event)


async def ignore(event: Event, _: AbstractIncomingMessage) -> None:
    """A subscriber, so that user events are routed (group events stay unrouted)."""


async def test_a_batch_is_counted_routed_and_unrouted_and_the_backlog_empties(
    pool: asyncpg.Pool, producer_bus: Bus, fresh_db: str, broker: Any
) -> None:
    service = producer_bus.connection_name
    await broker.consume(unique("subscriber"), [UserCreated.TYPE], ignore)
    users = [UserCreated(user_id=uuid4(), name=f"u{i}") for i in range(2)]
    await queue(pool, *users, GroupDeleted(group_id=uuid4()))
    relay = outbox.Relay(pool, producer_bus, fresh_db)

    assert await relay.count_pending() == 3
    assert sample("hspm_outbox_pending_events", service=service) == 3

    assert await relay.publish_batch() == 3
    assert sample("hspm_outbox_published_total", service=service, outcome="routed") == 2
    assert sample("hspm_outbox_published_total", service=service, outcome="unrouted") == 1
    assert sample("hspm_outbox_publish_failures_total", service=service) == 0
    await relay.count_pending()
    assert sample("hspm_outbox_pending_events", service=service) == 0


async def test_a_running_relay_reports_rows_it_cannot_publish(
    pool: asyncpg.Pool, producer_bus: Bus, fresh_db: str
) -> None:
    service = producer_bus.connection_name
    await queue(pool, *(UserCreated(user_id=uuid4(), name=f"stuck {i}") for i in range(2)))
    # The broker connection is gone: every publish fails and the rows stay in the outbox.
    await producer_bus.close()
    relay = outbox.Relay(pool, producer_bus, fresh_db, lease_seconds=60, poll_interval=0.1)
    task = asyncio.create_task(relay.run())
    try:

        async def reported() -> bool:
            failed = sample("hspm_outbox_publish_failures_total", service=service)
            return failed == 2 and sample("hspm_outbox_pending_events", service=service) == 2

        await wait_for(reported, timeout=15)
    finally:
        await relay.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 5)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 2


def test_every_service_serves_the_shared_metrics() -> None:
    metrics.consumed("any", "identity.user.created", "acked")
    text = generate_latest(Metrics.create("any").registry).decode()
    for name in ("hspm_outbox_pending_events", "hspm_outbox_published_total", "hspm_bus_messages_total"):
        assert f"# TYPE {name}" in text
    assert 'hspm_bus_messages_total{event_type="identity.user.created",outcome="acked",service="any"}' in text
