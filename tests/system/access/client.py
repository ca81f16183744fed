"""Calls as a persona that only care about the status (bodies may be HTML, images or JSON)."""

from __future__ import annotations

import asyncio
from typing import Any

from hspm.devstack.api import GatewayApi, retry_after

from .world import World

ANONYMOUS = "anonymous"
AGENT_HERE = "agent_here"
AGENT_OTHER = "agent_other"
AGENTS = (AGENT_HERE, AGENT_OTHER)


def agent_headers(world: World, persona: str) -> dict[str, str]:
    """What an agent might send over REST: its platform, key id and a signature, but no token.

    None of it is a REST credential, so the request must be treated as anonymous.
    """
    here = persona == AGENT_HERE
    key = world.agent_key if here else world.other_key
    assert key is not None
    platform = world.params["platform_id"] if here else world.other_platform
    key_id = world.params["key_id"] if here else world.other_key_id
    signature = key.sign(f"hspm-notifier-auth/1\n{platform}\nrest".encode()).hex()
    return {"X-HSPM-Platform-Id": platform, "X-HSPM-Key-Id": key_id, "X-HSPM-Signature": signature}


def headers_for(api: GatewayApi, world: World, persona: str) -> dict[str, str]:
    if persona in AGENTS:
        return agent_headers(world, persona)
    if persona == ANONYMOUS:
        return {}
    return {"Authorization": f"Bearer {api.tokens[persona]}"}


async def status_of(
    api: GatewayApi, world: World, method: str, path: str, persona: str, body: Any = None
) -> tuple[int, bytes]:
    """The status and raw body of one call; a 429 is waited out like :class:`GatewayApi` does."""
    headers = headers_for(api, world, persona)
    for _ in range(5):
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        async with api.http.request(method, api.base + path, allow_redirects=False, **kwargs) as resp:
            raw = await resp.read()
            if resp.status != 429:
                return resp.status, raw
            await asyncio.sleep(retry_after(resp.headers.get("Retry-After")))
    return 429, b""
