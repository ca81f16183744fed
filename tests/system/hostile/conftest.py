"""Hostile callers of the whole marketplace, as every persona of the access matrix.

The personas are the access matrix's: anonymous, the demo customer, ISV owner, operator
and auditor, another ISV and a compliance validator made here, and the agents of the
demo platform and of another platform (on REST they hold no credential). The world is
made through the gateway, as a client would, and holds only what these tests read; the
demo catalog is only read, never changed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack
from tests.system.access.client import AGENT_HERE, AGENT_OTHER, ANONYMOUS, headers_for
from tests.system.access.world import ISV_ROLE, VALIDATOR_ROLE, World, new_persona, open_api, public_b64

PERSONAS = (
    ANONYMOUS,
    "customer",
    "isv",
    "other_isv",
    "operator",
    "auditor",
    "validator",
    AGENT_HERE,
    AGENT_OTHER,
)


@dataclass
class Hostile:
    """The client, the personas' world, and the demo records the tests read back."""

    api: GatewayApi
    world: World
    product_id: str
    published_build_id: str

    @property
    def base(self) -> str:
        return self.api.base

    @property
    def http(self) -> aiohttp.ClientSession:
        return self.api.http

    def headers(self, persona: str) -> dict[str, str]:
        """What ``persona`` sends on REST: a bearer token, agent key material, or nothing."""
        return headers_for(self.api, self.world, persona)

    async def read(self, path: str, persona: str | None = "isv") -> Any:
        """A record as ``persona`` reads it (must answer 200)."""
        return await self.api.get(path, persona)


@pytest_asyncio.fixture(scope="session")
async def hostile(stack: Stack, tokens: dict[str, str]) -> AsyncIterator[Hostile]:
    http, api = await open_api(stack.config.gateway_url, tokens)
    try:
        world = World()
        world.users["other_isv"], api.tokens["other_isv"] = await new_persona(api, "Hostile rival", ISV_ROLE)
        world.users["validator"], api.tokens["validator"] = await new_persona(
            api, "Hostile checker", VALIDATOR_ROLE
        )
        demo = json.loads((stack.config.state_dir / "demo-agent.json").read_text())
        world.params["platform_id"], world.params["key_id"] = demo["platform_id"], demo["key_id"]
        world.params["instance_id"] = demo["instance_id"]
        key = serialization.load_pem_private_key(
            (stack.config.state_dir / demo["private_key_file"]).read_bytes(), password=None
        )
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        world.agent_key = key
        platform = await api.ok("POST", "/platforms", "other_isv", {"name": "Hostile rival cluster"})
        world.other_platform = str(platform["id"])
        world.other_key = ed25519.Ed25519PrivateKey.generate()
        body = {"name": "hostile rival agent", "public_key": public_b64(world.other_key)}
        key_record = await api.ok("POST", f"/platforms/{world.other_platform}/keys", "other_isv", body)
        world.other_key_id = str(key_record["id"])
        product = await api.find("/products?name=Sepsis%20Watch", None)
        assert product is not None, "the demo's Sepsis Watch is missing"
        product_id = str(product["id"])
        build = await api.find(f"/products/{product_id}/builds", "isv", status="published")
        assert build is not None, "the demo's published build of Sepsis Watch is missing"
        yield Hostile(api, world, product_id, str(build["id"]))
    finally:
        await http.close()
