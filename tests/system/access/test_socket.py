"""The WebSocket personas: the agent of this platform and the agent of another platform.

An agent's Ed25519 key speaks for its own platform only: another platform's agent can
neither authenticate as the first platform nor, once in on its own platform, subscribe to,
report on or acknowledge anything of the first. On REST the key is no credential at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import sign_challenge
from hspm.devstack.api import GatewayApi

from .client import agent_headers
from .world import World

SUBPROTOCOL = "hspm.notifier.v1"
TIMEOUT = 10.0


def ws_url(api: GatewayApi) -> str:
    return api.base.replace("http", "ws", 1) + "/websocket"


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next JSON frame, or a pseudo-frame with the close code when the socket closes."""
    while True:
        message = await ws.receive(timeout=TIMEOUT)
        if message.type is not aiohttp.WSMsgType.TEXT:
            return {"type": "closed", "code": ws.close_code}
        data: dict[str, Any] = json.loads(message.data)
        if data.get("type") not in ("heartbeat", "event", "state"):
            return data


async def hello(
    ws: aiohttp.ClientWebSocketResponse, platform: str, key_id: str, key: ed25519.Ed25519PrivateKey
) -> dict[str, Any]:
    """Authenticate with ``key`` as ``key_id`` on ``platform``; the server's answer."""
    await ws.send_json({"type": "hello", "protocol": 1, "platform_id": platform, "key_id": key_id})
    challenge = await frame(ws)
    if challenge.get("type") != "challenge":
        return challenge
    await ws.send_json(
        {"type": "authenticate", "signature": sign_challenge(key, platform, challenge["nonce"])}
    )
    return await frame(ws)


@asynccontextmanager
async def socket(api: GatewayApi) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with api.http.ws_connect(ws_url(api), protocols=(SUBPROTOCOL,)) as ws:
        yield ws


@asynccontextmanager
async def rival_inside(api: GatewayApi, world: World) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """The other platform's agent, authenticated on its own platform."""
    assert world.other_key is not None
    async with socket(api) as ws:
        assert (await hello(ws, world.other_platform, world.other_key_id, world.other_key))[
            "type"
        ] == "welcome"
        yield ws


async def test_this_platforms_agent_gets_in_and_subscribes(api: GatewayApi, world: World) -> None:
    """The positive control: the refusals below are about the key, not a broken socket."""
    assert world.agent_key is not None
    platform = world.params["platform_id"]
    async with socket(api) as ws:
        assert (await hello(ws, platform, world.params["key_id"], world.agent_key))["type"] == "welcome"
        await ws.send_json({"type": "subscribe", "platform_id": platform})
        answer = await frame(ws)
        assert answer["type"] in ("subscribed", "resync"), answer
        if answer["type"] == "resync":  # no position given: the full state, its own instance in it
            assert world.params["instance_id"] in {i["id"] for i in answer["instances"]}


@pytest.mark.parametrize("key_id_of", ["its_own_key", "the_platforms_key"])
async def test_another_agent_cannot_connect_as_this_platform(
    api: GatewayApi, world: World, key_id_of: str
) -> None:
    assert world.other_key is not None
    key_id = world.other_key_id if key_id_of == "its_own_key" else world.params["key_id"]
    async with socket(api) as ws:
        answer = await hello(ws, world.params["platform_id"], key_id, world.other_key)
        assert answer.get("code") == "unauthenticated", answer
        assert (await frame(ws)) == {"type": "closed", "code": 4401}


async def test_another_agent_cannot_subscribe_to_this_platform(api: GatewayApi, world: World) -> None:
    async with rival_inside(api, world) as ws:
        await ws.send_json({"type": "subscribe", "platform_id": world.params["platform_id"]})
        answer = await frame(ws)
        assert answer.get("code") == "forbidden", answer
        assert world.params["instance_id"] not in json.dumps(answer)


async def test_another_agent_cannot_report_on_this_platforms_instance(api: GatewayApi, world: World) -> None:
    async with rival_inside(api, world) as ws:
        report = {
            "type": "report",
            "ref": "r1",
            "instance_id": world.params["instance_id"],
            "reported_state": "stopped",
            "launch_bindings": {},
            "errors": [],
        }
        await ws.send_json(report)
        answer = await frame(ws)
        assert answer.get("code") in ("forbidden", "not_found"), answer
    instance = await api.get(f"/instances/{world.params['instance_id']}", "customer")
    assert instance["reported_state"] != "stopped"


async def test_another_agent_cannot_acknowledge_this_platforms_recall(api: GatewayApi, world: World) -> None:
    async with rival_inside(api, world) as ws:
        await ws.send_json({"type": "recall_ack", "ref": "a1", "recall_id": world.params["recall_id"]})
        answer = await frame(ws)
        assert answer.get("code") in ("forbidden", "not_found"), answer


@pytest.mark.parametrize("agent", ["agent_here", "agent_other"])
async def test_an_agents_signature_as_a_bearer_token_is_refused(
    api: GatewayApi, world: World, agent: str
) -> None:
    """Sent as a token, key material is an invalid credential: 401, never a downgrade."""
    headers = {"Authorization": f"Bearer {agent_headers(world, agent)['X-HSPM-Signature']}"}
    async with api.http.get(api.base + "/products", headers=headers) as resp:
        assert resp.status == 401
