"""The seeded world and a client per session, shared by every case of the matrix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack

from .world import World, build_world, open_api


@pytest_asyncio.fixture(scope="session")
async def api(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[GatewayApi]:
    """One HTTP client for the whole matrix; the extra personas' tokens join it."""
    http, client = await open_api(stack.config.gateway_url, tokens)
    yield client
    await http.close()


@pytest_asyncio.fixture(scope="session")
async def world(api: GatewayApi, stack: Stack) -> World:
    return await build_world(api, stack.config.state_dir)
