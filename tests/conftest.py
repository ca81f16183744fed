"""System tests start the marketplace as real processes (``hspm.devstack``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.stack import Stack
from hspm.devstack.testing import drop_stack_state, start_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The access matrix runs last: its world recalls the demo's published build of
    Sepsis Watch and sends allowed writes, so the flows that deploy the demo catalog must
    have run before it on the shared stack."""
    items.sort(key=lambda item: "tests/system/access/" in item.nodeid)


@pytest_asyncio.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, amqp_url: str) -> AsyncIterator[Stack]:
    """One private marketplace for the system tests: own ports, databases, namespace."""
    # Every test, the browser's pages and the web UI's own API calls come from one address:
    # under the per-client limit made for people they would wait on each other's 429s.
    # The gateway's own tests prove the limit (services/gateway/tests/integration/test_edge.py).
    env = {"HSPM_RATE_LIMIT_PER_MINUTE": "6000"}
    running = await start_stack(tmp_path_factory.mktemp("stack"), unique("sys"), pg_dsn, amqp_url, env)
    yield running
    await running.stop()
    await drop_stack_state(running.config)


@pytest.fixture(scope="session")
def tokens(stack: Stack) -> dict[str, str]:
    """The demo personas' API tokens, as `make up` writes them."""
    data: dict[str, str] = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
    return data
