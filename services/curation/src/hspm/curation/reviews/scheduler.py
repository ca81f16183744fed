"""Scheduled re-validation: the loop that runs one pass at a time across replicas.

What a pass does (close lost runs, request runs of builds due) is the service's
:func:`~hspm.curation.reviews.service.revalidate`; this module gives it a transaction
and a rhythm.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from hspm.curation.reviews import service

log = structlog.get_logger(__name__)

# A pass handles at most this many builds (and stale runs); the rest wait for the next.
BATCH = 200
# The loop looks for due builds this often at most, so a restart or a backlog catches up
# long before a whole interval has passed; each build is still re-run once per interval.
MAX_TICK_SECONDS = 300.0


async def revalidate_once(
    pool: asyncpg.Pool, interval: float, timeout: float, batch: int = BATCH
) -> service.Pass:
    """One pass in one transaction (the replicas' lock goes with it)."""
    async with pool.acquire() as conn, conn.transaction():
        done = await service.revalidate(conn, interval, timeout, batch)
    if done.requested or done.expired:
        log.info("revalidation.pass", requested=done.requested, expired=done.expired)
    return done


async def run_forever(pool: asyncpg.Pool, interval: float, timeout: float, stop: asyncio.Event) -> None:
    """Pass after pass until ``stop`` is set; a failed pass is logged and tried again."""
    tick = min(interval, MAX_TICK_SECONDS)
    while not stop.is_set():
        try:
            await revalidate_once(pool, interval, timeout)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("revalidation.failed", error=str(exc))
        except Exception:
            log.exception("revalidation.failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)
