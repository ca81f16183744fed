"""The search cache's shared work: one read of the generation for a line of requests and
one search for everyone asking the same at once, never one begun before what it answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.search.service import Found, Key, ResultCache, Results
from hspm.catalog.stamped import Clock, Stamp
from hspm.common.paging import PageParams

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Reads:
    """A stand-in for the database: each read returns the next generation when released."""

    def __init__(self) -> None:
        self.started = 0
        self.gates: list[asyncio.Event] = []
        self.fail: Exception | None = None

    async def read(self) -> Clock:
        self.started += 1
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.started, NOW

    async def release(self, index: int) -> None:
        for _ in range(100):  # let the read begin: a few turns of the loop
            if len(self.gates) > index:
                break
            await asyncio.sleep(0)
        self.gates[index].set()


async def test_requests_arriving_during_a_read_share_the_next_one() -> None:
    cache, reads = ResultCache(8), Reads()
    first = asyncio.create_task(cache.clock(reads.read))
    await asyncio.sleep(0)
    later = [asyncio.create_task(cache.clock(reads.read)) for _ in range(5)]
    await asyncio.sleep(0)
    assert reads.started == 1  # the line waits for the read under way to end
    await reads.release(0)
    assert await first == (1, NOW)
    await reads.release(1)
    assert [await t for t in later] == [(2, NOW)] * 5
    assert reads.started == 2


async def test_a_caller_going_away_does_not_cancel_the_read_of_the_others() -> None:
    cache, reads = ResultCache(8), Reads()
    first = asyncio.create_task(cache.clock(reads.read))
    await asyncio.sleep(0)
    leaving = asyncio.create_task(cache.clock(reads.read))
    staying = asyncio.create_task(cache.clock(reads.read))
    await asyncio.sleep(0)
    leaving.cancel()
    await reads.release(0)
    await reads.release(1)
    assert await first == (1, NOW)
    assert await staying == (2, NOW)
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_a_failed_read_fails_its_line_and_the_next_caller_reads_again() -> None:
    cache, reads = ResultCache(8), Reads()
    reads.fail = ConnectionError("database gone")
    waiting = [asyncio.create_task(cache.clock(reads.read)) for _ in range(3)]
    await asyncio.sleep(0)
    await reads.release(0)
    await reads.release(1)
    for task in waiting:
        with pytest.raises(ConnectionError):
            await task
    reads.fail = None
    again = asyncio.create_task(cache.clock(reads.read))
    await reads.release(2)
    assert await again == (3, NOW)


def _key(text: str) -> Key:
    return (SearchQuery(page=PageParams(1, 10, "name", "ASC"), text=text), Viewer(), ())


async def test_one_search_serves_everyone_asking_for_it_at_once() -> None:
    cache, runs = ResultCache(8), 0
    release = asyncio.Event()

    async def run() -> Found:
        nonlocal runs
        runs += 1
        await release.wait()
        return Results([], runs), Stamp(5, None)

    asking = [asyncio.create_task(cache.fill(_key("a"), 5, run)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert {(await t).total for t in asking} == {1}
    assert runs == 1
    assert cache.get(_key("a"), 5, NOW) is not None  # and it is kept


async def test_a_search_read_under_an_older_generation_is_not_shared_with_a_newer_asker() -> None:
    cache = ResultCache(8)
    release = asyncio.Event()

    async def old() -> Found:
        await release.wait()
        return Results([], 1), Stamp(5, None)

    async def new() -> Found:
        return Results([], 2), Stamp(6, None)

    first = asyncio.create_task(cache.fill(_key("a"), 5, old))
    await asyncio.sleep(0)
    # This one learned of generation 6 after the first search began: it must run its own.
    second = asyncio.create_task(cache.fill(_key("a"), 6, new))
    await asyncio.sleep(0)
    release.set()
    assert (await first).total == 1
    assert (await second).total == 2
