"""Licensing's offers in the catalog: the copy kept from LicenseOffered / LicenseWithdrawn,
embedded in products as ``product_licenses`` and read by the license filter and facet."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.consumers import HANDLERS
from hspm.catalog.keys import settings_key
from hspm.common import outbox
from hspm.common.bus import Bus
from hspm.common.events import licensing
from hspm.common.events.base import Event
from hspm.common.lifecycle import pool_key

BASE = "http://marketplace.test"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def deliver(catalog: Any, event: Event) -> None:
    """The handler the catalog registered for the event, as its consumer runs it: one
    transaction on the service's pool (without ``handle_once``, so a redelivery is real)."""
    async with catalog.client.server.app[pool_key].acquire() as conn, conn.transaction():
        await HANDLERS[type(event)](conn, event)


def offered(
    pid: Any, lid: UUID, name: str, plid: UUID | None = None, at: datetime = T0
) -> licensing.LicenseOffered:
    return licensing.LicenseOffered(
        product_license_id=plid or uuid4(),
        product_id=UUID(str(pid)),
        license_id=lid,
        license_name=name,
        occurred_at=at,
        producer="licensing",
    )


def withdrawn(event: licensing.LicenseOffered, at: datetime = T0) -> licensing.LicenseWithdrawn:
    return licensing.LicenseWithdrawn(
        product_license_id=event.product_license_id,
        product_id=event.product_id,
        license_id=event.license_id,
        occurred_at=at,
        producer="licensing",
    )


async def copy(catalog: Any) -> list[tuple[str, str, str, str | None]]:
    rows = await (await catalog.db()).fetch(
        "SELECT product_id, license_id, license_name, product_license_id FROM product_license_offers "
        "ORDER BY product_id, license_id"
    )
    return [
        (
            str(r["product_id"]),
            str(r["license_id"]),
            r["license_name"],
            r["product_license_id"] and str(r["product_license_id"]),
        )
        for r in rows
    ]


async def embedded(catalog: Any, pid: str, who: Any = None) -> list[dict[str, Any]]:
    r = await catalog.get(f"/products/{pid}", who)
    assert r.status == 200, r
    return r.body["product_licenses"]  # type: ignore[no-any-return]


async def by_license(catalog: Any, lid: UUID, who: Any = None) -> list[str]:
    r = await catalog.get(f"/products?license_id={lid}", who)
    assert r.status == 200, r
    return [p["id"] for p in r.body["results"]]


async def license_facet(catalog: Any, who: Any = None, query: str = "") -> list[dict[str, Any]]:
    r = await catalog.get(f"/products?facets=license{query}", who)
    assert r.status == 200, r
    return r.body["facets"]["license"]  # type: ignore[no-any-return]


def link(pid: str, plid: UUID) -> str:
    return f"{BASE}/products/{pid}/licenses/{plid}"


# --- offer, rename, withdraw ------------------------------------------------------------


async def test_an_offer_is_embedded_filtered_and_counted(catalog) -> None:
    pid, other = await catalog.sql_product(catalog.isv), await catalog.sql_product(catalog.other_isv)
    mit, apache = uuid4(), uuid4()
    first = offered(pid, mit, "MIT")
    await deliver(catalog, first)
    await deliver(catalog, offered(pid, apache, "Apache 2.0"))
    await deliver(catalog, offered(other, mit, "MIT"))
    found = await embedded(catalog, pid)
    assert found[1] == {
        "id": str(first.product_license_id),
        "product_id": pid,
        "license_id": str(mit),
        "name": "MIT",
        "path": f"/products/{pid}/licenses/{first.product_license_id}",
        "url": link(pid, first.product_license_id),
    }
    assert [o["name"] for o in found] == ["Apache 2.0", "MIT"]  # by license name
    assert sorted(await by_license(catalog, mit)) == sorted([pid, other])
    assert await by_license(catalog, apache) == [pid]
    assert await by_license(catalog, uuid4()) == []
    assert await license_facet(catalog) == [
        {"id": str(mit), "name": "MIT", "count": 2},
        {"id": str(apache), "name": "Apache 2.0", "count": 1},
    ]
    # The facet leaves out its own filter; another filter narrows it.
    assert await license_facet(catalog, query=f"&license_id={apache}") == await license_facet(catalog)
    narrowed = await license_facet(catalog, query=f"&user_id={catalog.other_isv.user_id}")
    assert narrowed == [{"id": str(mit), "name": "MIT", "count": 1}]


async def test_listing_and_search_rows_embed_the_offers_too(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    event = offered(pid, uuid4(), "CC0 1.0")
    await deliver(catalog, event)
    r = await catalog.post("/products/search", None, {"license_id": str(event.license_id)})
    assert r.status == 200, r
    [row] = r.body["results"]
    assert row["product_licenses"] == await embedded(catalog, pid)
    assert row["product_licenses"][0]["url"] == link(pid, event.product_license_id)


async def test_a_rename_updates_the_offer(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    first = offered(pid, uuid4(), "LOINC")
    await deliver(catalog, first)
    renamed = offered(
        pid, first.license_id, "LOINC and RELMA", first.product_license_id, T0 + timedelta(seconds=1)
    )
    await deliver(catalog, renamed)
    [offer] = await embedded(catalog, pid)
    assert offer["name"] == "LOINC and RELMA" and offer["id"] == str(first.product_license_id)
    assert await license_facet(catalog) == [
        {"id": str(first.license_id), "name": "LOINC and RELMA", "count": 1}
    ]
    assert len(await copy(catalog)) == 1


async def test_a_withdrawal_removes_the_offer(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    kept, gone = offered(pid, uuid4(), "MIT"), offered(pid, uuid4(), "BSD 2-Clause")
    await deliver(catalog, kept)
    await deliver(catalog, gone)
    await deliver(catalog, withdrawn(gone, T0 + timedelta(seconds=1)))
    assert [o["name"] for o in await embedded(catalog, pid)] == ["MIT"]
    assert await by_license(catalog, gone.license_id) == []
    assert await license_facet(catalog) == [{"id": str(kept.license_id), "name": "MIT", "count": 1}]


async def test_a_product_without_offers_embeds_an_empty_list(catalog) -> None:
    """The reference UI reads product_licenses on every product ("only licensed through a
    higher level product bundle" when empty): it is always there, on every response."""
    created = await catalog.make_product(catalog.isv)
    assert created["product_licenses"] == []
    pid = created["id"]
    assert await embedded(catalog, pid, catalog.isv) == []
    r = await catalog.put(f"/products/{pid}", catalog.isv, {"product": {"description": "New"}})
    assert r.status == 200 and r.body["product_licenses"] == [], r
    r = await catalog.post(f"/products/{pid}/publish", catalog.operator)
    assert r.status == 200 and r.body["product_licenses"] == [], r
    r = await catalog.get("/products")
    assert r.status == 200 and [p["product_licenses"] for p in r.body["results"]] == [[]], r


async def test_a_product_echoed_back_with_its_offers_updates(catalog) -> None:
    """Clients PUT back the product they read; the offers are licensing's, not the body's."""
    p = await catalog.make_product(catalog.isv)
    await deliver(catalog, offered(p["id"], uuid4(), "MIT"))
    shown = (await catalog.get(f"/products/{p['id']}", catalog.isv)).body
    r = await catalog.put(f"/products/{p['id']}", catalog.isv, {"product": {**shown, "description": "New"}})
    assert r.status == 200, r
    assert r.body["description"] == "New" and r.body["product_licenses"] == shown["product_licenses"]


# --- redelivery and order ------------------------------------------------------------


async def test_redelivering_the_same_events_changes_nothing(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    event = offered(pid, uuid4(), "MIT")
    await deliver(catalog, event)
    before = (await copy(catalog), await embedded(catalog, pid))
    await deliver(catalog, event)
    assert (await copy(catalog), await embedded(catalog, pid)) == before
    gone = withdrawn(event, T0 + timedelta(seconds=1))
    await deliver(catalog, gone)
    await deliver(catalog, gone)
    assert await copy(catalog) == [] and await embedded(catalog, pid) == []
    # Delivered again after its withdrawal, the offer stays withdrawn.
    await deliver(catalog, event)
    assert await copy(catalog) == []


async def test_the_consumer_applies_an_event_id_once(catalog) -> None:
    pool = catalog.client.server.app[pool_key]
    pid = await catalog.sql_product(catalog.isv)
    event = offered(pid, uuid4(), "MIT")
    handler = HANDLERS[type(event)]
    await outbox.handle_once(pool, event, lambda c: handler(c, event))
    assert len(await copy(catalog)) == 1
    await (await catalog.db()).execute("DELETE FROM product_license_offers")
    await outbox.handle_once(pool, event, lambda c: handler(c, event))  # skipped: already seen
    assert await copy(catalog) == []


async def test_an_offer_older_than_the_copy_is_ignored(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    old = offered(pid, uuid4(), "Old name")
    new = offered(pid, old.license_id, "New name", old.product_license_id, T0 + timedelta(seconds=5))
    await deliver(catalog, new)
    await deliver(catalog, old)  # a requeued message overtaken by the rename
    assert [o["name"] for o in await embedded(catalog, pid)] == ["New name"]


async def test_a_withdrawal_overtaking_its_offer_keeps_it_withdrawn(catalog) -> None:
    pid = await catalog.sql_product(catalog.isv)
    event = offered(pid, uuid4(), "MIT")
    await deliver(catalog, withdrawn(event, T0 + timedelta(seconds=1)))
    await deliver(catalog, event)
    assert await copy(catalog) == [] and await by_license(catalog, event.license_id) == []


async def test_a_late_withdrawal_of_an_earlier_product_license_keeps_the_new_one(catalog) -> None:
    """Withdrawn, then offered again under a new product license: the first one's
    withdrawal, delivered late, does not remove the second offer."""
    pid = await catalog.sql_product(catalog.isv)
    first = offered(pid, uuid4(), "MIT")
    again = offered(pid, first.license_id, "MIT", uuid4(), T0 + timedelta(seconds=2))
    await deliver(catalog, first)
    await deliver(catalog, again)
    await deliver(catalog, withdrawn(first, T0 + timedelta(seconds=1)))
    [offer] = await embedded(catalog, pid)
    assert offer["id"] == str(again.product_license_id) and offer["url"] == link(
        pid, again.product_license_id
    )


# --- products coming and going ---------------------------------------------------------


async def test_an_offer_for_an_unknown_product_is_dropped(catalog) -> None:
    await deliver(catalog, offered(uuid4(), uuid4(), "MIT"))
    assert await copy(catalog) == []


async def test_deleting_a_product_removes_its_offers(catalog) -> None:
    mine = await catalog.make_product(catalog.isv)
    other = await catalog.sql_product(catalog.isv)
    lid = uuid4()
    await deliver(catalog, offered(mine["id"], lid, "MIT"))
    await deliver(catalog, offered(other, lid, "MIT"))
    r = await catalog.delete(f"/products/{mine['id']}", catalog.isv)
    assert r.status == 200, r
    assert [row[0] for row in await copy(catalog)] == [other]
    assert await license_facet(catalog) == [{"id": str(lid), "name": "MIT", "count": 1}]


async def test_drafts_offers_count_only_for_who_may_see_them(catalog) -> None:
    draft = await catalog.make_product(catalog.isv)
    lid = uuid4()
    await deliver(catalog, offered(draft["id"], lid, "MIT"))
    assert await by_license(catalog, lid) == []
    assert await license_facet(catalog) == []
    assert (await catalog.get(f"/products/{draft['id']}")).status == 404
    assert await by_license(catalog, lid, catalog.isv) == [draft["id"]]
    assert await license_facet(catalog, catalog.isv) == [{"id": str(lid), "name": "MIT", "count": 1}]
    assert [o["name"] for o in await embedded(catalog, draft["id"], catalog.isv)] == ["MIT"]


# --- concurrency and the bus ---------------------------------------------------------


async def test_concurrent_offers_and_withdrawals_settle(catalog) -> None:
    """50 deliveries at once on their own connections: renames of one product license,
    and offer/withdrawal pairs racing each other; every withdrawn one stays withdrawn."""
    pid = await catalog.sql_product(catalog.isv)
    lid, plid = uuid4(), uuid4()
    renames = [offered(pid, lid, f"Name {n:02}", plid, T0 + timedelta(seconds=n)) for n in range(26)]
    pairs = [offered(pid, uuid4(), f"Gone {n}") for n in range(12)]
    events: list[Event] = [*renames, *pairs, *(withdrawn(e) for e in pairs)]
    assert len(events) == 50
    pool = await asyncpg.create_pool(catalog.dsn, min_size=10, max_size=10)
    try:

        async def one(event: Event) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await HANDLERS[type(event)](conn, event)

        await asyncio.gather(*(one(e) for e in events))
    finally:
        await pool.close()
    assert await copy(catalog) == [(pid, str(lid), "Name 25", str(plid))]


async def test_an_offer_through_the_bus(catalog, amqp_url: str) -> None:
    pid = await catalog.sql_product(catalog.isv)
    event = offered(pid, uuid4(), "MIT")
    namespace = catalog.client.server.app[settings_key].amqp_namespace
    bus = Bus(amqp_url, namespace, "test")
    await bus.connect()
    try:
        await bus.publish_event(event)
        # Delivery is asynchronous: wait (bounded) for the consumer's transaction to commit.
        for _ in range(200):
            if await copy(catalog):
                break
            await asyncio.sleep(0.05)
    finally:
        await bus.close()
    assert await by_license(catalog, event.license_id) == [pid]
