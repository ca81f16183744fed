"""GET /attempts and /attempts/{id}: who sees which attempts, in which order, filtered how."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hspm.common.auth import Principal


async def licensed(licensing: Any, who: Principal, product: UUID) -> None:
    """``who`` holds and claims an unlimited, indefinite entitlement to ``product``."""
    db = await licensing.db()
    lid, plid, eid = uuid4(), uuid4(), uuid4()
    await db.execute(
        "INSERT INTO licenses (id, name, url) VALUES ($1, $2, $3)", lid, f"L {lid}", f"https://l.test/{lid}"
    )
    await db.execute(
        "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)", plid, product, lid
    )
    await db.execute(
        "INSERT INTO entitlements (id, user_id, product_license_id) VALUES ($1, $2, $3)",
        eid,
        who.user_id,
        plid,
    )
    await db.execute(
        "INSERT INTO claims (id, entitlement_id, claimant_type, claimant_id) VALUES ($1, $2, 'User', $3)",
        uuid4(),
        eid,
        who.user_id,
    )


async def check(licensing: Any, who: Principal, product: UUID, expect: int) -> None:
    reply = await licensing.put(f"/authorizations/products/{product}", who)
    assert reply.status == expect, reply


async def history(licensing: Any) -> tuple[UUID, UUID]:
    """Three attempts on the ISV's product (granted, refused, granted), one on another's."""
    mine, theirs = await licensing.product(licensing.isv), await licensing.product(licensing.other_isv)
    await licensed(licensing, licensing.customer, mine)
    await check(licensing, licensing.customer, mine, 200)
    await check(licensing, licensing.other_customer, mine, 422)
    await check(licensing, licensing.customer, mine, 200)
    await check(licensing, licensing.customer, theirs, 422)
    return mine, theirs


def ids(reply: Any) -> list[str]:
    assert reply.status == 200, reply
    return [a["id"] for a in reply.body["results"]]


async def test_staff_and_auditors_see_every_attempt_newest_first(licensing) -> None:
    mine, theirs = await history(licensing)
    for who in (licensing.operator, licensing.auditor, licensing.admin):
        reply = await licensing.get("/attempts", who)
        assert reply.body["total_entries"] == 4
        assert [a["product_id"] for a in reply.body["results"]] == [
            str(theirs),
            str(mine),
            str(mine),
            str(mine),
        ]
    newest_first = ids(await licensing.get("/attempts", licensing.auditor))
    assert ids(await licensing.get("/attempts?order=asc", licensing.auditor)) == newest_first[::-1]


async def test_an_attempt_renders_the_spec_fields_and_what_it_records(licensing) -> None:
    mine, _ = await history(licensing)
    listed = (await licensing.get(f"/attempts?product_id={mine}&granted=true", licensing.operator)).body
    first = listed["results"][-1]
    assert first["granted"] is True and first["outcome"] == "granted"
    assert first["claimant_type"] == "User" and first["claimant_id"] == str(licensing.customer.user_id)
    assert first["claim_id"] and first["entitlement_id"] and first["address"] == "127.0.0.1"
    assert first["platform_id"] is None and first["created_at"] == first["updated_at"]
    assert first["url"] == f"http://marketplace.test/attempts/{first['id']}"
    shown = await licensing.get(f"/attempts/{first['id']}", licensing.auditor)
    assert shown.status == 200 and shown.body == first


async def test_an_isv_sees_only_the_attempts_on_its_own_products(licensing) -> None:
    mine, theirs = await history(licensing)
    reply = await licensing.get("/attempts", licensing.isv)
    assert [a["product_id"] for a in reply.body["results"]] == [str(mine)] * 3
    assert ids(await licensing.get(f"/attempts?product_id={theirs}", licensing.isv)) == []
    other = (await licensing.get("/attempts", licensing.other_isv)).body["results"]
    assert [a["product_id"] for a in other] == [str(theirs)]
    assert (await licensing.get(f"/attempts/{other[0]['id']}", licensing.isv)).status == 404
    assert (await licensing.get(f"/attempts/{other[0]['id']}", licensing.other_isv)).status == 200


async def test_others_may_not_read_attempts(licensing) -> None:
    await history(licensing)
    [any_attempt, *_] = ids(await licensing.get("/attempts", licensing.operator))
    assert (await licensing.get("/attempts")).status == 401
    assert (await licensing.get(f"/attempts/{any_attempt}")).status == 401
    # The customer made these attempts but owns no product: nothing to see.
    assert (await licensing.get("/attempts", licensing.customer)).status == 403
    assert (await licensing.get(f"/attempts/{any_attempt}", licensing.customer)).status == 404
    assert (await licensing.get(f"/attempts/{uuid4()}", licensing.operator)).status == 404
    assert (await licensing.get("/attempts/not-a-uuid", licensing.operator)).status == 404
    # An ISV's token scoped to something else does not carry its owner right to read them.
    scoped = Principal(kind="user", user_id=licensing.isv.user_id, scopes=frozenset({"claims.read"}))
    assert (await licensing.get("/attempts", scoped)).status == 403


async def test_filters(licensing) -> None:
    mine, theirs = await history(licensing)
    staff = licensing.operator
    customer = licensing.customer.user_id

    async def count(query: str) -> int:
        reply = await licensing.get(f"/attempts?{query}", staff)
        assert reply.status == 200, reply
        return int(reply.body["total_entries"])

    assert await count(f"product_id={mine}") == 3
    assert await count(f"claimant_id={customer}") == 3
    assert await count("claimant_type=User") == 4 and await count("claimant_type=Group") == 0
    assert await count("granted=false") == 2 and await count("outcome=no_entitlement") == 2
    assert await count(f"claimant_id={customer}&outcome=no_entitlement&product_id={theirs}") == 1
    assert await count("since=2000-01-01T00:00:00Z") == 4 and await count("until=2000-01-01") == 0
    assert await count("since=2999-01-01T00:00:00%2B02:00") == 0
    for bad in ("outcome=maybe", "claimant_type=Robot", "granted=perhaps", "since=yesterday", "product_id=x"):
        reply = await licensing.get(f"/attempts?{bad}", staff)
        assert reply.status == 422, (bad, reply)
    assert (await licensing.get("/attempts?sort=address", staff)).status == 422


async def test_paging(licensing) -> None:
    await history(licensing)
    first = await licensing.get("/attempts?per_page=3", licensing.operator)
    second = await licensing.get("/attempts?per_page=3&page=2", licensing.operator)
    assert first.body["total_pages"] == 2 and len(ids(first)) == 3 and len(ids(second)) == 1
    assert not set(ids(first)) & set(ids(second))
