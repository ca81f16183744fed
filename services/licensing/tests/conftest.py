"""Licensing tests: one database per session, emptied before each test; personas as principals.

Events are delivered the way the consumer delivers them (``outbox.handle_once`` on the
service's pool, one transaction), so redelivery and the handlers' effects are real. The
catalog and identity are stood in for by their events (``product``, ``child_of``,
``user``, ``member``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.common.auth import Principal
from hspm.common.events import catalog, identity
from hspm.common.testing import TEST_INTERNAL_SECRET, broker
from hspm.common.testing.harness import ServiceHarness, serve_harness
from hspm.licensing.app import create_app
from hspm.licensing.config import Settings
from hspm.licensing.consumers import HANDLERS

PUBLIC_URL = "http://marketplace.test"
STAFF_KEYS = frozenset(
    {
        "licenses.create", "licenses.read", "licenses.update", "licenses.delete",
        "product_licenses.create", "product_licenses.read", "product_licenses.update",
        "product_licenses.delete",
        "entitlements.create", "entitlements.read", "entitlements.update", "entitlements.delete",
        "claims.create", "claims.read", "claims.update", "claims.delete",
        "vouchers.create", "vouchers.read", "vouchers.update", "vouchers.delete",
        "attempts.read", "authorizations.create",
    }
)  # fmt: skip
AUDITOR_KEYS = frozenset(
    {"attempts.read", "claims.read", "entitlements.read", "licenses.read", "product_licenses.read"}
)
ISV_KEYS = frozenset({"products.create"})
TABLES = (
    "licenses, products, product_parents, users, memberships, product_licenses, entitlements, "
    "claims, vouchers, attempts, outbox, processed_events"
)


class Offer(NamedTuple):
    """A product license made by SQL: tests of other areas need one without the offers API."""

    id: UUID
    product_id: UUID
    license_id: UUID


def persona(keys: frozenset[str] | set[str] = frozenset(), name: str = "P", **kw: Any) -> Principal:
    return Principal(
        kind="user", user_id=uuid4(), session_id=uuid4(), name=name, permissions=frozenset(keys), **kw
    )


def new_signing_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode("ascii")


SIGNING_KEY = new_signing_key()


@dataclass
class Licensing(ServiceHarness):
    """The running service, its personas and its database."""

    admin: Principal = field(default_factory=lambda: persona({"everything.manage"}, name="Admin"))
    operator: Principal = field(default_factory=lambda: persona(STAFF_KEYS, name="Olga Operator"))
    auditor: Principal = field(default_factory=lambda: persona(AUDITOR_KEYS, name="Audrey Auditor"))
    isv: Principal = field(default_factory=lambda: persona(ISV_KEYS, name="Ivan ISV"))
    other_isv: Principal = field(default_factory=lambda: persona(ISV_KEYS, name="Olaf Other ISV"))
    customer: Principal = field(default_factory=lambda: persona(name="Carla Customer"))
    other_customer: Principal = field(default_factory=lambda: persona(name="Cody Customer"))
    handlers = HANDLERS

    # --- database and events --------------------------------------------------------------

    async def reset(self) -> None:
        await (await self.db()).execute(f"TRUNCATE {TABLES} CASCADE")
        for p in (self.customer, self.other_customer, self.isv, self.other_isv, self.operator):
            await self.user(p)

    # --- the catalog and identity, stood in for by their events ------------------------------

    async def product(
        self, owner: Principal | None = None, name: str = "P", product_id: UUID | None = None
    ) -> UUID:
        pid = product_id or uuid4()
        owner_id = (owner or self.isv).user_id
        assert owner_id is not None
        await self.deliver(catalog.ProductCreated(product_id=pid, owner_id=owner_id, name=name))
        return pid

    async def offer(
        self,
        owner: Principal | None = None,
        *,
        product_id: UUID | None = None,
        expiry: str = "indefinite",
        days_valid: int = 0,
        expires_at: datetime | None = None,
        uses: int = 0,
    ) -> Offer:
        """A product of ``owner`` (the ISV; or ``product_id``) offered under a new license, by SQL."""
        pid = product_id or await self.product(owner or self.isv)
        db = await self.db()
        license_id, offer_id = uuid4(), uuid4()
        await db.execute(
            "INSERT INTO licenses (id, name, url, expiry, days_valid, expires_at, uses) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            license_id,
            f"License {license_id}",
            f"https://licenses.test/{license_id}",
            expiry,
            days_valid,
            expires_at,
            uses,
        )
        await db.execute(
            "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)",
            offer_id,
            pid,
            license_id,
        )
        return Offer(offer_id, pid, license_id)

    async def child_of(self, parent_id: UUID, child_id: UUID) -> None:
        """A sub-product link: an entitlement to ``parent_id`` covers ``child_id``."""
        await self.deliver(catalog.ProductRelationAdded(parent_id=parent_id, child_id=child_id))

    async def user(self, p: Principal) -> UUID:
        assert p.user_id is not None
        await self.deliver(identity.UserCreated(user_id=p.user_id, name=p.name))
        return p.user_id

    async def member(self, group_id: UUID, p: Principal, member: bool = True) -> None:
        assert p.user_id is not None
        await self.deliver(identity.MembershipChanged(group_id=group_id, user_id=p.user_id, member=member))


def settings(dsn: str, amqp_url: str, namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "amqp_url": amqp_url,
        "amqp_namespace": namespace,
        "internal_secret": TEST_INTERNAL_SECRET,
        "public_url": PUBLIC_URL,
        "db_pool_min": 1,
        "db_pool_max": 8,
        "license_signing_key": SIGNING_KEY,
        # Tests run the expiry sweep themselves.
        "expiry_sweep_seconds": 0,
    }
    return Settings(**(values | overrides))


@pytest_asyncio.fixture(scope="session")
async def licensing_service(pg_dsn: str, amqp_url: str) -> AsyncIterator[Licensing]:
    namespace = broker.namespace("tlic")

    def make_app(dsn: str) -> web.Application:
        return create_app(settings(dsn, amqp_url, namespace))

    async with serve_harness(pg_dsn, "hspm_test_licensing", make_app, Licensing) as service:
        yield service


@pytest_asyncio.fixture
async def licensing(licensing_service: Licensing) -> Licensing:
    """The service, emptied, with the personas known as users."""
    await licensing_service.reset()
    return licensing_service
