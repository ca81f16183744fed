"""Every service runs as two processes in the system tests (tests/conftest.py), as it may in
production. Here: each replica is up, a change made through one gateway is what every
replica of every service serves next, and a replica killed outright costs no request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import SERVICES, Stack

# A read each service answers for the ISV; enough of them to reach every replica twice.
READS = {
    "identity": "/.well-known/jwks.json",
    "catalog": "/products?per_page=5",
    "curation": "/reviews?per_page=5",
    "licensing": "/licenses?per_page=5",
    "notifier": "/platforms?per_page=5",
    "web": "/ui/",
}
ROUNDS = 4


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def _gateways(stack: Stack, http: aiohttp.ClientSession, tokens: dict[str, str]) -> list[GatewayApi]:
    return [
        GatewayApi(http, f"http://127.0.0.1:{port}", tokens) for _, port in stack.config.instances("gateway")
    ]


async def test_every_service_runs_two_ready_replicas(stack: Stack, http: aiohttp.ClientSession) -> None:
    for spec in SERVICES:
        instances = stack.config.instances(spec.name)
        assert len(instances) == 2, instances
        for name, port in instances:
            assert stack.processes[name].returncode is None, f"{name} is not running"
            async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                assert resp.status == 200, (name, await resp.text())


async def test_a_change_through_one_gateway_is_served_by_every_replica(
    stack: Stack, tokens: dict[str, str], http: aiohttp.ClientSession
) -> None:
    one, other = _gateways(stack, http, tokens)
    made = await one.ok("POST", "/products", "isv", {"name": unique("Replicated"), "description": "Two."})
    # Read on every catalog replica first, so each keeps the product as it was.
    for _ in range(ROUNDS):
        assert (await other.ok("GET", f"/products/{made['id']}", "isv"))["description"] == "Two."
    await one.ok("PATCH", f"/products/{made['id']}", "isv", {"description": "Changed."})
    seen = {(await other.ok("GET", f"/products/{made['id']}", "isv"))["description"] for _ in range(ROUNDS)}
    assert seen == {"Changed."}


async def test_a_killed_replica_costs_no_request(
    stack: Stack, tokens: dict[str, str], http: aiohttp.ClientSession
) -> None:
    api = _gateways(stack, http, tokens)[0]
    for service, path in READS.items():
        await stack.kill(f"{service}-2")
        try:
            for _ in range(ROUNDS):
                status, body = await api.send("GET", path, "isv", accept="*/*")
                assert status == 200, (service, status, str(body)[:300])
        finally:
            await stack.restart(f"{service}-2")
    answered: list[Any] = [await api.send("GET", path, "isv", accept="*/*") for path in READS.values()]
    assert [status for status, _ in answered] == [200] * len(READS)
