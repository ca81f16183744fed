"""Malformed WebSocket frames to the notifier, through the gateway's relay.

Before authentication and after it: binary and non-JSON frames, unknown types, frames
out of order, oversized frames and invalid reports. A bad frame is answered with an error
frame and the socket stays open (a ping is still answered); a frame too large to read is
cut with close 1009, by the notifier or, past a request body's size, by the gateway. No
bad frame changes the platform's instance.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from hspm.gateway.config import Settings as GatewaySettings
from hspm.notifier.config import Settings as NotifierSettings
from tests.system.access.test_socket import SUBPROTOCOL, frame, hello

from .conftest import Hostile

MAX_FRAME = int(NotifierSettings.model_fields["ws_max_frame_bytes"].default)
MAX_BODY = int(GatewaySettings.model_fields["max_body_bytes"].default)


@asynccontextmanager
async def socket(hostile: Hostile, *, authenticated: bool) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A socket through the gateway; authenticated, it speaks for the demo platform's agent."""
    url = hostile.base.replace("http", "ws", 1) + "/websocket"
    async with hostile.http.ws_connect(url, protocols=(SUBPROTOCOL,), max_msg_size=0) as ws:
        if authenticated:
            world = hostile.world
            assert world.agent_key is not None
            welcome = await hello(ws, world.params["platform_id"], world.params["key_id"], world.agent_key)
            assert welcome["type"] == "welcome", welcome
        yield ws


async def still_open(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_json({"type": "ping", "ref": "still-here"})
    assert await frame(ws) == {"type": "pong", "ref": "still-here"}


async def instance(hostile: Hostile) -> Any:
    return await hostile.read(f"/instances/{hostile.world.params['instance_id']}", "customer")


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("binary garbage", b"\x00\xff\xfe binary", "malformed"),
    ("binary, not an object", b"[1, 2, 3]", "malformed"),
    ("not JSON", "hello?", "malformed"),
    ("a JSON string", json.dumps("subscribe"), "malformed"),
    ("truncated", '{"type": "hello", "protocol": 1', "malformed"),
    ("unknown type", json.dumps({"type": "shell", "command": "id"}), "unknown_type"),
    ("no type", json.dumps({"platform_id": "x"}), "unknown_type"),
    ("oversized", json.dumps({"type": "ping", "pad": "x" * (MAX_FRAME + 1)}), "too_large"),
]


@pytest.mark.parametrize("authenticated", [False, True], ids=["before authentication", "authenticated"])
@pytest.mark.parametrize(
    ("data", "code"), [(d, c) for _, d, c in BAD_FRAMES], ids=[n for n, _, _ in BAD_FRAMES]
)
async def test_a_bad_frame_is_answered_and_the_socket_stays_open(
    hostile: Hostile, authenticated: bool, data: str | bytes, code: str
) -> None:
    before = await instance(hostile)
    async with socket(hostile, authenticated=authenticated) as ws:
        await (ws.send_bytes(data) if isinstance(data, bytes) else ws.send_str(data))
        answer = await frame(ws)
        assert (answer["type"], answer.get("code")) == ("error", code), answer
        await still_open(ws)
    assert await instance(hostile) == before


async def test_nothing_but_ping_is_accepted_before_authentication(hostile: Hostile) -> None:
    platform = hostile.world.params["platform_id"]
    async with socket(hostile, authenticated=False) as ws:
        for sent in (
            {"type": "subscribe", "platform_id": platform, "epoch": "x", "after": 0},
            {"type": "resync"},
            {
                "type": "report",
                "instance_id": hostile.world.params["instance_id"],
                "reported_state": "stopped",
            },
            {"type": "authenticate", "signature": "AAAA"},
        ):
            await ws.send_json(sent)
            answer = await frame(ws)
            assert (answer["type"], answer.get("code")) == ("error", "out_of_order"), (sent, answer)
            assert hostile.world.params["instance_id"] not in json.dumps(answer)
        await still_open(ws)
    assert (await instance(hostile))["reported_state"] != "stopped"


@pytest.mark.parametrize(
    ("report", "code"),
    [
        ({"reported_state": 42}, "invalid"),
        ({"reported_state": "x" * 51}, "invalid"),
        ({"errors": "x"}, "invalid"),
        ({"errors": ["x"] * 51}, "invalid"),
        ({"deployed_at": "yesterday"}, "invalid"),
        ({"launch_bindings": [1, 2]}, "invalid"),
        ({"reported_state": "running", "extra": True}, "invalid"),
        ({"reported_state": "run\u0000ning"}, "invalid"),
        ({"errors": ["a\u0000b"]}, "invalid"),
        ({"launch_bindings": {"url": "a\u0000b"}}, "invalid"),
        ({"instance_id": "1' OR '1'='1", "reported_state": "stopped"}, "invalid"),
        ({"instance_id": "00000000-0000-4000-8000-000000000000", "reported_state": "stopped"}, "not_found"),
    ],
)
async def test_an_invalid_report_changes_nothing(hostile: Hostile, report: dict[str, Any], code: str) -> None:
    before = await instance(hostile)
    async with socket(hostile, authenticated=True) as ws:
        sent = {"type": "report", "ref": "r", "instance_id": hostile.world.params["instance_id"], **report}
        await ws.send_json(sent)
        answer = await frame(ws)
        assert (answer["type"], answer.get("code")) == ("error", code), answer
        await still_open(ws)
    assert await instance(hostile) == before


async def test_deeply_nested_bindings_in_a_report_change_nothing(hostile: Hostile) -> None:
    """Too deep to store and push back again: refused like the REST body, socket open."""
    before = await instance(hostile)
    nested = '{"a":' * 299 + '{"port":1}' + "}" * 299
    head = {"type": "report", "ref": "deep", "instance_id": hostile.world.params["instance_id"]}
    async with socket(hostile, authenticated=True) as ws:
        await ws.send_str(json.dumps(head)[:-1] + ', "launch_bindings": ' + nested + "}")
        answer = await frame(ws)
        assert (answer["type"], answer.get("code")) == ("error", "invalid"), answer
        await still_open(ws)
    assert await instance(hostile) == before


@pytest.mark.parametrize(
    "size", [4 * MAX_FRAME + 1, MAX_BODY + 1], ids=["cut by the notifier", "cut by the gateway"]
)
async def test_a_frame_too_large_to_read_closes_1009_and_changes_nothing(hostile: Hostile, size: int) -> None:
    before = await instance(hostile)
    async with socket(hostile, authenticated=True) as ws:
        await ws.send_str(json.dumps({"type": "ping", "pad": "x" * size}))
        closed = await frame(ws)
    # The gateway stops reading a frame past its body limit and closes 1009; while the
    # client is still writing the rest, the close can reach it as a reset (1006) instead.
    cut_early = {aiohttp.WSCloseCode.ABNORMAL_CLOSURE} if size > 4 * MAX_FRAME + 1 else set()
    assert closed["type"] == "closed" and closed["code"] in {aiohttp.WSCloseCode.MESSAGE_TOO_BIG, *cut_early}
    assert await instance(hostile) == before
