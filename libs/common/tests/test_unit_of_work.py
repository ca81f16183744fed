"""One request, one transaction: writes commit or roll back whole; reads take no transaction."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web

from hspm.common import db
from hspm.common.config import ServiceSettings
from hspm.common.lifecycle import pool_key, unit_of_work
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.common.web import create_base_app, json_response


async def write(request: web.Request) -> web.Response:
    async with unit_of_work(request) as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('first')")
        if request.query.get("fail"):
            raise RuntimeError("after the first write")
        await conn.execute("INSERT INTO notes (body) VALUES ('second')")
    return json_response({"ok": True})


async def read(request: web.Request) -> web.Response:
    async with unit_of_work(request) as conn:
        in_tx = conn.is_in_transaction()
        count = await conn.fetchval("SELECT count(*) FROM notes")
    return json_response({"in_transaction": in_tx, "count": count})


@pytest.fixture
async def client(aiohttp_client: Any, fresh_db: str) -> Any:
    await db.ensure_database(fresh_db)
    pool = await db.create_pool(fresh_db, 1, 2)
    await pool.execute("CREATE TABLE notes (body text)")
    settings = ServiceSettings(
        database_url=fresh_db, db_acquire_timeout=0.2, internal_secret=TEST_INTERNAL_SECRET
    )
    app = create_base_app(settings, "test", tracing_enabled=False)
    app[pool_key] = pool
    app.router.add_post("/notes", write)
    app.router.add_get("/notes", read)
    yield await aiohttp_client(app)
    await pool.close()


async def test_a_write_commits_whole(client: Any) -> None:
    assert (await client.post("/notes")).status == 200
    assert (await (await client.get("/notes")).json())["count"] == 2


async def test_a_failed_write_leaves_nothing_and_frees_the_connection(client: Any) -> None:
    for _ in range(3):  # more failures than the pool has connections
        assert (await client.post("/notes?fail=1")).status == 500
    body = await (await client.get("/notes")).json()
    assert body["count"] == 0


async def test_a_read_runs_without_a_transaction(client: Any) -> None:
    body = await (await client.get("/notes")).json()
    assert body["in_transaction"] is False


async def test_an_exhausted_pool_is_a_503(client: Any) -> None:
    pool: asyncpg.Pool = client.app[pool_key]
    held = [await pool.acquire() for _ in range(2)]
    try:
        response = await client.get("/notes")
        assert response.status == 503
    finally:
        for conn in held:
            await pool.release(conn)
