"""Requests made in one turn of the loop share one query; each caller gets its own answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from hspm.notifier.sockets.batch import Batch

pytestmark = pytest.mark.unit


class Pool:
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[str]:
        yield "conn"


def batch_of(run: Any, most: int = 1000) -> Batch[int, int]:
    return Batch(cast(Any, Pool()), run, most)


async def test_requests_of_one_turn_are_one_query_answered_in_order() -> None:
    seen: list[list[int]] = []

    async def run(conn: str, requests: list[int]) -> list[int]:
        seen.append(requests)
        return [r * 10 for r in requests]

    batch = batch_of(run)
    answers = await asyncio.gather(*(batch(n) for n in range(300)))
    assert answers == [n * 10 for n in range(300)]
    assert seen == [list(range(300))] and batch.queries == 1


async def test_a_batch_is_cut_at_most_requests_per_query() -> None:
    async def run(conn: str, requests: list[int]) -> list[int]:
        return requests

    batch = batch_of(run, most=100)
    assert await asyncio.gather(*(batch(n) for n in range(250))) == list(range(250))
    assert batch.queries == 3


async def test_a_failed_query_fails_every_caller_and_the_next_turn_works() -> None:
    calls = 0

    async def run(conn: str, requests: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("connection lost")
        return requests

    batch = batch_of(run)
    results = await asyncio.gather(batch(1), batch(2), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert await batch(3) == 3


async def test_a_caller_that_gave_up_does_not_break_the_others() -> None:
    release = asyncio.Event()

    async def run(conn: str, requests: list[int]) -> list[int]:
        await release.wait()
        return requests

    batch = batch_of(run)
    quitter = asyncio.ensure_future(batch(1))
    stayer = asyncio.ensure_future(batch(2))
    await asyncio.sleep(0)
    quitter.cancel()
    release.set()
    assert await stayer == 2
    await batch.drain()


async def test_requests_made_while_a_query_runs_go_together_in_the_next() -> None:
    release, running = asyncio.Event(), asyncio.Event()
    seen: list[list[int]] = []

    async def run(conn: str, requests: list[int]) -> list[int]:
        seen.append(requests)
        if len(seen) == 1:
            running.set()
            await release.wait()
        return requests

    batch = batch_of(run)
    first = asyncio.ensure_future(batch(0))
    await running.wait()
    later = [asyncio.ensure_future(batch(n)) for n in range(1, 50)]
    for _ in range(5):
        await asyncio.sleep(0)
    release.set()
    assert await first == 0 and await asyncio.gather(*later) == list(range(1, 50))
    assert seen == [[0], list(range(1, 50))]


async def test_latest_writes_the_highest_value_per_key_and_retries_a_failed_write() -> None:
    from hspm.notifier.sockets.batch import Latest

    written: list[dict[str, int]] = []
    fail = True

    async def write(conn: str, items: list[tuple[str, int]]) -> None:
        nonlocal fail
        if fail:
            fail = False
            raise OSError("connection lost")
        written.append(dict(items))

    latest = Latest(cast(Any, Pool()), write)
    for key, value in (("a", 3), ("a", 5), ("b", 1), ("a", 4)):
        latest.record(key, value)
    await latest.drain()  # the first write failed: what it held is written on drain
    assert written == [{"a": 5, "b": 1}]
    latest.record("a", 2)  # lower than what was written is still written (the store keeps the max)
    await latest.drain()
    assert written[-1] == {"a": 2}
