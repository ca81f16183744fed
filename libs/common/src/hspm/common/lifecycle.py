"""cleanup_ctx factories every service composes: database, bus, outbox relay, consumer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web

from hspm.common import db, outbox
from hspm.common.bus import Bus, Consumer
from hspm.common.db import Conn
from hspm.common.errors import ValidationFailed
from hspm.common.events import Event
from hspm.common.web.app import state_key

log = structlog.get_logger(__name__)

pool_key = web.AppKey("hspm_pool", asyncpg.Pool)
bus_key = web.AppKey("hspm_bus", Bus)
relay_key = web.AppKey("hspm_relay", outbox.Relay)

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
EventHandler = Callable[[Conn, Any], Awaitable[None]]
BroadcastHandler = Callable[[web.Application, Any], Awaitable[None]]

CONSUMER_DRAIN_SECONDS = 3.0


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# PostgreSQL's text cannot hold U+0000: a NUL in any value a request sent is the client's
# error (422), not the service's (500), whichever query it reached.
_UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


class unit_of_work:  # noqa: N801 - used like the function it replaced: `async with unit_of_work(r)`
    """One request, one transaction, committed at the edge.

    Reads run without BEGIN/COMMIT: under READ COMMITTED every statement takes its own
    snapshot anyway, so the transaction only cost two round trips (20% of a read's CPU).
    A read is a GET, HEAD or OPTIONS, or any request whose handler says ``read_only``
    (a search sent as POST because its filters do not fit a URL).
    A class, not a generator-based context manager: this runs on every request.
    """

    __slots__ = ("_conn", "_pool", "_request", "_tx", "_writes")

    def __init__(self, request: web.Request, *, read_only: bool = False) -> None:
        self._request = request
        self._pool = request.app[pool_key]
        self._conn: db.Borrowed | None = None
        self._tx: Any = None
        self._writes = not read_only and request.method not in _SAFE_METHODS

    async def __aenter__(self) -> Conn:
        timeout = self._request.app[state_key].settings.db_acquire_timeout
        conn = self._conn = await db.borrow(self._pool, timeout)
        if self._writes:
            try:
                self._tx = conn.transaction()
                await self._tx.start()
            except BaseException:
                await db.give_back(self._pool, conn)
                raise
        return conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._conn is not None
        try:
            if self._tx is not None:
                if exc_type is None:
                    await self._tx.commit()
                else:
                    await self._tx.rollback()
        finally:
            await db.give_back(self._pool, self._conn)
        if isinstance(exc, _UNSTORABLE_TEXT):
            raise ValidationFailed({"text": ["must not contain the NUL character (U+0000)"]}) from exc


def database(package: str) -> CleanupCtx:
    """Create the database if missing, open the pool, apply common + service migrations."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        state = app[state_key]
        s = state.settings
        await db.ensure_database(s.database_url)
        pool = await db.create_pool(s.database_url, s.db_pool_min, s.db_pool_max)
        try:
            await db.migrate(
                pool,
                {
                    "common": db.load_migrations("hspm.common"),
                    state.service: db.load_migrations(package, s.migrations_dir),
                },
            )
            app[pool_key] = pool
            state.admission = pool.gate

            async def ping() -> None:
                # Past the gate: a busy service is still a ready one.
                async with pool.acquire(timeout=1.0) as conn:
                    await conn.fetchval("SELECT 1")

            state.readiness.append(("database", ping))
            yield
        finally:
            await pool.close()

    return ctx


def bus() -> CleanupCtx:
    """One robust AMQP connection with a confirming publisher channel."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        state = app[state_key]
        s = state.settings
        the_bus = Bus(s.amqp_url.get_secret_value(), s.amqp_namespace, state.service)
        await the_bus.connect()
        app[bus_key] = the_bus

        async def ping() -> None:
            if not the_bus.is_connected:
                raise ConnectionError("broker connection closed")

        state.readiness.append(("broker", ping))
        try:
            yield
        finally:
            await the_bus.close()

    return ctx


def relay() -> CleanupCtx:
    """The outbox relay as a background task of the service process."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        the_relay = outbox.Relay(app[pool_key], app[bus_key], app[state_key].settings.database_url)
        app[relay_key] = the_relay
        task = asyncio.create_task(the_relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            await the_relay.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 3.0)

    return ctx


def consumer(handlers: Mapping[type[Event], EventHandler]) -> CleanupCtx:
    """The service's durable queue; each event's effect commits once, with its event id."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        state = app[state_key]
        pool = app[pool_key]

        async def dispatch(event: Event, _: AbstractIncomingMessage) -> None:
            handler = handlers[type(event)]
            await outbox.handle_once(pool, event, lambda conn: handler(conn, event))

        the_consumer = Consumer(app[bus_key], state.service, dispatch, state.settings.amqp_prefetch)
        await the_consumer.start_service_queue(cls.TYPE for cls in handlers)
        _stop_on_shutdown(app, the_consumer)
        try:
            yield
        finally:
            await the_consumer.stop(CONSUMER_DRAIN_SECONDS)

    return ctx


def broadcast(handlers: Mapping[type[Event], BroadcastHandler]) -> CleanupCtx:
    """A per-replica queue for cache invalidation: every replica sees every event."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        state = app[state_key]

        async def dispatch(event: Event, _: AbstractIncomingMessage) -> None:
            await handlers[type(event)](app, event)

        the_consumer = Consumer(app[bus_key], state.service, dispatch, state.settings.amqp_prefetch)
        await the_consumer.start_broadcast_queue(cls.TYPE for cls in handlers)
        _stop_on_shutdown(app, the_consumer)
        try:
            yield
        finally:
            await the_consumer.stop(CONSUMER_DRAIN_SECONDS)

    return ctx


def _stop_on_shutdown(app: web.Application, the_consumer: Consumer) -> None:
    # Stop taking messages as soon as SIGTERM arrives, while HTTP drains in parallel.
    async def on_shutdown(_: web.Application) -> None:
        await the_consumer.stop(CONSUMER_DRAIN_SECONDS)

    app.on_shutdown.append(on_shutdown)
