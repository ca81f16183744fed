"""A platform agent end to end through the gateway, every service a real process.

The demo customer declares a platform, registers an agent's Ed25519 key and deploys a
published build (one of the demo catalog's, which the demo subscription entitles them
to run). The agent connects through the gateway with nothing but that key (no token on
the upgrade: it proves the key in the protocol), hears ``instance``/``created`` naming
the image by its digest, reports the instance deployed over the socket, and the
customer then reads ``deployed_at`` back through the REST API.
"""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import Agent, Item
from hspm.common.testing import unique, wait_for
from hspm.devstack.api import GatewayApi
from hspm.devstack.seed_notifier import seed_notifier
from hspm.devstack.stack import Stack

WAIT = 60.0  # an event's way between services, or a frame's through the gateway; far more than either takes
PRODUCT = "Sepsis Watch"  # listed, licensed, and the demo customer holds a subscription to it


async def published_build(api: GatewayApi, product: str) -> dict[str, Any]:
    found = await api.find(f"/products?name={quote(product)}", "customer", name=product)
    assert found is not None, f"the demo catalog has no {product}"
    build = await api.find(f"/products/{found['id']}/builds", "customer", status="published")
    assert build is not None and "@sha256:" in build["image"], build
    return build


async def agent_key(api: GatewayApi, platform_id: str) -> tuple[str, ed25519.Ed25519PrivateKey]:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = {"key": {"public_key": base64.b64encode(raw).decode(), "name": "ward agent"}}
    key = await api.ok("POST", f"/platforms/{platform_id}/keys", "customer", body)
    return str(key["id"]), private


async def deployed(api: GatewayApi, platform_id: str, build_id: str) -> dict[str, Any]:
    """The new instance, once the notifier's read copies (an event away from the catalog,
    curation and licensing) let the customer deploy the build."""
    path = f"/platforms/{platform_id}/instances"

    async def attempt() -> dict[str, Any] | None:
        status, body = await api.send("POST", path, "customer", {"instance": {"build_id": build_id}})
        assert status in (201, 403, 422), (status, body)
        return dict(body) if status == 201 else None

    return await wait_for(attempt, WAIT, interval=0.5)


async def next_event(items: AsyncIterator[Item], event_type: str) -> Item:
    """The next stream event of this type (the agent skips nothing but control frames)."""
    while True:
        item = await asyncio.wait_for(anext(items), WAIT)
        if item.kind == "event" and item.frame["event_type"] == event_type:
            return item


async def test_an_agent_with_only_its_key_deploys_what_the_customer_asks(
    stack: Stack, tokens: dict[str, str]
) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
        api = GatewayApi(http, stack.config.gateway_url, dict(tokens))
        build = await published_build(api, PRODUCT)
        platform = await api.ok("POST", "/platforms", "customer", {"platform": {"name": unique("ward")}})
        key_id, private = await agent_key(api, platform["id"])

        url = stack.config.gateway_url.replace("http://", "ws://", 1) + "/websocket"
        agent = Agent([url], platform["id"], key_id, private)  # no headers: no token at all
        items = agent.items(http)
        try:
            full = await asyncio.wait_for(anext(items), WAIT)
            assert (full.kind, full.frame["instances"]) == ("resync", []), full
            await agent.ack(full)

            instance = await deployed(api, platform["id"], build["id"])
            created = await next_event(items, "created")
            told = created.frame["model"]["instance"]
            assert (created.frame["resource_type"], told["id"]) == ("instance", instance["id"])
            assert told["build"]["id"] == build["id"] and told["build"]["image"] == build["image"]
            await agent.ack(created)

            report = {
                "type": "report", "ref": "deployed", "instance_id": instance["id"],
                "reported_state": "running", "deployed_at": "2026-12-02T10:01:00Z",
                "launch_bindings": {"url": "https://sepsis-watch.ward.local"},
            }  # fmt: skip
            await agent.send(report)
            echoed = await next_event(items, "updated")  # the report, as the stream tells it back
            assert echoed.frame["model"]["instance"]["deployed_at"] == "2026-12-02T10:01:00Z"
            await agent.ack(echoed)
        finally:
            await items.aclose()

        shown = await api.get(f"/instances/{instance['id']}", "customer")
        assert shown["deployed_at"] is not None and shown["deployed_at"].startswith("2026-12-02T10:01:00")
        assert shown["reported_state"] == "running"
        assert shown["launch_bindings"] == {"url": "https://sepsis-watch.ward.local"}
        nested = f"/users/{platform['user_id']}/platforms/{platform['id']}/instances/{instance['id']}"
        assert (await api.get(nested, "customer"))["deployed_at"] == shown["deployed_at"]


async def test_the_demo_agent_connects_with_the_key_the_seed_left_in_the_state_dir(
    stack: Stack, tokens: dict[str, str]
) -> None:
    """What the README shows: the seeded platform's agent, from ``demo-agent.json`` and its
    private key (mode 600, in the state dir only), receives the seeded instance. Seeding
    again changes nothing."""
    state = stack.config.state_dir
    demo = json.loads((state / "demo-agent.json").read_text())
    key_file = state / demo["private_key_file"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    agent = Agent([demo["websocket_url"]], demo["platform_id"], demo["key_id"], private)
    items = agent.items()
    try:
        full = await asyncio.wait_for(anext(items), WAIT)
    finally:
        await items.aclose()
    assert full.kind == "resync" and [i["id"] for i in full.frame["instances"]] == [demo["instance_id"]]
    assert "@sha256:" in full.frame["instances"][0]["image"]
    again = await seed_notifier(
        stack.config.gateway_url, state / "dev-tokens.json", await demo_products(stack)
    )
    assert again == demo


async def demo_products(stack: Stack) -> dict[str, str]:
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, {})
        found = await api.find(f"/products?name={quote(PRODUCT)}", None, name=PRODUCT)
    assert found is not None
    return {PRODUCT: str(found["id"])}
