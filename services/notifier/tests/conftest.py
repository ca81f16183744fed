"""Notifier tests: one database per session, emptied before each test; personas as principals.

The catalog, curation and licensing are stood in for by their events, delivered the way
the consumer delivers them (``outbox.handle_once`` on the service's pool). Agents are
real WebSocket clients (``hspm.client.agent``) with real Ed25519 keys.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import sign_challenge
from hspm.common.auth import Principal
from hspm.common.events import catalog, curation, licensing
from hspm.common.testing import TEST_INTERNAL_SECRET, as_headers, broker
from hspm.common.testing.harness import ServiceHarness, serve_harness
from hspm.notifier.app import create_app
from hspm.notifier.config import Settings
from hspm.notifier.consumers import HANDLERS
from hspm.notifier.stream import service as stream

PUBLIC_URL = "http://marketplace.test"
STAFF_KEYS = frozenset(
    {f"platforms.{v}" for v in ("create", "read", "update", "delete")}
    | {f"instances.{v}" for v in ("create", "read", "update", "delete")}
    | {"recalls.read"}
)
AUDITOR_KEYS = frozenset({"platforms.read", "instances.read", "recalls.read"})
TABLES = (
    "products, product_parents, builds, product_offers, entitlements, platforms, agent_keys, instances, "
    "streams, stream_events, recalls, recall_notices, processed_events"
)
DIGEST = "sha256:" + "ab" * 32
SOCKET_TIMEOUT = 10.0  # a bound on a hung socket, never what a test asserts


def persona(keys: frozenset[str] | set[str] = frozenset(), name: str = "P") -> Principal:
    return Principal(kind="user", user_id=uuid4(), session_id=uuid4(), name=name, permissions=frozenset(keys))


def new_key() -> tuple[ed25519.Ed25519PrivateKey, str]:
    """A private key and its public half as the API takes it (base64 of the raw bytes)."""
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, base64.b64encode(raw).decode()


@dataclass
class Notifier(ServiceHarness):
    """The running service, its personas and its database."""

    admin: Principal = field(default_factory=lambda: persona({"everything.manage"}, name="Admin"))
    operator: Principal = field(default_factory=lambda: persona(STAFF_KEYS, name="Olga Operator"))
    auditor: Principal = field(default_factory=lambda: persona(AUDITOR_KEYS, name="Audrey Auditor"))
    customer: Principal = field(default_factory=lambda: persona(name="Carla Customer"))
    other_customer: Principal = field(default_factory=lambda: persona(name="Cody Customer"))
    handlers = HANDLERS

    async def reset(self) -> None:
        await (await self.db()).execute(f"TRUNCATE {TABLES} CASCADE")

    # --- other services, stood in for by their events ----------------------------------------

    async def published_build(self, *, listed: bool = True, digest: str | None = DIGEST) -> tuple[UUID, UUID]:
        """A product (listed or not) with a published build; (product_id, build_id)."""
        pid, bid, owner = uuid4(), uuid4(), uuid4()
        await self.deliver(catalog.ProductCreated(product_id=pid, owner_id=owner, name="P"))
        if listed:
            past = datetime.now(UTC) - timedelta(days=1)
            await self.deliver(catalog.ProductPublished(product_id=pid, published_at=past, visible_at=past))
        await self.deliver(
            catalog.BuildSubmitted(
                build_id=bid, product_id=pid, owner_id=owner, version="1.0.0",
                registry="registry.test", repository="isv/app", tag="1.0.0",
            )
        )  # fmt: skip
        if digest is not None:
            await self.deliver(
                curation.BuildReviewChanged(
                    build_id=bid, product_id=pid, state="approved", image_digest=digest
                )
            )
        await self.deliver(
            catalog.BuildPublished(build_id=bid, product_id=pid, published_at=datetime.now(UTC))
        )
        return pid, bid

    async def offer(self, product_id: UUID) -> UUID:
        offer_id = uuid4()
        await self.deliver(
            licensing.LicenseOffered(
                product_license_id=offer_id, product_id=product_id, license_id=uuid4(), license_name="L"
            )
        )
        return offer_id

    async def entitle(self, who: Principal, product_id: UUID, offer_id: UUID) -> UUID:
        assert who.user_id is not None
        eid = uuid4()
        await self.deliver(
            licensing.EntitlementGranted(
                entitlement_id=eid, user_id=who.user_id, product_id=product_id, product_license_id=offer_id,
                license_id=uuid4(), valid_from=datetime.now(UTC) - timedelta(minutes=1), valid_until=None,
                source="staff",
            )
        )  # fmt: skip
        return eid

    # --- the notifier's own resources --------------------------------------------------------

    async def platform(self, who: Principal | None = None, name: str | None = None) -> dict[str, Any]:
        who = who or self.customer
        reply = await self.post("/platforms", who, {"platform": {"name": name or f"env-{uuid4().hex[:8]}"}})
        assert reply.status == 201, reply
        body: dict[str, Any] = reply.body
        return body

    async def key(self, platform_id: object, who: Principal | None = None) -> tuple[UUID, Any]:
        """A registered key of the platform: (key_id, private key)."""
        private, public = new_key()
        reply = await self.post(
            f"/platforms/{platform_id}/keys", who or self.customer, {"key": {"public_key": public}}
        )
        assert reply.status == 201, reply
        return UUID(reply.body["id"]), private

    async def stream(self, platform_id: object) -> list[dict[str, Any]]:
        rows = await (await self.db()).fetch(
            "SELECT seq, resource_type, event_type, model FROM stream_events "
            "WHERE platform_id = $1 ORDER BY seq",
            UUID(str(platform_id)),
        )
        return [dict(r) for r in rows]

    def ws_headers(self, who: Principal) -> dict[str, str]:
        return as_headers(who)

    # --- sockets -------------------------------------------------------------------------------

    async def recv(self, ws: Any) -> dict[str, Any]:
        """The next frame; anything but text (a close) fails the test."""
        message = await asyncio.wait_for(ws.receive(), SOCKET_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.TEXT, (message, ws.close_code)
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def not_a_heartbeat(self, ws: Any) -> dict[str, Any]:
        """The next frame that is not a heartbeat (one is due whenever the socket was quiet)."""
        frame = await self.recv(ws)
        while frame["type"] == "heartbeat":
            frame = await self.recv(ws)
        return frame

    async def closed(self, ws: Any) -> int:
        """Read until the server closes; the code in its close frame."""
        while True:
            message = await asyncio.wait_for(ws.receive(), SOCKET_TIMEOUT)
            if message.type == aiohttp.WSMsgType.CLOSE:
                return int(message.data)
            assert message.type == aiohttp.WSMsgType.TEXT, message

    async def authenticated(
        self, platform_id: object, key_id: object, private: Any
    ) -> tuple[Any, dict[str, Any]]:
        """A socket past hello/challenge/authenticate with this key; the server's answer."""
        ws = await self.client.ws_connect("/websocket")
        await ws.send_json(
            {"type": "hello", "protocol": 1, "platform_id": str(platform_id), "key_id": str(key_id)}
        )
        challenge = await self.recv(ws)
        assert challenge["type"] == "challenge", challenge
        signature = sign_challenge(private, str(platform_id), challenge["nonce"])
        await ws.send_json({"type": "authenticate", "signature": signature})
        return ws, await self.recv(ws)

    async def subscribed(self, platform: dict[str, Any], **position: Any) -> tuple[Any, dict[str, Any]]:
        """A new key's socket subscribed to ``platform``; the first answer."""
        key_id, private = await self.key(platform["id"])
        ws, _ = await self.authenticated(platform["id"], key_id, private)
        await ws.send_json({"type": "subscribe", "platform_id": platform["id"], **position})
        return ws, await self.recv(ws)

    async def append(self, platform_id: object, n: int = 1) -> None:
        """``n`` events on the platform's stream, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            for i in range(n):
                await stream.append(conn, UUID(str(platform_id)), "test", "tick", "t", {"n": i})


def settings(dsn: str, amqp_url: str, namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "amqp_url": amqp_url,
        "amqp_namespace": namespace,
        "internal_secret": TEST_INTERNAL_SECRET,
        "public_url": PUBLIC_URL,
        "db_pool_min": 1,
        "db_pool_max": 8,
        "prune_seconds": 0,
        "ws_auth_timeout_seconds": 5,
        "ws_key_check_seconds": 1,
        "ws_heartbeat_seconds": 2,
        "ws_state_seconds": 0,
    }
    return Settings(**(values | overrides))


@pytest_asyncio.fixture(scope="session")
async def notifier_service(pg_dsn: str, amqp_url: str) -> AsyncIterator[Notifier]:
    namespace = broker.namespace("tntf")

    def make_app(dsn: str) -> web.Application:
        return create_app(settings(dsn, amqp_url, namespace))

    async with serve_harness(pg_dsn, "hspm_test_notifier", make_app, Notifier) as service:
        yield service


@pytest_asyncio.fixture
async def notifier(notifier_service: Notifier) -> Notifier:
    """The service, emptied."""
    await notifier_service.reset()
    return notifier_service


@pytest_asyncio.fixture(scope="session")
async def tight_service(pg_dsn: str, amqp_url: str) -> AsyncIterator[Notifier]:
    """A second app with small protocol limits: the window, the lag, the state check."""
    namespace = broker.namespace("tntft")
    limits = {"ws_window": 5, "ws_max_lag": 20, "ws_state_seconds": 0.2, "ws_heartbeat_seconds": 0.5}

    def make_app(dsn: str) -> web.Application:
        return create_app(settings(dsn, amqp_url, namespace, **limits))

    async with serve_harness(pg_dsn, "hspm_test_notifier_tight", make_app, Notifier) as service:
        yield service


@pytest_asyncio.fixture
async def tight(tight_service: Notifier) -> Notifier:
    await tight_service.reset()
    return tight_service
