"""A deleted user's products go with them: called directly and delivered through the bus."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from hspm.catalog.keys import settings_key
from hspm.catalog.products.consumers import on_user_deleted
from hspm.common.bus import Bus
from hspm.common.events import identity
from hspm.common.lifecycle import pool_key


async def _deliver(catalog, user_id: UUID) -> None:
    """Call the handler as the consumer does: on the service's pool, in one transaction."""
    async with catalog.client.server.app[pool_key].acquire() as conn, conn.transaction():
        await on_user_deleted(conn, identity.UserDeleted(user_id=user_id))


async def _products_of(catalog, user_id: UUID) -> int:
    return int(
        await (await catalog.db()).fetchval("SELECT count(*) FROM products WHERE user_id = $1", user_id)
    )


async def test_direct_call_deletes_only_that_users_products_and_emits(catalog) -> None:
    mine = [await catalog.make_product(catalog.isv) for _ in range(2)]
    other = await catalog.make_product(catalog.other_isv)
    child = await catalog.make_product(catalog.other_isv)
    await catalog.post("/products/{}/publish".format(child["id"]), catalog.operator)
    r = await catalog.post(
        "/sub_products", catalog.operator, {"parent_id": mine[0]["id"], "child_id": child["id"]}
    )
    assert r.status == 201, r
    mark = await catalog.outbox_mark()
    await _deliver(catalog, catalog.isv.user_id)
    assert await _products_of(catalog, catalog.isv.user_id) == 0
    assert (await catalog.get(f"/products/{other['id']}", catalog.other_isv)).status == 200
    assert (await catalog.get(f"/products/{child['id']}", None)).status == 200
    assert await (await catalog.db()).fetchval("SELECT count(*) FROM sub_products") == 0
    events = await catalog.events(mark)
    assert sorted((t, b["product_id"], b["owner_id"]) for t, b in events) == sorted(
        ("catalog.product.deleted", p["id"], str(catalog.isv.user_id)) for p in mine
    )


async def test_direct_call_for_a_user_without_products_is_a_no_op(catalog) -> None:
    await catalog.make_product(catalog.isv)
    mark = await catalog.outbox_mark()
    await _deliver(catalog, uuid4())
    assert await catalog.events(mark) == []
    assert await _products_of(catalog, catalog.isv.user_id) == 1


async def test_user_deleted_through_the_bus(catalog, amqp_url: str) -> None:
    await catalog.make_product(catalog.isv)
    namespace = catalog.client.server.app[settings_key].amqp_namespace
    bus = Bus(amqp_url, namespace, "test")
    await bus.connect()
    try:
        await bus.publish_event(identity.UserDeleted(user_id=catalog.isv.user_id, producer="identity"))
        # Delivery is asynchronous: wait (bounded) for the consumer's transaction to commit.
        for _ in range(200):
            if await _products_of(catalog, catalog.isv.user_id) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await bus.close()
    assert await _products_of(catalog, catalog.isv.user_id) == 0
    types = [t for t, _ in await catalog.events()]
    assert "catalog.product.deleted" in types
