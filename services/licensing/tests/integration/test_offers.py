"""Product licenses over HTTP: public reads, owner-or-staff writes, events, the product's deletion."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.events import catalog

OFFERED, WITHDRAWN = "licensing.license.offered", "licensing.license.withdrawn"
NOBODY = ("customer", "other_isv", "auditor", "other_customer")


async def a_license(licensing, **kw: Any) -> dict[str, Any]:
    body = {"name": f"L {uuid4().hex[:8]}", "url": f"https://licenses.test/{uuid4().hex}"} | kw
    reply = await licensing.post("/licenses", licensing.operator, {"license": body})
    assert reply.status == 201, reply
    return reply.body


async def offer(licensing, product: UUID, license_id: str, who: Principal | None = None) -> dict[str, Any]:
    reply = await licensing.post(
        f"/products/{product}/licenses", who or licensing.isv, {"product_license": {"license_id": license_id}}
    )
    assert reply.status == 201, reply
    return reply.body


async def setup(licensing) -> tuple[UUID, dict[str, Any], dict[str, Any]]:
    """A product of ``isv`` offered under a license: (product id, license, offer)."""
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing, expiry="relative_date", days_valid=30, uses=5)
    return product, lic, await offer(licensing, product, lic["id"])


async def entitle(licensing, offer_id: str) -> UUID:
    """An entitlement and a voucher under the offer (the entitlements area's rows, by hand)."""
    db, eid = await licensing.db(), uuid4()
    await db.execute(
        "INSERT INTO entitlements (id, user_id, product_license_id) VALUES ($1, $2, $3)",
        eid,
        licensing.customer.user_id,
        UUID(offer_id),
    )
    await db.execute(
        "INSERT INTO vouchers (id, product_license_id, code) VALUES ($1, $2, $3)",
        uuid4(),
        UUID(offer_id),
        uuid4().hex,
    )
    return eid


async def count(licensing, table: str, offer_id: str) -> int:
    return int(
        await (await licensing.db()).fetchval(
            f"SELECT count(*) FROM {table} WHERE product_license_id = $1", UUID(offer_id)
        )
    )


# --- read -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "customer", "isv", "other_isv", "auditor", "operator"])
async def test_anyone_reads_a_products_offers_with_the_terms_embedded(licensing, who) -> None:
    product, lic, made = await setup(licensing)
    persona = getattr(licensing, who) if who else None
    listed = await licensing.get(f"/products/{product}/licenses", persona)
    assert listed.status == 200, listed
    assert listed.body["results"] == [made] and listed.body["total_entries"] == 1
    shown = await licensing.get(made["path"], persona)
    assert shown.status == 200 and shown.body == made
    embedded = made["license"]
    assert embedded == {
        "id": lic["id"],
        "name": lic["name"],
        "url": lic["url"],
        "expiry": "relative_date",
        "days_valid": 30,
        "expires_at": None,
        "uses": 5,
        "path": lic["path"],
        "href": lic["href"],
    }
    assert made["path"] == f"/products/{product}/licenses/{made['id']}"
    assert made["url"] == "http://marketplace.test" + made["path"]
    assert (made["product_id"], made["license_id"], made["external_id"]) == (str(product), lic["id"], None)


async def test_unknown_products_and_offers_are_404(licensing) -> None:
    product, _, made = await setup(licensing)
    other = await licensing.product(licensing.isv)
    assert (await licensing.get(f"/products/{uuid4()}/licenses")).status == 404
    assert (await licensing.get("/products/nope/licenses")).status == 404
    assert (await licensing.get(f"/products/{product}/licenses/{uuid4()}")).status == 404
    assert (await licensing.get(f"/products/{product}/licenses/nope")).status == 404
    # An offer read through another product's path does not exist there.
    assert (await licensing.get(f"/products/{other}/licenses/{made['id']}")).status == 404
    assert (
        await licensing.patch(f"/products/{other}/licenses/{made['id']}", licensing.operator, {})
    ).status == 404
    assert (
        await licensing.delete(f"/products/{other}/licenses/{made['id']}", licensing.operator)
    ).status == 404
    assert (await licensing.get(f"/products/{other}/licenses")).body["results"] == []


async def test_the_index_pages_and_sorts(licensing) -> None:
    product = await licensing.product(licensing.isv)
    names = ["b", "a", "c"]
    for name in names:
        await offer(licensing, product, (await a_license(licensing, name=name))["id"])
    base = f"/products/{product}/licenses"
    by_name = await licensing.get(base + "?sort=license_name&order=desc")
    assert [r["license"]["name"] for r in by_name.body["results"]] == ["c", "b", "a"]
    first = await licensing.get(base + "?per_page=2")
    assert (len(first.body["results"]), first.body["next_page"], first.body["total_pages"]) == (2, 2, 2)
    assert (await licensing.get(base + "?sort=name")).status == 422


# --- create -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["isv", "operator", "admin"])
async def test_the_owner_or_staff_offer_a_product(licensing, who) -> None:
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing)
    mark = await licensing.outbox_mark()
    body = {"product_license": {"license_id": lic["id"], "external_id": "SKU-9"}}
    reply = await licensing.post(f"/products/{product}/licenses", getattr(licensing, who), body)
    assert reply.status == 201, reply
    assert reply.headers["Location"] == reply.body["url"]
    assert reply.body["external_id"] == "SKU-9"
    events = await licensing.events(mark)
    assert events == [
        events[0]
        | {
            "type": OFFERED,
            "product_license_id": reply.body["id"],
            "product_id": str(product),
            "license_id": lic["id"],
            "license_name": lic["name"],
        }
    ]


@pytest.mark.parametrize("who", NOBODY)
async def test_others_may_not_offer_a_product(licensing, who) -> None:
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing)
    mark = await licensing.outbox_mark()
    reply = await licensing.post(
        f"/products/{product}/licenses", getattr(licensing, who), {"license_id": lic["id"]}
    )
    assert reply.status == 403, reply
    assert await licensing.events(mark) == []


async def test_anonymous_offers_are_401(licensing) -> None:
    product = await licensing.product(licensing.isv)
    reply = await licensing.post(f"/products/{product}/licenses", None, {"license_id": str(uuid4())})
    assert reply.status == 401


async def test_a_scoped_token_narrows_the_owners_rights(licensing) -> None:
    narrow = Principal(kind="user", user_id=uuid4(), name="Token", scopes=frozenset({"products.read"}))
    wide = Principal(
        kind="user", user_id=narrow.user_id, name="Token", scopes=frozenset({"product_licenses.create"})
    )
    product = await licensing.product(narrow)
    lic = await a_license(licensing)
    body = {"license_id": lic["id"]}
    assert (await licensing.post(f"/products/{product}/licenses", narrow, body)).status == 403
    assert (await licensing.post(f"/products/{product}/licenses", wide, body)).status == 201


@pytest.mark.parametrize("who", ["isv", "operator", "customer"])
async def test_offering_an_unknown_product_is_404(licensing, who) -> None:
    lic = await a_license(licensing)
    reply = await licensing.post(
        f"/products/{uuid4()}/licenses", getattr(licensing, who), {"license_id": lic["id"]}
    )
    assert reply.status == 404


async def test_an_unknown_license_is_a_field_error(licensing) -> None:
    product = await licensing.product(licensing.isv)
    reply = await licensing.post(f"/products/{product}/licenses", licensing.isv, {"license_id": str(uuid4())})
    assert reply.status == 422 and reply.errors == {"license_id": ["does not exist"]}


async def test_the_same_license_twice_is_409(licensing) -> None:
    product, lic, _ = await setup(licensing)
    reply = await licensing.post(
        f"/products/{product}/licenses", licensing.operator, {"license_id": lic["id"]}
    )
    assert reply.status == 409
    assert "cannot be associated with the same license twice" in reply.body["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "license_id"),
        ({"license_id": "nope"}, "license_id"),
        ({"license_id": None}, "license_id"),
        ({"license_id": "{lid}", "price": 3}, "price"),
        ({"license_id": "{lid}", "external_id": "x" * 501}, "external_id"),
        ({"license_id": "{lid}", "product_id": str(uuid4())}, "product_id"),
    ],
)
async def test_invalid_offers_are_422(licensing, body, field) -> None:
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing)
    body = {k: (lic["id"] if v == "{lid}" else v) for k, v in body.items()}
    reply = await licensing.post(f"/products/{product}/licenses", licensing.isv, {"product_license": body})
    assert reply.status == 422 and field in reply.errors, reply


async def test_the_reference_uis_body_with_the_product_id_is_accepted(licensing) -> None:
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing)
    body = {"product_license": {"product_id": str(product), "license_id": lic["id"]}}
    assert (await licensing.post(f"/products/{product}/licenses", licensing.isv, body)).status == 201


async def test_fifty_concurrent_offers_of_the_same_license_make_one(licensing) -> None:
    product = await licensing.product(licensing.isv)
    lic = await a_license(licensing)
    replies = await asyncio.gather(
        *(
            licensing.post(f"/products/{product}/licenses", licensing.isv, {"license_id": lic["id"]})
            for _ in range(50)
        )
    )
    assert sorted(r.status for r in replies) == [201] + [409] * 49
    assert len(await licensing.events(0, OFFERED)) == 1


# --- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "method"), [("isv", "patch"), ("isv", "put"), ("operator", "patch")])
async def test_the_owner_or_staff_change_the_external_id(licensing, who, method) -> None:
    _, _, made = await setup(licensing)
    reply = await getattr(licensing, method)(made["path"], getattr(licensing, who), {"external_id": "X-1"})
    assert reply.status == 200, reply
    assert reply.body == made | {"external_id": "X-1", "updated_at": reply.body["updated_at"]}


async def test_an_echoed_offer_updates_cleanly(licensing) -> None:
    _, _, made = await setup(licensing)
    reply = await licensing.put(made["path"], licensing.isv, {"product_license": made | {"external_id": "E"}})
    assert reply.status == 200, reply
    assert reply.body["external_id"] == "E"


async def test_the_license_of_an_offer_cannot_change(licensing) -> None:
    _, _, made = await setup(licensing)
    other = await a_license(licensing)
    reply = await licensing.patch(made["path"], licensing.operator, {"license_id": other["id"]})
    assert reply.status == 422 and "license_id" in reply.errors


@pytest.mark.parametrize("who", NOBODY)
async def test_others_may_not_change_an_offer(licensing, who) -> None:
    _, _, made = await setup(licensing)
    reply = await licensing.patch(made["path"], getattr(licensing, who), {"external_id": "X"})
    assert reply.status == 403
    assert (await licensing.patch(made["path"], None, {"external_id": "X"})).status == 401


# --- delete -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["isv", "operator"])
async def test_an_offer_nobody_holds_is_withdrawn_by_owner_or_staff(licensing, who) -> None:
    product, lic, made = await setup(licensing)
    mark = await licensing.outbox_mark()
    reply = await licensing.delete(made["path"], getattr(licensing, who))
    assert reply.status == 200 and reply.body == made
    assert (await licensing.get(made["path"])).status == 404
    [event] = await licensing.events(mark)
    assert event["type"] == WITHDRAWN
    assert (event["product_license_id"], event["product_id"], event["license_id"]) == (
        made["id"],
        str(product),
        lic["id"],
    )


async def test_the_owner_may_not_withdraw_an_offer_customers_hold(licensing) -> None:
    _, _, made = await setup(licensing)
    await entitle(licensing, made["id"])
    mark = await licensing.outbox_mark()
    reply = await licensing.delete(made["path"], licensing.isv)
    assert reply.status == 409
    assert (
        reply.body["message"]
        == "The product license has entitlements; ask the marketplace operator to withdraw it."
    )
    assert await licensing.events(mark) == []
    assert await count(licensing, "entitlements", made["id"]) == 1


async def test_staff_withdraw_a_held_offer_and_its_entitlements_and_vouchers_go(licensing) -> None:
    _, _, made = await setup(licensing)
    await entitle(licensing, made["id"])
    reply = await licensing.delete(made["path"], licensing.operator)
    assert reply.status == 200
    assert await count(licensing, "entitlements", made["id"]) == 0
    assert await count(licensing, "vouchers", made["id"]) == 0


@pytest.mark.parametrize("who", NOBODY)
async def test_others_may_not_withdraw_an_offer(licensing, who) -> None:
    _, _, made = await setup(licensing)
    assert (await licensing.delete(made["path"], getattr(licensing, who))).status == 403
    assert (await licensing.delete(made["path"], None)).status == 401
    assert (await licensing.get(made["path"])).status == 200


async def test_fifty_concurrent_withdrawals_withdraw_once(licensing) -> None:
    _, _, made = await setup(licensing)
    replies = await asyncio.gather(*(licensing.delete(made["path"], licensing.isv) for _ in range(50)))
    assert sorted(r.status for r in replies) == [200] + [404] * 49
    assert len(await licensing.events(0, WITHDRAWN)) == 1


# --- the license's name, the product's deletion ------------------------------------------------


async def test_renaming_a_license_announces_every_offer_of_it_again(licensing) -> None:
    product, lic, made = await setup(licensing)
    second = await offer(
        licensing, await licensing.product(licensing.other_isv), lic["id"], licensing.other_isv
    )
    mark = await licensing.outbox_mark()
    assert (await licensing.patch(lic["path"], licensing.operator, {"uses": 9})).status == 200
    assert await licensing.events(mark) == []
    assert (await licensing.patch(lic["path"], licensing.operator, {"name": "Renamed"})).status == 200
    events = await licensing.events(mark, OFFERED)
    assert {(e["product_license_id"], e["license_name"]) for e in events} == {
        (made["id"], "Renamed"),
        (second["id"], "Renamed"),
    }
    shown = await licensing.get(made["path"])
    assert shown.body["license"]["name"] == "Renamed" and shown.body["license"]["uses"] == 9


async def test_a_deleted_product_takes_its_offers_along(licensing) -> None:
    product, lic, made = await setup(licensing)
    second = await offer(licensing, product, (await a_license(licensing))["id"])
    kept_product, _, kept = await setup(licensing)
    await entitle(licensing, made["id"])
    mark = await licensing.outbox_mark()
    event = catalog.ProductDeleted(product_id=product, owner_id=licensing.isv.user_id)
    await licensing.deliver(event)
    await licensing.deliver(event)  # redelivered: applied once
    withdrawn = await licensing.events(mark)
    assert sorted(e["product_license_id"] for e in withdrawn) == sorted([made["id"], second["id"]])
    assert {e["type"] for e in withdrawn} == {WITHDRAWN}
    assert (await licensing.get(f"/products/{product}/licenses")).status == 404
    assert (await licensing.get(made["path"])).status == 404
    assert await count(licensing, "entitlements", made["id"]) == 0
    assert (await licensing.get(kept["path"])).status == 200
    assert (await licensing.get(lic["path"])).status == 200  # the license itself stays
    assert await (await licensing.db()).fetchval("SELECT count(*) FROM products WHERE id = $1", product) == 0
    assert kept_product != product
