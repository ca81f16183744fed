"""What a replica keeps of the catalog's answers, served only while they are exact.

Search results ([ADR 18](../../../../../docs/adr/0018-search-result-cache.md)) and rendered
products are kept the same way: each with the stamp of the snapshot it was read in (the
catalog's generation, migration 0008, and the earliest moment a scheduled publication or
showing changes it), and served only while the generation is unchanged and that moment
has not come. Both areas use this module, so the rules are written once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Clock = tuple[int, datetime]  # the catalog's generation and the database's now()
ReadClock = Callable[[], Coroutine[Any, Any, Clock]]


@dataclass(frozen=True)
class Stamp:
    """What an answer was read under: the generation, and the earliest moment a scheduled
    publication or showing changes it (None: none is due)."""

    generation: int
    next_change: datetime | None

    def holds(self, generation: int, now: datetime) -> bool:
        due = self.next_change is not None and self.next_change <= now
        return self.generation == generation and not due


class SharedRead:
    """One read of the generation at a time, shared by every request that arrived before
    it began. A read already under way may have begun before a request did, so that
    request waits for the next one: whatever it is served was current when it asked.
    Under load one round trip answers a whole line of requests instead of one each.
    """

    def __init__(self) -> None:
        self._next: asyncio.Future[Clock] | None = None
        self._running: asyncio.Task[Clock] | None = None

    async def get(self, read: ReadClock) -> Clock:
        turn = self._next
        if turn is None:
            turn = self._next = asyncio.get_running_loop().create_future()
            if self._running is None:
                self._start(read)
        # Shielded: a caller that goes away must not cancel the read the others wait for.
        return await asyncio.shield(turn)

    def _start(self, read: ReadClock) -> None:
        waiting, self._next = self._next, None
        assert waiting is not None
        self._running = asyncio.get_running_loop().create_task(read())
        self._running.add_done_callback(lambda task: self._finish(task, waiting, read))

    def _finish(self, task: asyncio.Task[Clock], waiting: asyncio.Future[Clock], read: ReadClock) -> None:
        self._running = None
        if task.cancelled():
            waiting.cancel()
        elif (error := task.exception()) is not None:
            waiting.set_exception(error)
        else:
            waiting.set_result(task.result())
        if self._next is not None:
            self._start(read)


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    stamp: Stamp
    weight: int


def _one(_: object) -> int:
    return 1


class StampedCache(Generic[K, V]):
    """Answers by key, each kept with its stamp and served only while the stamp holds.
    Least recently used entries go first, so the entries' total weight stays within
    ``size`` (by default each weighs 1: ``size`` counts entries). ``size`` 0 keeps nothing.
    """

    def __init__(self, size: int, weigh: Callable[[V], int] = _one) -> None:
        self.size = size
        self._weigh = weigh
        self._weight = 0
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._clock = SharedRead()
        self._flights: dict[K, asyncio.Task[tuple[V, Stamp]]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: K, generation: int, now: datetime) -> V | None:
        entry = self._entries.get(key)
        if entry is None or not entry.stamp.holds(generation, now):
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.value

    def put(self, key: K, value: V, stamp: Stamp) -> None:
        weight = self._weigh(value)
        if weight > self.size:
            return  # larger than the whole cache: kept by nobody, evicting nothing
        old = self._entries.pop(key, None)
        self._weight += weight - (old.weight if old is not None else 0)
        self._entries[key] = _Entry(value, stamp, weight)
        while self._weight > self.size:
            _, gone = self._entries.popitem(last=False)
            self._weight -= gone.weight

    async def fill(
        self, key: K, generation: int, run: Callable[[], Coroutine[Any, Any, tuple[V, Stamp]]]
    ) -> V:
        """Read ``key`` afresh (or join the read already running) and keep what it found.

        A request joins a running read only if that read was stamped with this request's
        generation or a later one, so what it is served is current for it too.
        """
        flight = self._flights.get(key)
        if flight is not None:
            with contextlib.suppress(Exception):  # its failure is not this request's: run anew
                value, stamp = await asyncio.shield(flight)
                if stamp.generation >= generation:
                    return value
        task = asyncio.get_running_loop().create_task(run())
        self._flights[key] = task
        task.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: the others waiting on it must not lose it if this caller goes away.
        value, _ = await asyncio.shield(task)
        return value

    def _landed(self, key: K, task: asyncio.Task[tuple[V, Stamp]]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled() and task.exception() is None:
            value, stamp = task.result()
            self.put(key, value, stamp)

    async def clock(self, read: ReadClock) -> Clock:
        """The generation and the time now, read once for all who are asking."""
        return await self._clock.get(read)

    async def through(
        self, key: K, read: ReadClock, run: Callable[[], Coroutine[Any, Any, tuple[V, Stamp]]]
    ) -> V:
        """The answer for ``key``: kept and still exact, or read afresh (and kept)."""
        if self.size <= 0:
            value, _ = await run()
            return value
        generation, now = await self.clock(read)
        hit = self.get(key, generation, now)
        if hit is not None:
            return hit
        return await self.fill(key, generation, run)
