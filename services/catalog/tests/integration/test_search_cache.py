"""The search result cache: reused while the catalog is unchanged, never a stale page.

Real PostgreSQL under the catalog app. Each change a search can show (a product's name,
its publication, a badge award, a license offer, a truncation) comes from a write made
beside the service, as another replica or a consumer would make it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.search import handlers as search_handlers
from hspm.catalog.search import store
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.search.service import ResultCache, Results
from hspm.catalog.stamped import Stamp
from hspm.common.paging import PageParams

PAST = datetime.now(UTC) - timedelta(days=1)


def _cache(catalog: Any) -> ResultCache:
    return catalog.client.app[search_handlers.RESULTS]  # type: ignore[no-any-return]


async def _product(catalog: Any, name: str, **when: Any) -> UUID:
    pid = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) VALUES ($1, $2, $3, $4, $5)",
        pid,
        uuid4(),
        name,
        when.get("published_at", PAST),
        when.get("visible_at", PAST),
    )
    return pid


async def _search(catalog: Any, text: str, **body: Any) -> dict[str, Any]:
    reply = await catalog.post("/products/search", None, {"text": text, **body})
    assert reply.status == 200, reply
    return reply.body  # type: ignore[no-any-return]


def _names(body: dict[str, Any]) -> list[str]:
    return [r["name"] for r in body["results"]]


async def test_the_same_search_again_comes_from_the_cache(catalog: Any) -> None:
    await _product(catalog, "Sepsis Watch")
    cache = _cache(catalog)
    first = await _search(catalog, "sepsis", facets=["mime_type"])
    hits = cache.hits
    again = await _search(catalog, "sepsis", facets=["mime_type"])
    assert again == first
    assert cache.hits == hits + 1
    # Another page, sort or facet is another entry.
    await _search(catalog, "sepsis")
    assert cache.hits == hits + 1


async def test_every_kind_of_change_is_seen_by_the_next_search(catalog: Any) -> None:
    db = await catalog.db()
    pid = await _product(catalog, "Sepsis Watch")
    assert _names(await _search(catalog, "sepsis")) == ["Sepsis Watch"]

    await db.execute("UPDATE products SET name = 'Sepsis Guard' WHERE id = $1", pid)
    assert _names(await _search(catalog, "sepsis")) == ["Sepsis Guard"]

    bid = uuid4()
    await db.execute("INSERT INTO badges (id, name, description) VALUES ($1, 'Certified', 'x')", bid)
    await db.execute(
        "INSERT INTO badge_awards (id, badge_id, product_id) VALUES ($1, $2, $3)", uuid4(), bid, pid
    )
    assert (await _search(catalog, "sepsis"))["results"][0]["badges"] == [
        {"id": str(bid), "name": "Certified"}
    ]

    await db.execute("UPDATE badges SET name = 'Gold' WHERE id = $1", bid)
    assert (await _search(catalog, "sepsis"))["results"][0]["badges"][0]["name"] == "Gold"

    lid = uuid4()
    await db.execute(
        "INSERT INTO product_license_offers (product_id, license_id, license_name) VALUES ($1, $2, 'Site')",
        pid,
        lid,
    )
    found = await _search(catalog, "sepsis", license_id=str(lid), facets=["license"])
    assert _names(found) == ["Sepsis Guard"] and found["facets"]["license"][0]["count"] == 1

    await db.execute("UPDATE products SET visible_at = NULL WHERE id = $1", pid)
    assert _names(await _search(catalog, "sepsis")) == []

    await db.execute("UPDATE products SET visible_at = $2 WHERE id = $1", pid, PAST)
    assert _names(await _search(catalog, "sepsis")) == ["Sepsis Guard"]
    await db.execute("TRUNCATE products CASCADE")
    assert _names(await _search(catalog, "sepsis")) == []


async def test_an_uncommitted_change_is_not_cached_as_if_it_had_committed(catalog: Any) -> None:
    pid = await _product(catalog, "Sepsis Watch")
    writer = await asyncpg.connect(catalog.dsn)
    try:
        tx = writer.transaction()
        await tx.start()
        await writer.execute("UPDATE products SET name = 'Sepsis Guard' WHERE id = $1", pid)
        # Read (and cached) while the rename is in flight: the old name, rightly.
        assert _names(await _search(catalog, "sepsis")) == ["Sepsis Watch"]
        await tx.commit()
    finally:
        await writer.close()
    assert _names(await _search(catalog, "sepsis")) == ["Sepsis Guard"]


async def test_a_scheduled_publication_ends_what_was_cached_before_it(catalog: Any) -> None:
    conn = await catalog.db()
    soon = datetime.now(UTC) + timedelta(hours=1)
    later = soon + timedelta(hours=1)
    await _product(catalog, "Sepsis Soon", published_at=soon)
    await _product(catalog, "Sepsis Later", visible_at=later)
    await _product(catalog, "Sepsis Now")
    assert _names(await _search(catalog, "sepsis")) == ["Sepsis Now"]
    # The stamp names the earliest moment time alone changes the result.
    query = SearchQuery(page=PageParams(1, 10, "relevance", "DESC"), text="sepsis")
    *_, stamp = await store.search(conn, query, Viewer())
    assert stamp.next_change == soon


def test_an_entry_is_served_only_under_its_generation_and_before_its_moment() -> None:
    cache = ResultCache(2)
    now = datetime.now(UTC)
    page = PageParams(1, 10, "name", "ASC")
    key = (SearchQuery(page=page, text="a"), Viewer(), ())
    results = Results([], 0)
    cache.put(key, results, Stamp(7, now + timedelta(seconds=5)))
    assert cache.get(key, 7, now) is results
    assert cache.get(key, 8, now) is None
    assert cache.get(key, 7, now + timedelta(seconds=5)) is None
    # Least recently used goes first, and a size of 0 keeps nothing.
    for text in ("b", "c"):
        cache.put((SearchQuery(page=page, text=text), Viewer(), ()), results, Stamp(7, None))
    assert cache.get(key, 7, now) is None
    empty = ResultCache(0)
    empty.put(key, results, Stamp(7, None))
    assert empty.get(key, 7, now) is None


async def test_writers_in_opposite_orders_do_not_deadlock_on_the_generation(catalog: Any) -> None:
    """Each transaction counts its change at commit, after its other locks: two writers
    crossing over the same two rows wait for each other as before, and both commit."""
    a = await _product(catalog, "Product A")
    b = await _product(catalog, "Product B")
    one, two = await asyncpg.connect(catalog.dsn), await asyncpg.connect(catalog.dsn)
    try:
        first, second = one.transaction(), two.transaction()
        await first.start()
        await second.start()
        await asyncio.wait_for(one.execute("UPDATE products SET description = 'one' WHERE id = $1", a), 30)
        await asyncio.wait_for(two.execute("UPDATE products SET description = 'two' WHERE id = $1", b), 30)
        # one now waits for two's row; two commits, counting its change, then one goes on.
        blocked = asyncio.create_task(one.execute("UPDATE products SET description = 'one' WHERE id = $1", b))
        await asyncio.sleep(0.2)
        await second.commit()
        await asyncio.wait_for(blocked, 30)
        await first.commit()
    finally:
        await one.close()
        await two.close()
    generation = await (await catalog.db()).fetchval("SELECT n FROM search_generation")
    assert generation >= 2
