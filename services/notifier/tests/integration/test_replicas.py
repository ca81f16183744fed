"""Scale-out: two ``python -m hspm.notifier`` replicas on one database. An instance
created through one replica's REST API reaches the agent connected to the other; events
appended anywhere reach the agent on either; SIGKILL of its replica mid-stream loses
nothing: it resumes on the other, every event applied exactly once, in order."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import aiohttp
import asyncpg
import orjson
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import Agent, Backoff, Item
from hspm.common import outbox
from hspm.common.auth import Principal
from hspm.common.events import catalog, curation
from hspm.common.testing import TEST_INTERNAL_SECRET, as_headers, broker, unique, user, wait_for
from hspm.devstack.stack import free_port
from hspm.notifier.consumers import HANDLERS
from hspm.notifier.stream import service as stream

EVENTS = 2_000
BOUND = 240.0


class Replica:
    """One notifier process."""

    def __init__(self, dsn: str, amqp_url: str, namespace: str, logs: Path, **extra: str) -> None:
        self.port = free_port()
        env = extra | {
            **os.environ,
            "HSPM_DATABASE_URL": dsn,
            "HSPM_AMQP_URL": amqp_url,
            "HSPM_AMQP_NAMESPACE": namespace,
            "HSPM_INTERNAL_SECRET": TEST_INTERNAL_SECRET,
            "HSPM_HTTP_PORT": str(self.port),
            "HSPM_DB_POOL_MIN": "1",
            "HSPM_DB_POOL_MAX": "4",
            "HSPM_PRUNE_SECONDS": "0",
            "HSPM_LOG_JSON": "true",
        }
        self.log = logs / f"notifier-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hspm.notifier"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base}/readyz") as resp:
                        if resp.status == 200:
                            return
                assert time.monotonic() < deadline, "the notifier did not become ready"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@contextlib.asynccontextmanager
async def two_replicas(
    pg_dsn: str, amqp_url: str, logs: Path, **extra: str
) -> AsyncIterator[tuple[list[Replica], str]]:
    """Two replicas on a new database (and AMQP namespace); ``extra``: more environment."""
    server = pg_dsn.rsplit("/", 1)[0]
    name = unique("hspm_test_notifier_replicas")
    dsn = f"{server}/{name}"
    namespace = broker.namespace("tntfr")
    first = Replica(dsn, amqp_url, namespace, logs, **extra)
    running = [first]
    try:
        await first.ready()  # it creates and migrates the database; the second finds it done
        second = Replica(dsn, amqp_url, namespace, logs, **extra)
        running.append(second)
        await second.ready()
        yield running, dsn
    finally:
        for replica in running:
            replica.kill()
        conn = await asyncpg.connect(f"{server}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest_asyncio.fixture
async def replicas(pg_dsn: str, amqp_url: str, tmp_path: Path) -> AsyncIterator[tuple[list[Replica], str]]:
    async with two_replicas(pg_dsn, amqp_url, tmp_path) as running:
        yield running


async def _connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
    )
    return conn


async def _platform_with_key(base: str, owner: Principal | None = None) -> tuple[str, str, object]:
    owner = owner or user()
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    headers = as_headers(owner, audience="notifier")
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{base}/platforms", json={"platform": {"name": "edge"}}) as resp:
            assert resp.status == 201, await resp.text()
            platform_id = (await resp.json())["id"]
        key = {"key": {"public_key": base64.b64encode(raw).decode()}}
        async with http.post(f"{base}/platforms/{platform_id}/keys", json=key) as resp:
            assert resp.status == 201, await resp.text()
            key_id = (await resp.json())["id"]
    return platform_id, key_id, private


async def test_a_killed_replicas_agent_resumes_on_the_other_without_loss_or_repeat(replicas) -> None:
    (first, second), dsn = replicas
    platform_id, key_id, private = await _platform_with_key(second.base)
    urls = [f"ws://127.0.0.1:{r.port}/websocket" for r in (first, second)]
    agent = Agent(urls, platform_id, key_id, private, backoff=Backoff(base=0.01, cap=0.2))  # type: ignore[arg-type]
    applied: list[Item] = []

    async def consume() -> None:
        async for item in agent.items():
            applied.append(item)
            await agent.ack(item)

    consumer = asyncio.create_task(consume())
    db = await _connect(dsn)
    rng = random.Random(7)
    try:
        await wait_for(lambda: _true(applied), timeout=BOUND)  # the empty full state, from the first
        killed = False
        for n in range(EVENTS):
            async with db.transaction():
                await stream.append(db, UUID(platform_id), "test", "tick", "t", {"n": n})
            if not killed and n >= EVENTS // 4 and len(applied) > 100:
                first.kill()  # mid-stream: events are in flight and more are coming
                killed = True
            if rng.random() < 0.01:
                await asyncio.sleep(0.01)
        assert killed
        await wait_for(lambda: _true(len(applied) >= EVENTS + 1), timeout=BOUND)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await db.close()
    assert applied[0].kind == "resync"
    events = applied[1:]
    assert [i.seq for i in events] == list(range(1, EVENTS + 1))
    assert [i.frame["model"]["n"] for i in events] == list(range(EVENTS))
    assert agent.connections >= 2 and agent.urls[agent._turn].endswith(f":{second.port}/websocket")


async def _true(value: object) -> bool:
    return bool(value)


DIGEST = "sha256:" + "cd" * 32


async def _published_build(dsn: str) -> UUID:
    """A listed product's published build with an approved digest, in the read copies, as
    the replicas' consumers would record the catalog's and curation's events."""
    pid, bid, owner = uuid4(), uuid4(), uuid4()
    past = datetime.now(UTC) - timedelta(days=1)
    events = (
        catalog.ProductCreated(product_id=pid, owner_id=owner, name="P"),
        catalog.ProductPublished(product_id=pid, published_at=past, visible_at=past),
        catalog.BuildSubmitted(
            build_id=bid, product_id=pid, owner_id=owner, version="1.0.0",
            registry="registry.test", repository="isv/app", tag="1.0.0",
        ),
        curation.BuildReviewChanged(build_id=bid, product_id=pid, state="approved", image_digest=DIGEST),
        catalog.BuildPublished(build_id=bid, product_id=pid, published_at=past),
    )  # fmt: skip
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        for event in events:
            handler = HANDLERS[type(event)]
            await outbox.handle_once(pool, event, lambda conn, e=event, h=handler: h(conn, e))
    finally:
        await pool.close()
    return bid


async def test_an_instance_created_on_one_replica_reaches_an_agent_on_the_other(
    pg_dsn: str, amqp_url: str, tmp_path: Path
) -> None:
    """REST on replica A, the agent on replica B: only B's LISTEN can tell it (its own
    periodic re-read is set far beyond the bound waited)."""
    quiet = {"HSPM_WS_HEARTBEAT_SECONDS": "3600"}
    async with two_replicas(pg_dsn, amqp_url, tmp_path, **quiet) as ((a, b), dsn):
        build_id = await _published_build(dsn)
        owner = user()
        platform_id, key_id, private = await _platform_with_key(a.base, owner)
        agent = Agent([f"ws://127.0.0.1:{b.port}/websocket"], platform_id, key_id, private)  # type: ignore[arg-type]
        items = agent.items()
        try:
            full = await asyncio.wait_for(anext(items), BOUND)
            assert (full.kind, full.frame["instances"]) == ("resync", [])
            await agent.ack(full)
            body = {"instance": {"build_id": str(build_id)}}
            async with (
                aiohttp.ClientSession(headers=as_headers(owner, audience="notifier")) as http,
                http.post(f"{a.base}/platforms/{platform_id}/instances", json=body) as resp,
            ):
                assert resp.status == 201, await resp.text()
                made = await resp.json()
            told = await asyncio.wait_for(anext(items), BOUND)
        finally:
            await items.aclose()
    assert (told.kind, told.seq, told.frame["resource_type"], told.frame["event_type"]) == (
        "event", 1, "instance", "created",
    )  # fmt: skip
    instance = told.frame["model"]["instance"]
    assert instance["id"] == made["id"] and instance["build"]["image"] == f"registry.test/isv/app@{DIGEST}"
