"""System tests start the marketplace as real processes (``hspm.devstack``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.stack import Stack
from hspm.devstack.testing import drop_stack_state, start_stack
from hspm.devstack.traces import Collector, environment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The access matrix runs last: its world recalls the demo's published build of
    Sepsis Watch and sends allowed writes, so the flows that deploy the demo catalog must
    have run before it on the shared stack."""
    items.sort(key=lambda item: "tests/system/access/" in item.nodeid)


# Every service runs as two processes, as it may in production: the whole suite then
# proves the services safe with replicas (tests/system/test_replicas.py looks closer).
REPLICAS = 2
# Sixteen service processes with the default pools would hold most of a stock PostgreSQL's
# hundred connections; the tests need a few each.
SMALL_POOLS = {"HSPM_DB_POOL_MIN": "1", "HSPM_DB_POOL_MAX": "4"}


@pytest_asyncio.fixture(scope="session")
async def traces() -> AsyncIterator[Collector]:
    """Where the system tests' stack and agents export their spans (``hspm.devstack.traces``)."""
    collector = Collector()
    await collector.start()
    yield collector
    await collector.stop()


@pytest_asyncio.fixture(scope="session")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, amqp_url: str, traces: Collector
) -> AsyncIterator[Stack]:
    """One private marketplace for the system tests: own ports, databases, namespace.

    Tracing is on as operators run it, but only traces a caller marks sampled (a test's
    own ``traceparent``) are recorded and exported."""
    # Every test, the browser's pages and the web UI's own API calls come from one address:
    # under the per-client limit made for people they would wait on each other's 429s.
    # The gateway's own tests prove the limit (services/gateway/tests/integration/test_edge.py).
    env = {"HSPM_RATE_LIMIT_PER_MINUTE": "6000", **environment(traces.endpoint), **SMALL_POOLS}
    running = await start_stack(
        tmp_path_factory.mktemp("stack"), unique("sys"), pg_dsn, amqp_url, env, replicas=REPLICAS
    )
    yield running
    await running.stop()
    await drop_stack_state(running.config)


@pytest.fixture(scope="session")
def tokens(stack: Stack) -> dict[str, str]:
    """The demo personas' API tokens, as `make up` writes them."""
    data: dict[str, str] = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
    return data
