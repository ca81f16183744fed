"""A product read is rendered once per change of the catalog, and never served stale: every
table the product's JSON is made from moves the generation, a scheduled publication ends
what was kept before it, and who may see the product is judged on every request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.products import handlers as products_handlers
from hspm.catalog.products import store
from hspm.catalog.products.shown import Shown, ShownCache
from hspm.catalog.stamped import Stamp
from hspm.common.testing import user

PAST = datetime.now(UTC) - timedelta(days=1)


def _cache(catalog: Any) -> ShownCache:
    return catalog.client.app[products_handlers.SHOWN]  # type: ignore[no-any-return]


async def _product(catalog: Any, name: str, owner: UUID | None = None, **when: Any) -> UUID:
    pid = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) VALUES ($1, $2, $3, $4, $5)",
        pid,
        owner or uuid4(),
        name,
        when.get("published_at", PAST),
        when.get("visible_at", PAST),
    )
    return pid


async def _read(catalog: Any, pid: UUID, who: Any = None) -> dict[str, Any]:
    reply = await catalog.get(f"/products/{pid}", who)
    assert reply.status == 200, reply
    return reply.body  # type: ignore[no-any-return]


async def test_the_same_product_again_comes_from_the_cache(catalog: Any) -> None:
    pid = await _product(catalog, "Sepsis Watch")
    cache = _cache(catalog)
    first = await _read(catalog, pid)
    hits = cache.hits
    assert await _read(catalog, pid) == first
    assert cache.hits == hits + 1


async def test_every_table_the_product_is_made_of_is_seen_by_the_next_read(catalog: Any) -> None:
    db = await catalog.db()
    pid = await _product(catalog, "Sepsis Watch")
    assert (await _read(catalog, pid))["name"] == "Sepsis Watch"

    await db.execute("UPDATE products SET name = 'Sepsis Guard' WHERE id = $1", pid)
    assert (await _read(catalog, pid))["name"] == "Sepsis Guard"

    bid = uuid4()
    await db.execute("INSERT INTO badges (id, name, description) VALUES ($1, 'Certified', 'x')", bid)
    await db.execute(
        "INSERT INTO badge_awards (id, badge_id, product_id) VALUES ($1, $2, $3)", uuid4(), bid, pid
    )
    assert (await _read(catalog, pid))["badges"] == [{"id": str(bid), "name": "Certified"}]
    await db.execute("UPDATE badges SET name = 'Gold' WHERE id = $1", bid)
    assert (await _read(catalog, pid))["badges"][0]["name"] == "Gold"

    lid = uuid4()
    await db.execute(
        "INSERT INTO product_license_offers (product_id, license_id, license_name) VALUES ($1, $2, 'Site')",
        pid,
        lid,
    )
    assert [o["license_id"] for o in (await _read(catalog, pid))["product_licenses"]] == [str(lid)]

    await db.execute("UPDATE products SET visible_at = NULL WHERE id = $1", pid)
    assert (await catalog.get(f"/products/{pid}")).status == 404
    await db.execute("DELETE FROM products WHERE id = $1", pid)
    assert (await catalog.get(f"/products/{pid}")).status == 404


async def test_an_uncommitted_change_is_not_kept_as_if_it_had_committed(catalog: Any) -> None:
    pid = await _product(catalog, "Sepsis Watch")
    writer = await asyncpg.connect(catalog.dsn)
    try:
        tx = writer.transaction()
        await tx.start()
        await writer.execute("UPDATE products SET name = 'Sepsis Guard' WHERE id = $1", pid)
        # Read (and kept) while the rename is in flight: the old name, rightly.
        assert (await _read(catalog, pid))["name"] == "Sepsis Watch"
        await tx.commit()
    finally:
        await writer.close()
    assert (await _read(catalog, pid))["name"] == "Sepsis Guard"


async def test_who_may_see_a_kept_draft_is_judged_on_every_request(catalog: Any) -> None:
    owner = uuid4()
    pid = await _product(catalog, "Sepsis Draft", owner=owner, published_at=None)
    as_owner = user({"products.create"}, user_id=owner)
    assert (await _read(catalog, pid, as_owner))["listed"] is False
    hits = _cache(catalog).hits
    # Kept now, yet still hidden from anyone else, and the same 404 as a missing product.
    assert (await catalog.get(f"/products/{pid}")).status == 404
    assert (await catalog.get(f"/products/{pid}", catalog.customer)).status == 404
    assert _cache(catalog).hits == hits + 2


async def test_the_stamp_names_the_moment_a_scheduled_showing_changes_the_product(catalog: Any) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    later = soon + timedelta(hours=1)
    conn = await catalog.db()
    scheduled = await _product(catalog, "Sepsis Soon", published_at=soon, visible_at=later)
    shown = await _product(catalog, "Sepsis Now")
    row = await store.get_product_stamped(conn, scheduled)
    assert row is not None and row["next_change"] == soon and row["listed"] is False
    row = await store.get_product_stamped(conn, shown)
    assert row is not None and row["next_change"] is None


def test_an_entry_is_served_only_under_its_generation_and_before_its_moment() -> None:
    now = datetime.now(UTC)
    cache, pid = ShownCache(1024), uuid4()
    cache.put(pid, Shown(uuid4(), True, b"{}"), Stamp(7, now + timedelta(seconds=5)))
    assert cache.get(pid, 7, now) is not None
    assert cache.get(pid, 8, now) is None
    assert cache.get(pid, 7, now + timedelta(seconds=5)) is None


def test_the_cache_keeps_within_its_bytes_the_least_recently_read_going_first() -> None:
    now, stamp = datetime.now(UTC), Stamp(1, None)
    cache = ShownCache(10)
    a, b, c, huge = uuid4(), uuid4(), uuid4(), uuid4()
    cache.put(a, Shown(uuid4(), True, b"aaaa"), stamp)
    cache.put(b, Shown(uuid4(), True, b"bbbb"), stamp)
    assert cache.get(a, 1, now) is not None  # a is now the most recently read
    cache.put(c, Shown(uuid4(), True, b"cccc"), stamp)
    assert cache.get(b, 1, now) is None and cache.get(a, 1, now) is not None
    cache.put(huge, Shown(uuid4(), True, b"x" * 11), stamp)  # larger than the cache: not kept
    assert cache.get(huge, 1, now) is None and cache.get(c, 1, now) is not None
    assert ShownCache(0).size == 0
