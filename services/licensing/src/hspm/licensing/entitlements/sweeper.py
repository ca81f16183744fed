"""The expiry sweep in the background: announce entitlements whose window has closed.

The runtime check judges windows by the clock and never waits for the sweep; the sweep
only tells the others (``licensing.entitlement.expired``), once per entitlement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web

from hspm.common import lifecycle
from hspm.licensing.entitlements import service
from hspm.licensing.keys import settings_key

log = structlog.get_logger(__name__)
STOP_SECONDS = 3.0


async def sweep_once(pool: asyncpg.Pool, stop: asyncio.Event | None = None) -> int:
    """Batch after batch, each its own transaction, until one comes back short (or stop)."""
    total = 0
    while stop is None or not stop.is_set():
        async with pool.acquire() as conn, conn.transaction():
            swept = await service.sweep_expired(conn, datetime.now(UTC))
        total += swept
        if swept < service.SWEEP_BATCH:
            break
    if total:
        log.info("entitlements.expired", count=total)
    return total


async def run_forever(pool: asyncpg.Pool, interval: float, stop: asyncio.Event) -> None:
    """Pass after pass until ``stop``; a failed pass is logged and tried again next time."""
    while not stop.is_set():
        try:
            await sweep_once(pool, stop)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("entitlements.sweep_failed", error=str(exc))
        except Exception:
            log.exception("entitlements.sweep_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def expiry_sweep(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: the loop runs while the app does and stops before the pool closes."""
    interval = app[settings_key].expiry_sweep_seconds
    if interval <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(app[lifecycle.pool_key], interval, stop), name="expiry-sweep")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, STOP_SECONDS)
        except TimeoutError:
            # wait_for cancelled the pass; its transaction rolls back with the connection.
            with contextlib.suppress(asyncio.CancelledError):
                await task
