"""Helpers for tests of any service: principals, waiting, unique names."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import NoReturn, TypeVar
from uuid import UUID, uuid4

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hspm.common.auth import PRINCIPAL_HEADER, Principal, sign_assertion

T = TypeVar("T")

TEST_INTERNAL_SECRET = "test-internal-secret-" + "x" * 24
# Who ``as_headers`` signs for unless told: the name of every service a test may run
# (each app accepts assertions naming itself; ``hspm`` is ServiceSettings' default).
# Tests only: the gateway signs each assertion for the one service it forwards to.
TEST_AUDIENCES = ("hspm", "identity", "catalog", "curation", "validator", "licensing", "notifier", "web")


def unavailable(message: str) -> NoReturn:
    """Skip a test whose real dependency is missing here; in CI (``CI=true``) fail instead.

    CI is meant to have every real part, so a missing one there is a broken setup.
    """
    import pytest  # only tests call this; services import the module without pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def unique(prefix: str) -> str:
    """A lowercase name no other test run uses (databases, AMQP namespaces)."""
    return f"{prefix}_{secrets.token_hex(5)}"


def user(permissions: Iterable[str] = (), user_id: UUID | None = None, name: str = "Test User") -> Principal:
    return Principal(
        kind="user",
        user_id=user_id or uuid4(),
        session_id=uuid4(),
        name=name,
        permissions=frozenset(permissions),
    )


def as_headers(
    principal: Principal, secret: str = TEST_INTERNAL_SECRET, audience: str | Sequence[str] = TEST_AUDIENCES
) -> dict[str, str]:
    """Headers a service accepts as coming from the gateway on ``principal``'s behalf.

    Signed for every service in ``TEST_AUDIENCES`` unless ``audience`` names one.
    """
    return {PRINCIPAL_HEADER: sign_assertion(principal, secret, audience=audience)}


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def served_on_own_database(
    pg_dsn: str, prefix: str, make_app: Callable[[str], web.Application]
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], str]]:
    """A service app built on a database of its own, served for tests; dropped afterwards.

    Yields the test client and the database's DSN (the app creates and migrates it).
    """
    server = pg_dsn.rsplit("/", 1)[0]
    name = unique(prefix)
    dsn = f"{server}/{name}"
    client = TestClient(TestServer(make_app(dsn)))
    await client.start_server()
    try:
        yield client, dsn
    finally:
        await client.close()
        conn = await asyncpg.connect(f"{server}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
