"""One request, one transaction: writes commit or roll back whole; reads take no transaction.

And the pool's gate: requests get connections in arrival order, and a request that
cannot get one (the line is full, or none frees up in time) is a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from hspm.common import db
from hspm.common.config import ServiceSettings
from hspm.common.lifecycle import pool_key, unit_of_work
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.common.web import create_base_app, json_response
from hspm.common.web.app import state_key


async def write(request: web.Request) -> web.Response:
    async with unit_of_work(request) as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('first')")
        if request.query.get("fail"):
            raise RuntimeError("after the first write")
        await conn.execute("INSERT INTO notes (body) VALUES ('second')")
    return json_response({"ok": True})


async def write_text(request: web.Request) -> web.Response:
    async with unit_of_work(request) as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('first')")
        await conn.execute("INSERT INTO notes (body) VALUES ($1)", request.query["body"])
    return json_response({"ok": True})


async def find_text(request: web.Request) -> web.Response:
    async with unit_of_work(request) as conn:
        count = await conn.fetchval("SELECT count(*) FROM notes WHERE body = $1", request.query["body"])
    return json_response({"count": count})


async def read(request: web.Request) -> web.Response:
    # POST /notes/search reads too: the handler says so.
    async with unit_of_work(request, read_only=request.path.endswith("/search")) as conn:
        in_tx = conn.is_in_transaction()
        count = await conn.fetchval("SELECT count(*) FROM notes")
    return json_response({"in_transaction": in_tx, "count": count})


async def _client(aiohttp_client: Any, dsn: str, timeout: float, max_waiting: int | None) -> Any:
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, 1, 2, max_waiting=max_waiting)
    await pool.execute("CREATE TABLE IF NOT EXISTS notes (body text)")
    settings = ServiceSettings(
        database_url=dsn, db_acquire_timeout=timeout, internal_secret=TEST_INTERNAL_SECRET
    )
    app = create_base_app(settings, "test", tracing_enabled=False)
    app[pool_key] = pool
    app[state_key].admission = pool.gate  # as lifecycle.database does
    app.router.add_post("/notes", write)
    app.router.add_get("/notes", read)
    app.router.add_post("/notes/search", read)
    app.router.add_post("/notes/count", count_call)
    app.router.add_post("/notes/text", write_text)
    app.router.add_get("/notes/text", find_text)
    return await aiohttp_client(app)


CALLS: list[str] = []


async def count_call(request: web.Request) -> web.Response:
    CALLS.append(request.path)
    return await read(request)


@pytest.fixture
async def client(aiohttp_client: Any, fresh_db: str) -> Any:
    c = await _client(aiohttp_client, fresh_db, 0.2, None)
    yield c
    await c.app[pool_key].close()


@pytest.fixture
async def no_line(aiohttp_client: Any, fresh_db: str) -> Any:
    """No request may wait for a connection; the acquire timeout is an hour."""
    c = await _client(aiohttp_client, fresh_db, 3600, 0)
    yield c
    await c.app[pool_key].close()


async def test_a_write_commits_whole(client: Any) -> None:
    assert (await client.post("/notes")).status == 200
    assert (await (await client.get("/notes")).json())["count"] == 2


async def test_a_failed_write_leaves_nothing_and_frees_the_connection(client: Any) -> None:
    for _ in range(3):  # more failures than the pool has connections
        assert (await client.post("/notes?fail=1")).status == 500
    body = await (await client.get("/notes")).json()
    assert body["count"] == 0


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_nul_character_is_the_clients_error_and_writes_nothing(client: Any, method: str) -> None:
    """PostgreSQL text cannot hold U+0000: a 422 naming it, not a 500, for writes and reads."""
    response = await client.request(method, "/notes/text", params={"body": "a\x00b"})
    assert response.status == 422, await response.text()
    body = await response.json(content_type="application/problem+json")
    assert "U+0000" in body["detail"]
    assert (await (await client.get("/notes")).json())["count"] == 0
    assert (await client.post("/notes/text", params={"body": "fine"})).status == 200


async def test_a_read_runs_without_a_transaction(client: Any) -> None:
    body = await (await client.get("/notes")).json()
    assert body["in_transaction"] is False


async def test_a_post_that_only_reads_runs_without_a_transaction(client: Any) -> None:
    body = await (await client.post("/notes/search")).json()
    assert body["in_transaction"] is False


async def test_an_exhausted_pool_is_a_503(client: Any) -> None:
    pool: asyncpg.Pool = client.app[pool_key]
    held = [await pool.acquire() for _ in range(2)]
    try:
        response = await client.get("/notes")
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        body = await response.json(content_type="application/problem+json")
        assert body["status"] == 503 and body["request_id"]
    finally:
        for conn in held:
            await pool.release(conn)
    assert (await client.get("/notes")).status == 200


async def test_a_full_line_is_a_503_at_once(no_line: Any) -> None:
    """Both connections borrowed and no room to wait: shed now, not after the hour-long
    acquire timeout (a test that waited would hit the suite's time limit)."""
    pool = no_line.app[pool_key]
    assert isinstance(pool, db.Pool)
    held = [await db.borrow(pool, 1.0) for _ in range(2)]
    try:
        response = await no_line.get("/notes")
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert pool.gate.waiting == 0
        # Turned away before the handler ran: no body read, nothing parsed.
        CALLS.clear()
        response = await no_line.post("/notes/count", json={"big": "x" * 1000})
        assert response.status == 503 and CALLS == []
        assert (await no_line.get("/healthz")).status == 200
    finally:
        for conn in held:
            await db.give_back(pool, conn)
    assert (await no_line.get("/notes")).status == 200


class TestGate:
    """The gate alone: first come, first served; bounded; nothing lost on timeouts."""

    async def test_permits_go_to_waiters_in_arrival_order(self) -> None:
        gate = db.Gate(1, max_waiting=10)
        await gate.enter(1.0)
        order: list[int] = []

        async def waiter(n: int) -> None:
            await gate.enter(60.0)
            order.append(n)
            gate.leave()

        tasks = []
        for n in range(4):
            tasks.append(asyncio.create_task(waiter(n)))
            await asyncio.sleep(0)  # each in line before the next arrives
        assert gate.waiting == 4
        # A newcomer cannot take a permit while others wait, even one just given back.
        gate.leave()
        assert not gate.try_enter()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3]
        assert gate.try_enter()  # the permit came back once the line emptied

    async def test_a_full_line_turns_the_next_away(self) -> None:
        gate = db.Gate(1, max_waiting=1)
        await gate.enter(1.0)
        first = asyncio.create_task(gate.enter(60.0))
        await asyncio.sleep(0)
        with pytest.raises(db.PoolBusy):
            await gate.enter(60.0)
        gate.leave()
        await first

    async def test_a_wait_past_its_deadline_is_busy_and_leaves_the_line(self) -> None:
        gate = db.Gate(1, max_waiting=10)
        await gate.enter(1.0)
        with pytest.raises(db.PoolBusy):
            await gate.enter(0.0)
        assert gate.waiting == 0
        gate.leave()
        assert gate.try_enter()

    async def test_a_request_that_would_wait_too_long_is_turned_away_at_once(self) -> None:
        """By its place in line and the pace permits came back at (a fake clock)."""
        now = [0.0]
        gate = db.Gate(1, max_waiting=100, clock=lambda: now[0])
        await gate.enter(10.0)
        first = asyncio.create_task(gate.enter(10.0))
        await asyncio.sleep(0)
        now[0] = 4.0
        gate.leave()  # one permit back in 4 s: the first waiter's turn
        await first
        second = asyncio.create_task(gate.enter(10.0))  # 1st in line: expects 4 s
        third = asyncio.create_task(gate.enter(10.0))  # 2nd in line: expects 8 s
        await asyncio.sleep(0)
        assert gate.waiting == 2
        with pytest.raises(db.PoolBusy):
            await gate.enter(10.0)  # 3rd in line would expect 12 s, past its 10
        for task in (second, third):
            gate.leave()
            await task
        late = asyncio.create_task(gate.enter(1000.0))
        await asyncio.sleep(0)
        now[0] = 100.0  # a stall: the next permit comes back 96 s later
        gate.leave()
        await late
        with pytest.raises(db.PoolBusy):
            await gate.enter(5.0)  # even first in line, the recent pace says 5 s is too short
        for _ in range(64):
            gate.leave()  # permits come back with nobody waiting: the old pace fades
            assert gate.try_enter()
        waiting = asyncio.create_task(gate.enter(10.0))
        await asyncio.sleep(0)
        assert gate.waiting == 1  # waits in line again rather than being turned away
        gate.leave()
        await waiting

    async def test_a_cancelled_waiter_hands_on_its_permit(self) -> None:
        gate = db.Gate(1, max_waiting=10)
        await gate.enter(1.0)
        cancelled = asyncio.create_task(gate.enter(60.0))
        second = asyncio.create_task(gate.enter(60.0))
        await asyncio.sleep(0)
        gate.leave()  # the permit is handed to the first waiter...
        cancelled.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await second  # the second got it instead
        assert gate.waiting == 0 and not gate.try_enter()
