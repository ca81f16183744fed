"""The retention sweep: old events leave each stream, raising its floor.

An agent whose position is below the floor is told to resync when it comes back
(``stream.resume``); its connected sessions notice on their next read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog
from aiohttp import web

from hspm.common.lifecycle import pool_key
from hspm.notifier.keys import settings_key
from hspm.notifier.stream import service as stream

log = structlog.get_logger(__name__)


async def prune_once(pool: asyncpg.Pool, retention_seconds: float, max_events: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return len(await stream.prune(conn, retention_seconds, max_events))


async def _loop(app: web.Application) -> None:
    s = app[settings_key]
    while True:
        await asyncio.sleep(s.prune_seconds)
        try:
            await prune_once(app[pool_key], s.stream_retention_hours * 3600, s.stream_max_events)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("notifier.prune_failed", error=str(exc))


async def pruning(app: web.Application) -> AsyncIterator[None]:
    if not app[settings_key].prune_seconds:
        yield
        return
    task = asyncio.create_task(_loop(app), name="notifier-prune")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
