"""Scheduled re-validation: one pass at a time across replicas, and the loop that runs it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
import structlog

from hspm.curation.actors import SYSTEM
from hspm.curation.validations import service, store

log = structlog.get_logger(__name__)

# A pass handles at most this many builds (and stale runs); the rest wait for the next.
BATCH = 200
# The loop looks for due builds this often at most, so a restart or a backlog catches up
# long before a whole interval has passed; each build is still re-run once per interval.
MAX_TICK_SECONDS = 300.0


@dataclass(frozen=True)
class Pass:
    requested: int = 0
    expired: int = 0
    skipped: bool = False


async def revalidate_once(pool: asyncpg.Pool, interval: float, timeout: float, batch: int = BATCH) -> Pass:
    """Close lost runs, then request a run for every build due; another replica's pass wins."""
    async with pool.acquire() as conn, conn.transaction():
        if not await store.try_scheduler_lock(conn):
            return Pass(skipped=True)
        stale = await store.stale_runs(conn, timeout, batch)
        for run in stale:
            await service.expire(conn, run, timeout)
        due = await store.due_for_revalidation(conn, interval, batch)
        for build in due:
            await service.request_run(conn, build, "scheduled", SYSTEM)
    if stale or due:
        log.info("revalidation.pass", requested=len(due), expired=len(stale))
    return Pass(requested=len(due), expired=len(stale))


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
