"""Fixtures shared by the common library's tests: extra databases and a private broker.

``pg_dsn``, ``amqp_url``, ``amqp_namespace`` and ``fresh_db`` come from the
``hspm.common.testing.plugin`` entry point; these build on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from hspm.common import db
from hspm.common.bus import Bus, Consumer
from hspm.common.events import Event
from hspm.common.testing import unique


def dsn_with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + database))


async def _migrated_pool(dsn: str, *ddl: str, max_size: int = 10) -> asyncpg.Pool:
    """Create the database, apply the common migrations, then the test's own DDL."""
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=max_size)
    try:
        await db.migrate(pool, {"common": db.load_migrations("hspm.common")})
        for statement in ddl:
            await pool.execute(statement)
    except BaseException:
        await pool.close()
        raise
    return pool


@pytest.fixture
def migrated_pool() -> Callable[..., Awaitable[asyncpg.Pool]]:
    """``await migrated_pool(dsn, *ddl)``: a pool on a ready database (the caller closes it).

    A fixture rather than an import: with ``--import-mode=importlib`` test modules cannot
    import conftest.
    """
    return _migrated_pool


@pytest_asyncio.fixture
async def another_db(pg_dsn: str) -> AsyncIterator[str]:
    """A second empty database (``fresh_db`` gives one per test); dropped afterwards."""
    name = unique("hspm_test")
    yield dsn_with_database(pg_dsn, name)
    conn = await asyncpg.connect(dsn_with_database(pg_dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


EventHandler = Callable[[Event, AbstractIncomingMessage], Awaitable[None]]


@dataclass
class Broker:
    """A connected bus in a private namespace; everything declared in it is deleted after."""

    url: str
    namespace: str
    bus: Bus
    channel: AbstractChannel
    services: set[str] = field(default_factory=set)
    consumers: list[Consumer] = field(default_factory=list)

    async def consume(
        self, service: str, types: list[str], handler: EventHandler, prefetch: int = 10
    ) -> Consumer:
        self.services.add(service)
        consumer = Consumer(self.bus, service, handler, prefetch=prefetch)
        await consumer.start_service_queue(types)
        self.consumers.append(consumer)
        return consumer

    async def dead_letter_queue(self, service: str) -> AbstractQueue:
        return await self.channel.declare_queue(self.bus.topology.dead_letter_queue(service), passive=True)

    async def drain_dead_letters(self, service: str) -> list[AbstractIncomingMessage]:
        dlq = await self.dead_letter_queue(service)
        taken = []
        while (message := await dlq.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
        return taken


@pytest_asyncio.fixture
async def broker(amqp_url: str, amqp_namespace: str) -> AsyncIterator[Broker]:
    bus = Bus(amqp_url, amqp_namespace, "hspm-common-tests")
    await bus.connect()
    channel = await bus.channel(prefetch=1)
    the_broker = Broker(amqp_url, amqp_namespace, bus, channel)
    try:
        yield the_broker
    finally:
        for consumer in the_broker.consumers:
            await consumer.stop(timeout=2.0)
        topo = bus.topology
        for service in sorted(the_broker.services):
            await channel.queue_delete(topo.queue(service))
            await channel.queue_delete(topo.dead_letter_queue(service))
        await channel.exchange_delete(topo.exchange)
        await channel.exchange_delete(topo.dead_letter_exchange)
        await bus.close()
