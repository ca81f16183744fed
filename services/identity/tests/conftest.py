"""Fixtures of the identity service's tests: the running app, personas, a fake IdP, helpers.

``identity`` is the real app (real PostgreSQL and RabbitMQ) wiped back to its freshly
migrated state before each test; ``shared_identity`` is one app per module for tests
that only expect refusals; ``start_identity`` runs one on a given database (``fresh_db``)
with given settings. ``pg_dsn``, ``amqp_url`` and ``fresh_db`` come from the
``hspm.common.testing.plugin`` entry point. Test modules cannot import this file
(``--import-mode=importlib``), so everything they need hangs off the fixtures:
``identity.admin``, ``identity.get(...)``, ``identity.events_since(...)``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import aio_pika
import asyncpg
import jwt
import orjson
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from hspm.common import permissions
from hspm.common.auth import Principal, service_principal
from hspm.common.testing import TEST_INTERNAL_SECRET, broker, unique, user
from hspm.common.testing.client import Reply, ServiceClient
from hspm.identity.app import create_app
from hspm.identity.config import Settings
from hspm.identity.signing import generate_private_key_pem

PUBLIC_URL = "http://marketplace.test"

OPERATOR = UUID("00000000-0000-4000-8000-000000000002")
ISV = UUID("00000000-0000-4000-8000-000000000003")
CUSTOMER = UUID("00000000-0000-4000-8000-000000000004")
AUDITOR = UUID("00000000-0000-4000-8000-000000000005")


@dataclass
class Identity(ServiceClient):
    """The running identity service and what its tests need around it."""

    dsn: str
    signing_key: str
    role_keys: dict[UUID, frozenset[str]]
    builtin_roles: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    _conn: asyncpg.Connection | None = field(default=None, repr=False)

    # --- personas: principals as the gateway would assert them -------------------------

    @property
    def anonymous(self) -> None:
        return None

    @property
    def admin(self) -> Principal:
        return user([permissions.MANAGE], name="Admin")

    @property
    def operator(self) -> Principal:
        return user(self.role_keys[OPERATOR], name="Operator")

    @property
    def isv(self) -> Principal:
        return user(self.role_keys[ISV], name="ISV")

    @property
    def customer(self) -> Principal:
        return user(self.role_keys[CUSTOMER], name="Customer")

    @property
    def auditor(self) -> Principal:
        return user(self.role_keys[AUDITOR], name="Auditor")

    @property
    def gateway(self) -> Principal:
        return service_principal("gateway")

    def persona(self, name: str) -> Principal | None:
        return getattr(self, name)  # type: ignore[no-any-return]

    def as_user(self, user_id: UUID | str, keys: frozenset[str] | set[str] | None = None) -> Principal:
        """A real user's principal; by default with the Customer role's keys."""
        return user(self.role_keys[CUSTOMER] if keys is None else keys, user_id=UUID(str(user_id)))

    # --- building blocks through the API --------------------------------------------------

    async def make_user(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        r = await self.post(
            "/users", self.admin, {"user": {"name": name or f"User {uuid4().hex[:8]}", **fields}}
        )
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def make_group(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        r = await self.post(
            "/groups", self.admin, {"group": {"name": name or f"Group {uuid4().hex[:8]}", **fields}}
        )
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def make_role(
        self, perms: dict[str, Any], name: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name or f"Role {uuid4().hex[:8]}", "permissions": perms, **fields}
        r = await self.post("/roles", self.admin, {"role": body})
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def make_idp(self, **fields: Any) -> dict[str, Any]:
        n = uuid4().hex[:8]
        body = {
            "name": f"IdP {n}",
            "issuer": f"https://idp-{n}.example",
            "client_id": f"client-{n}",
            "client_secret": f"secret-{n}",
            **fields,
        }
        r = await self.post("/identity_providers", self.admin, {"identity_provider": body})
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def appoint(
        self, role_id: UUID | str, entity_id: UUID | str, entity_type: str = "User"
    ) -> dict[str, Any]:
        r = await self.post(
            f"/roles/{role_id}/appointments",
            self.admin,
            {"appointment": {"entity_id": str(entity_id), "entity_type": entity_type}},
        )
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def add_member(self, group_id: UUID | str, user_id: UUID | str) -> dict[str, Any]:
        r = await self.post(f"/groups/{group_id}/members", self.admin, {"member": {"user_id": str(user_id)}})
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def make_token(self, user_id: UUID | str, **fields: Any) -> dict[str, Any]:
        """An API token the user mints for themself; its ``id`` is a session id."""
        body = {"name": "test token", **fields}
        r = await self.post(f"/users/{user_id}/api_tokens", self.as_user(user_id, set()), {"api_token": body})
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def session(self, session_id: UUID | str) -> dict[str, Any] | None:
        """The gateway's view of a session: its principal document, or None when refused."""
        r = await self.get(f"/internal/sessions/{session_id}", self.gateway)
        if r.status == 404:
            return None
        assert r.status == 200, r
        return r.body  # type: ignore[no-any-return]

    async def effective(self, user_id: UUID | str) -> set[str]:
        """A user's effective permissions, read the way the gateway reads them."""
        token = await self.make_token(user_id)
        doc = await self.session(token["id"])
        assert doc is not None
        return set(doc["permissions"])

    # --- the database -------------------------------------------------------------------

    async def db(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await asyncpg.connect(self.dsn)
        return self._conn

    async def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        """Every event written so far, in order: ``(type, body)``."""
        rows = await (await self.db()).fetch("SELECT type, body FROM outbox ORDER BY id")
        return [(r["type"], orjson.loads(r["body"])) for r in rows]

    async def outbox_mark(self) -> int:
        return int(await (await self.db()).fetchval("SELECT coalesce(max(id), 0) FROM outbox"))

    async def events_since(self, mark: int) -> list[tuple[str, dict[str, Any]]]:
        rows = await (await self.db()).fetch("SELECT type, body FROM outbox WHERE id > $1 ORDER BY id", mark)
        return [(r["type"], orjson.loads(r["body"])) for r in rows]

    async def written_with(
        self, table: str, row_id: UUID | str, mark: int, column: str = "updated_at"
    ) -> bool:
        """Whether the events since ``mark`` committed in the transaction that wrote the row.

        ``now()`` is the transaction's start time, so a row stamped by it and the outbox
        rows (``created_at DEFAULT now()``) carry the same instant only when written
        together. (``xmin`` would not do: the relay updates outbox rows once published.)
        """
        conn = await self.db()
        stamp = await conn.fetchval(f"SELECT {column} FROM {table} WHERE id = $1", UUID(str(row_id)))
        stamps = {r[0] for r in await conn.fetch("SELECT created_at FROM outbox WHERE id > $1", mark)}
        return stamp is not None and stamps == {stamp}

    async def reset(self) -> None:
        """Back to the migration's state: built-in roles only, no events."""
        conn = await self.db()
        async with conn.transaction():
            # Users, groups and providers cascade to identities, members, appointments,
            # sessions and logins in flight.
            await conn.execute(
                """DELETE FROM users; DELETE FROM groups; DELETE FROM identity_providers;
                   DELETE FROM roles WHERE NOT builtin; DELETE FROM appointments;
                   DELETE FROM sessions; DELETE FROM oidc_logins; DELETE FROM outbox;
                   DELETE FROM processed_events; DELETE FROM device_authorizations"""
            )
            await conn.executemany(
                """INSERT INTO roles (id, name, description, "default", permissions, builtin)
                   VALUES ($1, $2, $3, $4, $5::jsonb, true)
                   ON CONFLICT (id) DO UPDATE SET name = $2, description = $3, "default" = $4,
                       permissions = $5::jsonb, builtin = true, updated_at = now()""",
                self.builtin_roles,
            )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


AiohttpClient = Callable[..., Awaitable[TestClient]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Scope one warning filter to this service's tests.

    ``hspm.common.web.app.context_middleware`` stores the request id under a plain
    string key, which aiohttp 3.14 reports as ``NotAppKeyWarning``
    (https://docs.aiohttp.org/en/stable/web_advanced.html#request-s-storage). That
    file is the common library's; until it uses a ``web.RequestKey`` the warning is
    not an identity failure.
    """
    here = str(Path(__file__).parent)
    mark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(mark)


def make_settings(
    database_url: str, amqp_url: str, amqp_namespace: str, signing_key: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "amqp_namespace": amqp_namespace,
        "internal_secret": TEST_INTERNAL_SECRET,
        "signing_key": signing_key,
        "public_url": PUBLIC_URL,
        "db_pool_min": 1,
        "db_pool_max": 4,
    }
    return Settings(**(values | overrides))


@pytest_asyncio.fixture(scope="session")
async def amqp_janitor(amqp_url: str) -> AsyncIterator[AbstractChannel]:
    """A channel that deletes an app's exchange once the app has stopped publishing."""
    connection = await aio_pika.connect(amqp_url)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


@asynccontextmanager
async def running_identity(
    database_url: str,
    amqp_url: str,
    janitor: AbstractChannel,
    signing_key: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Identity]:
    """The identity service on ``database_url`` (created and migrated at startup)."""
    key = signing_key or generate_private_key_pem()
    namespace = broker.namespace("t")
    app = create_app(make_settings(database_url, amqp_url, namespace, key, **overrides))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        conn = await asyncpg.connect(database_url)
        rows = await conn.fetch(
            'SELECT id, name, description, "default", permissions FROM roles WHERE builtin'
        )
        keys = {r["id"]: frozenset(permissions.granted(orjson.loads(r["permissions"]))) for r in rows}
        harness = Identity(
            client, database_url, key, keys, builtin_roles=[tuple(r) for r in rows], _conn=conn
        )
        try:
            yield harness
        finally:
            await harness.close()
    finally:
        await client.close()
        # The namespace is this app's alone: drop its exchange rather than leave it behind.
        await janitor.exchange_delete(f"{namespace}.events")


@asynccontextmanager
async def scratch_database(pg_dsn: str) -> AsyncIterator[str]:
    """The DSN of a database that does not exist yet, dropped (if created) afterwards."""
    name = unique("hspm_test")
    yield urlunsplit(urlsplit(pg_dsn)._replace(path="/" + name))
    conn = await asyncpg.connect(urlunsplit(urlsplit(pg_dsn)._replace(path="/postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


StartIdentity = Callable[..., AbstractAsyncContextManager[Identity]]


@pytest.fixture
def start_identity(amqp_url: str, amqp_janitor: AbstractChannel) -> StartIdentity:
    """``async with start_identity(dsn, key, **settings) as api``: a service on a given database."""

    def start(
        database_url: str, signing_key: str | None = None, **overrides: Any
    ) -> AbstractAsyncContextManager[Identity]:
        return running_identity(database_url, amqp_url, amqp_janitor, signing_key, **overrides)

    return start


@pytest_asyncio.fixture(scope="session")
async def identity_service(
    pg_dsn: str, amqp_url: str, amqp_janitor: AbstractChannel
) -> AsyncIterator[Identity]:
    """One running identity service for the session; ``identity`` wipes it per test."""
    async with scratch_database(pg_dsn) as dsn, running_identity(dsn, amqp_url, amqp_janitor) as harness:
        yield harness


@pytest_asyncio.fixture
async def identity(identity_service: Identity) -> Identity:
    """The identity service, emptied back to its freshly migrated state for this test.

    A new database per test (``fresh_db``) costs 0.3-1 s of fsync on a busy host; one
    database wiped in a single transaction gives the same clean slate in milliseconds.
    The wipe mirrors what the migration leaves: the five built-in roles and nothing else.
    """
    await identity_service.reset()
    return identity_service


@pytest_asyncio.fixture(scope="module")
async def shared_identity(
    pg_dsn: str, amqp_url: str, amqp_janitor: AbstractChannel
) -> AsyncIterator[Identity]:
    """One identity service for a whole module, for tests that only expect refusals.

    A refused request changes nothing, so hundreds of them can share one set of rows
    created once; anything that writes uses ``identity`` instead.
    """
    async with scratch_database(pg_dsn) as dsn, running_identity(dsn, amqp_url, amqp_janitor) as harness:
        yield harness


# --- a fake OpenID Connect provider ---------------------------------------------------------


@dataclass
class FakeIdP:
    """Discovery, JWKS and a token endpoint that checks PKCE, like a real IdP would."""

    base: str = ""
    client_id: str = "marketplace"
    client_secret: str = "fake-secret"
    kid: str = "fake-key-1"
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    # What the discovery document leaves out or changes, to play a broken IdP.
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    # An HTML page instead of JSON from discovery or the token endpoint, as proxies send.
    html_from: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # Run while each request is being answered (what is the caller doing meanwhile?).
    probe: Callable[[], Awaitable[Any]] | None = None
    probed: list[Any] = field(default_factory=list)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._probing])
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_post("/token", self._token)
        return app

    @web.middleware
    async def _probing(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.probe is not None:
            self.probed.append(await self.probe())
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _html(status: int) -> web.Response:
        return web.Response(
            status=status, text="<html><body>Bad gateway</body></html>", content_type="text/html"
        )

    async def _discovery(self, _: web.Request) -> web.Response:
        if "discovery" in self.html_from:
            return self._html(200)
        doc = {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
        } | self.discovery_overrides
        return web.json_response({k: v for k, v in doc.items() if v is not None})

    async def _jwks(self, _: web.Request) -> web.Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response({"keys": [jwk | {"kid": self.kid, "alg": "RS256", "use": "sig"}]})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        if "token" in self.html_from:
            return self._html(502)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_grant"}, status=400)
        digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        return web.json_response(
            {"access_token": "opaque", "token_type": "Bearer", "id_token": grant["id_token"]}
        )


@dataclass
class Oidc:
    """The fake IdP registered (enabled) at the identity service, and a login helper."""

    identity: Identity
    fake: FakeIdP
    idp: dict[str, Any]
    # The code and state of the latest callback, to replay it.
    last_callback: dict[str, str] = field(default_factory=dict)

    async def begin(self) -> dict[str, str]:
        """Follow ``/identity_providers/{id}/redirect``; returns the authorization query."""
        r = await self.identity.get(f"/identity_providers/{self.idp['id']}/redirect")
        assert r.status == 302, r
        location = URL(r.headers["Location"])
        assert str(location.with_query(None)) == f"{self.fake.base}/authorize"
        return dict(location.query)

    async def login(self, sub: str, nonce: str | None = None, **claims: Any) -> Reply:
        """A whole login: redirect, the user consents, the IdP calls back with a code."""
        self.consent(await self.begin(), sub, nonce, **claims)
        return await self.identity.get("/sessions", params=self.last_callback)

    def consent(
        self, query: dict[str, str], sub: str, nonce: str | None = None, **claims: Any
    ) -> dict[str, str]:
        """The user consents at the IdP: the callback's ``code`` and ``state`` (also ``last_callback``)."""
        now = int(time.time())
        id_claims = {
            "iss": self.fake.base,
            "aud": self.fake.client_id,
            "sub": sub,
            "nonce": query["nonce"] if nonce is None else nonce,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        code = secrets.token_urlsafe(12)
        self.fake.codes[code] = {"challenge": query["code_challenge"], "id_token": self.fake.sign(id_claims)}
        self.last_callback = {"code": code, "state": query["state"]}
        return self.last_callback


AiohttpServer = Callable[..., Awaitable[TestServer]]


OidcFor = Callable[[Identity], Awaitable[Oidc]]


@pytest.fixture
def oidc_for(aiohttp_server: AiohttpServer) -> OidcFor:
    """``await oidc_for(api)``: a fake IdP, running and registered at ``api``."""

    async def start(api: Identity) -> Oidc:
        fake = FakeIdP()
        server = await aiohttp_server(fake.app())
        fake.base = str(server.make_url("")).rstrip("/")
        idp = await api.make_idp(
            name="Fake IdP", issuer=fake.base, client_id=fake.client_id, client_secret=fake.client_secret
        )
        return Oidc(api, fake, idp)

    return start


@pytest_asyncio.fixture
async def oidc(identity: Identity, oidc_for: OidcFor) -> Oidc:
    """A fake IdP registered (and enabled) at the ``identity`` service."""
    return await oidc_for(identity)
