"""Many sessions' database calls, answered by a few queries instead of one each.

A published build wakes a thousand sessions at once; each asking the database on its own
would queue a thousand round trips behind a pool of a few connections (measured: most of
a fan-out's time was spent waiting for a connection). A batch runs at most ``concurrency``
queries at a time; requests made while they run wait and go together in the next one, so
the busier the replica, the larger and fewer its queries. Each session still awaits its
own answer, as if it had asked alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import asyncpg
import structlog

from hspm.common.db import Conn

log = structlog.get_logger(__name__)
Req = TypeVar("Req")
Res = TypeVar("Res")


class Batch(Generic[Req, Res]):
    """``run`` answers a list of requests, in order, on one connection; at most ``most``
    requests per query and ``concurrency`` queries in flight."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        run: Callable[[Conn, list[Req]], Awaitable[list[Res]]],
        most: int = 1000,
        concurrency: int = 1,
    ) -> None:
        self.pool, self.run, self.most, self.concurrency = pool, run, most, concurrency
        self._waiting: list[tuple[Req, asyncio.Future[Res]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._scheduled = False
        self.queries = 0  # for tests and the bench: how many statements served the requests

    async def __call__(self, request: Req) -> Res:
        answer: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer))
        self._schedule()
        return await answer

    def _schedule(self) -> None:
        # call_soon runs after every callback already queued: the sessions woken by the
        # same burst of NOTIFYs have all asked by then.
        if not self._scheduled and self._waiting and len(self._running) < self.concurrency:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        while self._waiting and len(self._running) < self.concurrency:
            chunk, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            task = asyncio.ensure_future(self._answer(chunk))
            self._running.add(task)  # held until done: an unreferenced task may be collected
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._schedule()  # what arrived meanwhile goes now, together

    async def _answer(self, chunk: list[tuple[Req, asyncio.Future[Res]]]) -> None:
        live = [(request, answer) for request, answer in chunk if not answer.done()]
        if not live:  # everyone who asked has gone (their sessions closed)
            return
        try:
            async with self.pool.acquire() as conn:
                self.queries += 1
                results = await self.run(conn, [request for request, _ in live])
        except Exception as exc:  # every waiter hears of it, as if it had asked alone
            for _, answer in live:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), result in zip(live, results, strict=True):
            if not answer.done():  # its session may have closed meanwhile
                answer.set_result(result)

    async def drain(self) -> None:
        """Wait for the queries in flight (shutdown)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


class Latest:
    """The highest value per key, written in the background, one write at a time.

    For acknowledgements: the session's window moves on its own count at once; the
    database's copy (what staff see, where a resync starts nothing) may trail it by one
    write. A write that fails is merged back and tried with the next."""

    def __init__(
        self, pool: asyncpg.Pool, write: Callable[[Conn, list[tuple[Any, int]]], Awaitable[Any]]
    ) -> None:
        self.pool, self.write = pool, write
        self._pending: dict[Any, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    def record(self, key: Any, value: int) -> None:
        if value > self._pending.get(key, -1):
            self._pending[key] = value
        if self._task is None:
            self._task = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the rest of this turn's values in
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    async with self.pool.acquire() as conn:
                        self.writes += 1
                        await self.write(conn, list(batch.items()))
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("notifier.ack_write_failed", error=str(exc), pending=len(batch))
                    for key, value in batch.items():
                        if value > self._pending.get(key, -1):
                            self._pending[key] = value
                    return
        finally:
            self._task = None

    async def drain(self) -> None:
        """Write what is pending (shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pending:
            await self._flush()
