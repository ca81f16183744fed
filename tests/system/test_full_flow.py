"""The main flow end to end, through the gateway, with a real Platform Agent process.

An ISV's own product and build (its image pushed to the stack's registry) is validated,
approved and listed; the customer redeems a voucher, deploys the build to its platform,
whose agent applies it; an operator recalls the build and the agent acknowledges. Every
service's record of the outcome is then checked, and the counts prove nothing was made
twice. The demo catalog is left as it was (the access matrix runs after on this stack).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.flow import FlowIds, PlatformIds, ensure_platform, run_flow
from hspm.devstack.flow_check import check_flow
from hspm.devstack.flow_steps import retry
from hspm.devstack.stack import Stack

pytestmark = pytest.mark.timeout(600)
WAIT = 120.0


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[GatewayApi]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield GatewayApi(http, stack.config.gateway_url, dict(tokens))


@pytest_asyncio.fixture(loop_scope="session")
async def platform(api: GatewayApi, tmp_path: Path) -> AsyncIterator[PlatformIds]:
    """The customer's platform with its agent running; the agent is stopped afterwards."""
    made = PlatformIds(unique("flow ward"))
    try:
        await retry("platform", lambda: ensure_platform(api, made, tmp_path), time.monotonic() + WAIT)
        yield made
    finally:
        if made.agent is not None:
            made.agent.stop()


async def test_the_main_flow_ends_in_the_same_state_in_every_service(
    stack: Stack, api: GatewayApi, platform: PlatformIds
) -> None:
    flow = FlowIds(unique("flow"), platform)
    await run_flow(api, flow, stack.registry.url, stack.config.registry_host)
    assert platform.agent is not None
    assert flow.instance_id and flow.recall_id, flow
    assert await check_flow(api, flow) == [], platform.agent.log_tail()


async def test_a_flow_run_again_makes_nothing_twice(
    stack: Stack, api: GatewayApi, platform: PlatformIds
) -> None:
    """Every step repeated from the start, as a driver that lost all its answers would."""
    flow = FlowIds(unique("flow"), platform)
    await run_flow(api, flow, stack.registry.url, stack.config.registry_host)
    made = {k: v for k, v in vars(flow).items() if k.endswith("_id")}
    flow.done.clear()
    await run_flow(api, flow, stack.registry.url, stack.config.registry_host)
    assert {k: v for k, v in vars(flow).items() if k.endswith("_id")} == made
    assert await check_flow(api, flow) == []
