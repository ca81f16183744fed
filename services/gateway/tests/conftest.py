"""Gateway test fixtures: fake upstream services that keep identity's contract, and gateways.

Each fake service is a real aiohttp server on a loopback port. The "identity" one
serves a JWKS for an EC P-256 key made here, ``/internal/sessions/{sid}`` backed by a
dict the tests edit (to revoke or change permissions), ``/status`` and ``/openapi.json``.
Every service echoes any other request back as JSON, with the principal it received
(checked with ``verify_assertion``) and the headers, so tests see what crossed the edge.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives.asymmetric import ec

from hspm.common.auth import PRINCIPAL_HEADER, TOKEN_AUDIENCE, verify_assertion
from hspm.common.testing import TEST_INTERNAL_SECRET, broker
from hspm.common.web.openapi import PROBLEM_SCHEMA
from hspm.gateway.app import create_app
from hspm.gateway.config import Settings

ISSUER = "http://gateway.test"


# -- keys and tokens ---------------------------------------------------------------------


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return data | {"kid": self.kid, "alg": "ES256", "use": "sig"}


@dataclass
class Session:
    user_id: str
    name: str
    permissions: list[str]
    kind: str = "session"


@dataclass
class Identity:
    """What the fake identity knows: keys it publishes, sessions it vouches for."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey("key-1")])
    sessions: dict[str, Session] = field(default_factory=dict)
    lookups: int = 0
    looked_up: Counter[str] = field(default_factory=Counter)
    jwks_fetches: int = 0
    ws_closes: list[int | None] = field(default_factory=list)

    def new_session(self, permissions: list[str] | None = None, name: str = "Ada") -> tuple[str, str]:
        """A live session; returns (session id, user id)."""
        sid, uid = str(uuid.uuid4()), str(uuid.uuid4())
        self.sessions[sid] = Session(uid, name, list(permissions or []))
        return sid, uid

    def token(
        self,
        sid: str,
        uid: str,
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        lifetime: int = 3600,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """A token signed like identity signs them; keyword arguments override claims."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": uid,
            "sid": sid,
            "jti": sid,
            "kind": "session",
            "iat": now,
            "exp": now + lifetime,
        } | claims
        for name in drop:
            body.pop(name, None)
        signer = key or self.keys[0]
        return jwt.encode(body, signer.private, algorithm="ES256", headers={"kid": kid or signer.kid})

    def bearer(self, permissions: list[str] | None = None) -> tuple[dict[str, str], str, str]:
        """Authorization headers for a fresh session, its session id and its user id."""
        sid, uid = self.new_session(permissions)
        return {"Authorization": f"Bearer {self.token(sid, uid)}"}, sid, uid


# -- fake services -------------------------------------------------------------------------


def _principal(request: web.Request, service: str) -> dict[str, Any] | None:
    """The asserted caller, checked as the service ``service`` checks it (its own name)."""
    value = request.headers.get(PRINCIPAL_HEADER)
    if value is None:
        return None
    p = verify_assertion(value, TEST_INTERNAL_SECRET, audience=service)
    return {
        "kind": p.kind,
        "user_id": str(p.user_id) if p.user_id else None,
        "session_id": str(p.session_id) if p.session_id else None,
        "name": p.name,
        "permissions": sorted(p.permissions),
    }


def openapi_document(service: str) -> dict[str, Any]:
    """A small document per service: one public path, one internal, a clashing schema."""
    user_schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    if service == "catalog":
        user_schema = {"type": "object", "properties": {"login": {"type": "string"}}}
    ref = {"$ref": "#/components/schemas/User"}
    ok = {"description": "OK", "content": {"application/json": {"schema": ref}}}
    public = {
        "identity": "/users/{id}",
        "catalog": "/products/{id}",
        "curation": "/reviews",
        "licensing": "/licenses",
        "notifier": "/users/{user_id}/platforms",
    }[service]

    def params(path: str) -> list[dict[str, Any]]:
        return [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"\{(\w+)\}", path)
        ]

    return {
        "openapi": "3.1.0",
        "info": {"title": service, "version": "1"},
        "tags": [{"name": service}],
        "paths": {
            public: {
                "get": {
                    "operationId": f"{service}_get",
                    "tags": [service],
                    "parameters": params(public),
                    "responses": {"200": ok},
                }
            },
            "/internal/sessions/{sid}": {
                "get": {
                    "operationId": f"{service}_internal",
                    "parameters": params("/internal/sessions/{sid}"),
                    "responses": {"200": ok},
                }
            },
            "/healthz": {"get": {"operationId": f"{service}_healthz", "responses": {"200": ok}}},
        },
        "components": {
            "schemas": {
                "User": user_schema,
                "UserList": {"type": "array", "items": ref},
                "Problem": PROBLEM_SCHEMA,
            }
        },
    }


class FakeService:
    """One upstream service; every instance also keeps identity's side of the contract."""

    def __init__(self, name: str, identity: Identity) -> None:
        self.name = name
        self.identity = identity

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_get("/.well-known/jwks.json", self.jwks)
        app.router.add_get("/internal/sessions/{sid}", self.internal_session)
        app.router.add_get("/status", self.status)
        app.router.add_get("/users/slow", self.slow)
        app.router.add_get("/users/big", self.big)
        app.router.add_post("/products/created", self.created)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def openapi(self, _: web.Request) -> web.Response:
        return web.json_response(openapi_document(self.name))

    async def jwks(self, _: web.Request) -> web.Response:
        self.identity.jwks_fetches += 1
        return web.json_response({"keys": [k.jwk() for k in self.identity.keys]})

    async def internal_session(self, request: web.Request) -> web.Response:
        caller = _principal(request, self.name)
        assert caller is not None and caller["kind"] == "service" and caller["name"] == "gateway"
        sid = request.match_info["sid"]
        self.identity.lookups += 1
        self.identity.looked_up[sid] += 1
        session = self.identity.sessions.get(sid)
        if session is None:
            return web.json_response({"message": "no such session"}, status=404)
        expires = datetime.now(UTC) + timedelta(hours=1)
        return web.json_response(
            {
                "session_id": sid,
                "user_id": session.user_id,
                "name": session.name,
                "kind": session.kind,
                "expires_at": expires.isoformat(),
                "permissions": session.permissions,
            }
        )

    async def status(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC).isoformat()
        body: dict[str, Any] = {
            "message": "This application server and underlying database connection appear to be healthy.",
            "product": {"datetime": now},
            "database": {"datetime": now},
        }
        principal = _principal(request, self.name)
        if principal is not None and principal["kind"] == "user":
            body["identity"] = {"id": principal["user_id"], "name": principal["name"]}
            body["permissions"] = principal["permissions"]
        return web.json_response(body)

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "5")))
        return web.json_response({"slow": True})

    async def big(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size", str(3 * 1024 * 1024)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = bytes(range(256)) * 256
        sent = 0
        while sent < size:
            part = chunk[: size - sent]
            await response.write(part)
            sent += len(part)
        await response.write_eof()
        return response

    async def created(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"id": "new"},
            status=201,
            headers={
                "Location": f"http://{request.host}/products/new",
                "Set-Cookie": "upstream=1; Path=/",
            },
        )

    async def echo(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.socket(request)
        body = await request.read()
        return web.json_response(
            {
                "service": self.name,
                "method": request.method,
                "path": request.raw_path.split("?")[0],
                "query": request.query_string,
                "headers": dict(request.headers),
                "principal": _principal(request, self.name),
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("hspm.v1",))
        await ws.prepare(request)
        await ws.send_json(
            {
                "service": self.name,
                "query": request.query_string,
                "principal": _principal(request, self.name),
                "request_id": request.headers.get("X-Request-ID"),
                "authorization": request.headers.get("Authorization"),
                "protocols": request.headers.get("Sec-WebSocket-Protocol"),
            }
        )
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and msg.data.startswith("close:"):
                await ws.close(code=int(msg.data.split(":")[1]))
            elif msg.type is WSMsgType.TEXT:
                await ws.send_str("echo:" + msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        self.identity.ws_closes.append(ws.close_code)
        return ws


@dataclass
class Running:
    """A server on a loopback port, with a client pointed at it."""

    runner: web.AppRunner
    url: str
    http: aiohttp.ClientSession

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def close(self) -> None:
        await self.http.close()
        await self.runner.cleanup()


async def serve(app: web.Application) -> Running:
    """Start ``app`` on a free loopback port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    return Running(runner, url, aiohttp.ClientSession(base_url=url))


@dataclass
class Upstreams:
    identity: Identity
    servers: dict[str, Running]

    def urls(self) -> dict[str, str]:
        return {f"{name}_url": server.url for name, server in self.servers.items()}


@pytest_asyncio.fixture(scope="session")
async def upstreams() -> AsyncIterator[Upstreams]:
    """identity, catalog, curation, licensing and notifier, each a fake on its own port."""
    identity = Identity()
    servers = {
        name: await serve(FakeService(name, identity).app())
        for name in ("identity", "catalog", "curation", "licensing", "notifier")
    }
    yield Upstreams(identity, servers)
    for server in servers.values():
        await server.close()


@pytest.fixture(scope="session")
def identity(upstreams: Upstreams) -> Identity:
    return upstreams.identity


@pytest.fixture(scope="session")
def make_key() -> Callable[[str], SigningKey]:
    """A new EC P-256 signing key with the given key id."""
    return SigningKey


@pytest.fixture(scope="session")
def gateway_settings(upstreams: Upstreams, amqp_url: str) -> Callable[..., Settings]:
    """Settings for a gateway in front of the fakes; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "internal_secret": TEST_INTERNAL_SECRET,
            "amqp_url": amqp_url,
            "amqp_namespace": broker.namespace("gw"),
            "token_issuer": ISSUER,
            "web_url": "",
            "rate_limit_per_minute": 600_000,
            "rate_limit_burst": 100_000,
            "upstream_timeout": 1.5,
            "jwks_refetch_seconds": 1.0,
            "log_json": True,
            **upstreams.urls(),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest_asyncio.fixture(scope="session")
async def shared_namespace() -> str:
    return broker.namespace("gw")


@pytest_asyncio.fixture(scope="session", params=[True, False], ids=["lean", "aiohttp-client"])
async def gateway(
    request: pytest.FixtureRequest, gateway_settings: Callable[..., Settings], shared_namespace: str
) -> AsyncIterator[Running]:
    """The gateway most tests talk to, once with each upstream client (ADR 16)."""
    settings = gateway_settings(amqp_namespace=shared_namespace, lean_upstream=request.param)
    running = await serve(create_app(settings))
    yield running
    await running.close()


@pytest_asyncio.fixture(scope="session")
async def gateway_b(
    gateway_settings: Callable[..., Settings], shared_namespace: str
) -> AsyncIterator[Running]:
    """A second replica on the same bus, for cross-replica invalidation."""
    running = await serve(create_app(gateway_settings(amqp_namespace=shared_namespace)))
    yield running
    await running.close()


@pytest_asyncio.fixture
async def start_gateway(
    gateway_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Any]]:
    """Start a gateway with particular settings for one test; stopped afterwards."""
    started: list[Running] = []

    async def start(**overrides: Any) -> Running:
        running = await serve(create_app(gateway_settings(**overrides)))
        started.append(running)
        return running

    yield start
    for running in started:
        await running.close()
