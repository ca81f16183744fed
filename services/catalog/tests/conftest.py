"""Catalog tests: one database per session, emptied before each test; personas as principals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest_asyncio
from aiohttp import web

from hspm.catalog.app import create_app
from hspm.catalog.builds.consumers import on_build_review_changed
from hspm.catalog.config import Settings
from hspm.common.auth import Principal
from hspm.common.events import curation
from hspm.common.testing import TEST_INTERNAL_SECRET, broker, served_on_own_database
from hspm.common.testing.client import ServiceClient

PUBLIC_URL = "http://marketplace.test"
OPERATOR_KEYS = frozenset(
    f"{r}.{v}"
    for r, verbs in {
        "products": ("create", "read", "update", "delete", "publish"),
        "builds": ("create", "read", "update", "delete", "validate"),
        "badges": ("create", "read", "update", "delete", "award"),
        "interfaces": ("create", "read", "update", "delete"),
        "sub_products": ("create", "read", "update", "delete"),
    }.items()
    for v in verbs
)


def persona(
    keys: frozenset[str] | set[str] = frozenset(), user_id: UUID | None = None, name: str = "P"
) -> Principal:
    return Principal(
        kind="user", user_id=user_id or uuid4(), session_id=uuid4(), name=name, permissions=frozenset(keys)
    )


@dataclass
class Catalog(ServiceClient):
    """The running catalog, its personas and its database."""

    dsn: str
    admin: Principal = field(default_factory=lambda: persona({"everything.manage"}, name="Admin"))
    operator: Principal = field(default_factory=lambda: persona(OPERATOR_KEYS, name="Operator"))
    # The ISV persona owns what it creates: implicit owner rights, only products.create.
    isv: Principal = field(
        default_factory=lambda: persona({"products.create", "validations.create"}, name="ISV")
    )
    other_isv: Principal = field(default_factory=lambda: persona({"products.create"}, name="Other ISV"))
    customer: Principal = field(default_factory=lambda: persona({"validations.create"}, name="Customer"))
    # The built-in Auditor role's catalog-relevant keys: reads reviews and recalls, changes nothing.
    auditor: Principal = field(
        default_factory=lambda: persona(
            {"products.read", "reviews.read", "validations.read", "recalls.read"}, name="Auditor"
        )
    )
    anonymous: None = None
    _conn: asyncpg.Connection | None = None

    async def db(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await asyncpg.connect(self.dsn)
        return self._conn

    async def events(self, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """Outbox rows written after id ``since``: ``(type, body)``."""
        rows = await (await self.db()).fetch("SELECT type, body FROM outbox WHERE id > $1 ORDER BY id", since)
        return [(r["type"], orjson.loads(r["body"])) for r in rows]

    async def outbox_mark(self) -> int:
        return int(await (await self.db()).fetchval("SELECT coalesce(max(id), 0) FROM outbox"))

    async def reset(self) -> None:
        await (await self.db()).execute(
            "TRUNCATE products, badges, interfaces, outbox, processed_events CASCADE"
        )

    async def make_product(self, who: Principal | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": f"Product {uuid4().hex[:8]}", "description": "A test product.", **fields}
        r = await self.post("/products", who or self.isv, {"product": body})
        assert r.status == 201, r
        return r.body  # type: ignore[no-any-return]

    async def sql_product(self, owner: Principal, listed: bool = True) -> str:
        """A product straight in SQL, listed (published and visible) or not, owned by ``owner``."""
        pid = uuid4()
        await (await self.db()).execute(
            "INSERT INTO products (id, user_id, name, published_at, visible_at) "
            "VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END, CASE WHEN $4 THEN now() END)",
            pid,
            owner.user_id,
            f"P {pid.hex[:8]}",
            listed,
        )
        return str(pid)

    async def review(self, build_id: str, product_id: str, state: str, **kw: Any) -> None:
        """Deliver curation's ``BuildReviewChanged`` as the consumer does: one transaction."""
        event = curation.BuildReviewChanged(
            build_id=UUID(build_id), product_id=UUID(product_id), state=state, **kw
        )
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.set_type_codec(
                "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
            )
            async with conn.transaction():
                await on_build_review_changed(conn, event)
        finally:
            await conn.close()


def settings(dsn: str, amqp_url: str, namespace: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=dsn,
        amqp_url=amqp_url,
        amqp_namespace=namespace,
        internal_secret=TEST_INTERNAL_SECRET,
        public_url=PUBLIC_URL,
        db_pool_min=1,
        db_pool_max=4,
        **overrides,
    )


@pytest_asyncio.fixture(scope="session")
async def catalog_service(pg_dsn: str, amqp_url: str) -> AsyncIterator[Catalog]:
    namespace = broker.namespace("tcat")

    def make_app(dsn: str) -> web.Application:
        return create_app(settings(dsn, amqp_url, namespace))

    async with served_on_own_database(pg_dsn, "hspm_test_catalog", make_app) as (client, dsn):
        service = Catalog(client=client, dsn=dsn)
        yield service
        if service._conn is not None:
            await service._conn.close()


@pytest_asyncio.fixture
async def catalog(catalog_service: Catalog) -> Catalog:
    """The catalog, emptied of products, badges, interfaces and events."""
    await catalog_service.reset()
    return catalog_service
