"""Transactional outbox, its relay, and idempotent consumption.

A producer calls :func:`add` inside the transaction that changes its data. The relay
leases pending rows, publishes them with confirms, then marks them published; if it dies
in between, the lease expires and another relay publishes again. Consumers make that
safe with :func:`handle_once`, which records the event id in the same transaction as
the handler's effect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import structlog

from hspm.common import metrics, tracing
from hspm.common.bus import Bus, OutgoingMessage, Unroutable
from hspm.common.db import Conn
from hspm.common.events import Event

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "hspm_outbox"
# The backlog gauge's count runs at most this often: often enough for a scrape, rarely
# enough to cost nothing beside the relay's own statements.
PENDING_EVERY_SECONDS = 5.0

_INSERT = """
INSERT INTO outbox (event_id, type, body, headers) VALUES ($1, $2, $3, $4)
"""
_LEASE = """
WITH batch AS (
    SELECT id FROM outbox
    WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until < now())
    ORDER BY id LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox o SET locked_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
FROM batch WHERE o.id = batch.id
RETURNING o.id, o.event_id, o.type, o.body, o.headers
"""
_MARK = """
UPDATE outbox SET published_at = now(), locked_until = NULL, unrouted = $2
WHERE id = any($1::bigint[])
"""
_PENDING = """
SELECT count(*) FROM outbox WHERE published_at IS NULL
"""
_PURGE = """
DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)
"""
_CLAIM_EVENT = """
INSERT INTO processed_events (event_id, type) VALUES ($1, $2)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""


async def add(conn: Conn, event: Event) -> None:
    """Queue ``event`` for publication in the caller's open transaction."""
    headers: dict[str, Any] = {}
    tracing.inject(headers)
    await conn.execute(_INSERT, event.event_id, event.TYPE, event.model_dump_json().encode(), headers)
    # Wakes the relay at once; NOTIFY is delivered only if the transaction commits.
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


class Emitter:
    """A producer's ``emit(conn, event)``: stamps the producer and queues the event.

    Each service declares one, ``emit = outbox.Emitter("catalog")`` in its ``events.py``.
    """

    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def __call__(self, conn: Conn, event: Event) -> None:
        """Queue ``event`` in the caller's transaction, stamped with this producer."""
        await add(conn, event.model_copy(update={"producer": self.producer}))


T = TypeVar("T")


async def handle_once(
    pool: asyncpg.Pool,
    event: Event,
    effect: Callable[[Conn], Awaitable[T]],
) -> T | None:
    """Run ``effect`` once per event id; a redelivered event is acknowledged and skipped."""
    async with pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchval(_CLAIM_EVENT, event.event_id, event.TYPE)
        if claimed is None:
            log.info("bus.duplicate_skipped")
            return None
        return await effect(conn)


class Relay:
    """Publishes outbox rows; any number of replicas may run one."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: Bus,
        dsn: str,
        batch_size: int = 200,
        lease_seconds: float = 30.0,
        poll_interval: float = 1.0,
        retention_seconds: float = 86_400.0,
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.dsn = dsn
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.retention_seconds = retention_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: Conn | None = None

    async def run(self) -> None:
        """Loop until :meth:`stop`: drain pending rows, then wait for a NOTIFY or a tick."""
        await self._listen()
        purge_due = pending_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            # Clear before draining: a NOTIFY that lands mid-drain must trigger another.
            self._wake.clear()
            try:
                while await self.publish_batch() == self.batch_size:
                    pass
                if loop.time() >= purge_due:
                    await self.pool.execute(_PURGE, self.retention_seconds)
                    purge_due = loop.time() + 300
                if loop.time() >= pending_due:
                    await self.count_pending()
                    pending_due = loop.time() + PENDING_EVERY_SECONDS
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox.relay_error", error=str(exc))
            except Exception:
                log.exception("outbox.relay_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        await self._unlisten()

    async def publish_batch(self) -> int:
        """Lease, publish and mark one batch; returns how many rows it leased."""
        rows = await self.pool.fetch(_LEASE, self.batch_size, self.lease_seconds)
        if not rows:
            return 0
        results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
        routed = [r["id"] for r, res in zip(rows, results, strict=True) if res is True]
        unrouted = [r["id"] for r, res in zip(rows, results, strict=True) if res is False]
        if routed:
            await self.pool.execute(_MARK, routed, False)
        if unrouted:
            await self.pool.execute(_MARK, unrouted, True)
        for r, res in zip(rows, results, strict=True):
            if isinstance(res, BaseException):
                log.warning("outbox.publish_failed", event_type=r["type"], error=str(res))
        metrics.outbox_batch(
            self.bus.connection_name, len(routed), len(unrouted), len(rows) - len(routed) - len(unrouted)
        )
        return len(rows)

    async def count_pending(self) -> int:
        """Set the backlog gauge to the rows still unpublished (any replica's)."""
        pending: int = await self.pool.fetchval(_PENDING)
        metrics.OUTBOX_PENDING.labels(self.bus.connection_name).set(pending)
        return pending

    async def _publish(self, row: asyncpg.Record) -> bool:
        try:
            await self.bus.publish(
                OutgoingMessage(str(row["event_id"]), row["type"], row["body"], row["headers"])
            )
        except Unroutable:
            # No service subscribes to this type yet: a subscriber's durable queue, once
            # declared, keeps receiving even while that service is down.
            log.warning("outbox.unrouted", event_type=row["type"])
            return False
        return True

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _listen(self) -> None:
        # LISTEN needs its own connection: the pool's connections are shared.
        try:
            self._listener = await asyncpg.connect(self.dsn)
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox.listen_failed", error=str(exc))
            self._listener = None

    async def _unlisten(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
