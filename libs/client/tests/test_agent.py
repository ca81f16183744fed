"""The agent client: backoff, de-duplication across reconnects, holes, and its handshake
(the subprotocol it offers and insists on) against a stand-in server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from uuid import uuid4

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import SUBPROTOCOL, Agent, AgentRefused, Backoff, Item
from hspm.common.testing import wait_for


def test_backoff_is_jittered_capped_and_resets() -> None:
    backoff = Backoff(base=0.5, cap=4.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    assert all(0 <= d <= 4.0 for d in delays) and len(set(delays)) == 10
    assert delays[0] <= 0.5
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def agent(**kw) -> Agent:
    return Agent(["ws://x/websocket"], uuid4(), uuid4(), ed25519.Ed25519PrivateKey.generate(), **kw)


def test_events_at_or_before_the_position_are_not_yielded_again() -> None:
    a = agent(epoch="e", seq=5)
    assert a._item({"type": "event", "epoch": "e", "seq": 5}) is None
    assert a._item({"type": "event", "epoch": "e", "seq": 6}).seq == 6
    assert a._item({"type": "heartbeat", "epoch": "e", "seq": 9}) is None
    assert a._item({"type": "resync", "epoch": "f", "seq": 2, "instances": []}).kind == "resync"


def test_a_hole_in_the_sequence_reconnects_rather_than_skipping() -> None:
    with pytest.raises(ConnectionError):
        agent(epoch="e", seq=5)._item({"type": "event", "epoch": "e", "seq": 7})


# --- the handshake, against a stand-in server ---------------------------------------------


def stand_in(protocols: tuple[str, ...], events: int = 0) -> web.Application:
    """Enough of the notifier's handshake to reach the first item (challenge, welcome,
    resync), then ``events`` events; it keeps what each connection offered and every ack."""

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=protocols)
        await ws.prepare(request)
        request.app[offered].append(
            (request.headers.get("Sec-WebSocket-Protocol"), request.headers.get("Authorization"))
        )
        async for message in ws:
            frame = json.loads(message.data)
            if frame["type"] == "hello":
                await ws.send_json({"type": "challenge", "nonce": "n0nce"})
            elif frame["type"] == "authenticate":
                await ws.send_json({"type": "welcome", "protocol": 1})
            elif frame["type"] == "subscribe":
                await ws.send_json({"type": "resync", "epoch": "e", "seq": 0, "instances": []})
                for seq in range(1, events + 1):
                    await ws.send_json({"type": "event", "epoch": "e", "seq": seq})
            elif frame["type"] == "ack":
                request.app[acks].append(frame["seq"])
        return ws

    app = web.Application()
    app[offered], app[acks] = [], []
    app.router.add_get("/websocket", socket)
    return app


offered = web.AppKey("offered", list)
acks = web.AppKey("acks", list)


async def first_item(app: web.Application) -> Item:
    async with TestServer(app) as server:
        a = Agent(
            [str(server.make_url("/websocket"))], uuid4(), uuid4(), ed25519.Ed25519PrivateKey.generate()
        )
        items = a.items()
        try:
            return await asyncio.wait_for(anext(items), 10)
        finally:
            await items.aclose()


async def test_the_agent_offers_the_subprotocol_and_no_token() -> None:
    app = stand_in((SUBPROTOCOL,))
    item = await first_item(app)
    assert (item.kind, item.seq) == ("resync", 0)
    assert app[offered] == [(SUBPROTOCOL, None)]


async def test_a_server_that_selects_no_subprotocol_is_refused() -> None:
    with pytest.raises(AgentRefused, match="subprotocol"):
        await first_item(stand_in(()))


async def test_a_marketplace_it_cannot_reach_is_said_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Each failed connection is a warning naming the URL and the error, then a retry."""
    server = TestServer(web.Application())
    await server.start_server()
    url = f"ws://127.0.0.1:{server.port}/websocket"
    await server.close()  # nothing listens there any more
    a = Agent(
        [url], uuid4(), uuid4(), ed25519.Ed25519PrivateKey.generate(), backoff=Backoff(base=0.01, cap=0.01)
    )
    items = a.items()
    caplog.set_level("WARNING", logger="hspm.client.agent")
    step = asyncio.ensure_future(anext(items))

    async def retried() -> bool:
        return len([r for r in caplog.records if r.getMessage() == "notifier.disconnected"]) >= 2

    try:
        await wait_for(retried, timeout=30.0, interval=0.01)
    finally:
        step.cancel()
        await asyncio.gather(step, return_exceptions=True)
        await items.aclose()
    record = next(r for r in caplog.records if r.getMessage() == "notifier.disconnected")
    assert record.url == url and "Connect" in record.error  # type: ignore[attr-defined]


# --- coalesced acks -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def applied(app: web.Application, count: int) -> AsyncIterator[Agent]:
    """An agent connected to ``app`` that has applied and acked the first ``count`` items."""
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        url = str(server.make_url("/websocket"))
        a = Agent([url], uuid4(), uuid4(), ed25519.Ed25519PrivateKey.generate())
        items = a.items(http)
        try:
            for _ in range(count):
                await a.ack(await asyncio.wait_for(anext(items), 10))
            yield a
        finally:
            await items.aclose()


async def test_acks_of_a_burst_are_coalesced_into_the_latest_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hspm.client.agent.ACK_DELAY_SECONDS", 3600.0)  # only the count sends
    monkeypatch.setattr("hspm.client.agent.ACK_EVERY", 3)
    app = stand_in((SUBPROTOCOL,), events=5)
    async with applied(app, 6) as a:  # the full state, then five events
        await wait_for(lambda: _equal(app[acks], [0, 3]), timeout=10.0, interval=0.01)
        await a.flush_ack()
        await wait_for(lambda: _equal(app[acks], [0, 3, 5]), timeout=10.0, interval=0.01)
        assert a.seq == 5


async def test_a_lone_event_is_acknowledged_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hspm.client.agent.ACK_DELAY_SECONDS", 0.01)
    app = stand_in((SUBPROTOCOL,), events=1)
    async with applied(app, 2):
        await wait_for(lambda: _equal(app[acks], [0, 1]), timeout=10.0, interval=0.01)


async def _equal(seen: list[int], expected: list[int]) -> bool:
    return seen == expected
