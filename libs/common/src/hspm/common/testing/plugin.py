"""pytest plugin: real PostgreSQL and RabbitMQ, from TEST_* env, loopback or testcontainers.

Order of preference: ``TEST_DATABASE_URL`` / ``TEST_AMQP_URL``; a server answering on
loopback; a container when a Docker engine answers. In CI (``CI=true``) a missing
service fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from hspm.common.db import database_name
from hspm.common.testing import broker, unavailable, unique

_PG_LOOPBACK = "postgresql://postgres@127.0.0.1:5432/postgres"
_AMQP_LOOPBACK = "amqp://guest:guest@127.0.0.1:5672/"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()  # type: ignore[attr-defined]
    except Exception:
        return False
    return True


def _missing(what: str) -> None:
    unavailable(f"no {what}: set TEST_* env, run it on loopback, or start a Docker engine")


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A PostgreSQL server DSN (any database; tests create their own)."""
    if dsn := os.environ.get("TEST_DATABASE_URL"):
        yield dsn
        return
    if _reachable("127.0.0.1", 5432):
        yield _PG_LOOPBACK
        return
    if not _docker_available():
        _missing("PostgreSQL")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15-alpine", driver=None) as pg:
        yield pg.get_connection_url()


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A RabbitMQ URL; tests isolate themselves with a unique namespace."""
    if url := _local_amqp():
        _checked(url)
        yield url
        return
    if not _docker_available():
        _missing("RabbitMQ")
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-alpine") as mq:
        p = mq.get_connection_params()
        yield f"amqp://{p.credentials.username}:{p.credentials.password}@{p.host}:{p.port}/"


def _local_amqp() -> str | None:
    if url := os.environ.get("TEST_AMQP_URL"):
        return url
    return _AMQP_LOOPBACK if _reachable("127.0.0.1", 5672) else None


def _run(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` to its end on a loop of its own, whatever loop this thread has."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _checked(url: str) -> None:
    """Fail the run's broker fixture at once when the broker is too slow to be usable."""
    try:
        _run(broker.check(url))
    except (TimeoutError, OSError) as exc:
        pytest.fail(
            f"RabbitMQ at {url} did not declare a queue within 30 s ({exc!r}); is it overloaded "
            "with leftover queues? `python -m hspm.common.testing.broker` drops stale test ones"
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI nothing else uses the broker: drop what interrupted earlier runs left on it."""
    if os.environ.get("CI", "").lower() == "true" and (url := _local_amqp()):
        _run(broker.drop_stale(url))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop every namespace this run made (queues, dead-letter queues, exchanges)."""
    if broker.made() and (url := _local_amqp()):
        _run(broker.drop_namespaces(url, broker.made()))


def _dsn_for(base: str, database: str) -> str:
    name = database_name(base)
    head = base[: base.rindex("/" + name)] if base.endswith("/" + name) else base.rstrip("/")
    return f"{head}/{database}"


@pytest_asyncio.fixture
async def fresh_db(pg_dsn: str) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    name = unique("hspm_test")
    dsn = _dsn_for(pg_dsn, name)
    yield dsn
    conn = await asyncpg.connect(_dsn_for(pg_dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def amqp_namespace() -> str:
    """A unique exchange/queue namespace so parallel tests never see each other's events."""
    return broker.namespace("t")


# --- markers: every test is unit, integration or system, decided by what it needs -----

# Fixtures that reach a real part (PostgreSQL, RabbitMQ, the OCI registry); a test that
# needs one of them, directly or through another fixture, is an integration test.
REAL_PARTS = frozenset({"pg_dsn", "amqp_url", "oci_registry", "sample_images"})
_DIRECTORY_MARKS = {"system": "system", "integration": "integration", "unit": "unit"}


def level_of(path_parts: tuple[str, ...], fixtures: frozenset[str] | set[str]) -> str:
    """``system`` or ``integration`` by directory; otherwise by the real parts used."""
    for part in reversed(path_parts):
        if part in ("system", "integration"):
            return _DIRECTORY_MARKS[part]
    if fixtures & REAL_PARTS:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ``unit``, ``integration`` or ``system`` (``make test-unit`` etc.).

    A test under ``tests/unit/`` that reaches a real part is a mislabelled test: it fails
    at collection rather than being run as a unit test.
    """
    bad: list[str] = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        level = level_of(item.path.parts, fixtures)
        if level == "integration" and "unit" in item.path.parts:
            bad.append(f"{item.nodeid} uses {', '.join(sorted(fixtures & REAL_PARTS))}")
        item.add_marker(getattr(pytest.mark, level))
    if bad:
        raise pytest.UsageError(
            "unit tests must not use real parts; move them to integration/:\n" + "\n".join(bad)
        )
