"""Vouchers over HTTP: who issues them, who sees them and their codes, what changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hspm.common.auth import Principal

V = "/vouchers"
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{6}-[2-9A-HJKMNP-Z]{6}-[2-9A-HJKMNP-Z]{6}$")


async def issue(licensing: Any, o: Any, who: Principal | None = None, **extra: Any) -> dict[str, Any]:
    r = await licensing.post(V, who or licensing.isv, {"product_license_id": str(o.id), **extra})
    assert r.status == 201, r
    return dict(r.body)


async def redeem(licensing: Any, code: str, who: Principal) -> None:
    r = await licensing.post(f"{V}/{code}/redeem", who)
    assert r.status == 201, r


# --- issuing -------------------------------------------------------------------------------------


async def test_the_isv_issues_a_voucher_with_a_readable_code(licensing) -> None:
    o = await licensing.offer()
    r = await licensing.post(V, licensing.isv, {"voucher": {"product_license_id": str(o.id)}})
    assert r.status == 201, r
    v = r.body
    assert r.headers["Location"] == v["url"] == f"http://marketplace.test/vouchers/{v['id']}"
    assert CODE.match(v["code"]), v["code"]
    assert (v["product_license_id"], v["product_id"]) == (str(o.id), str(o.product_id))
    assert (v["state"], v["redeemed_at"], v["redeemed_by"], v["entitlement_id"]) == (
        "redeemable",
        None,
        None,
        None,
    )
    assert v["issued_by"] == str(licensing.isv.user_id)
    stored = await (await licensing.db()).fetchval("SELECT code FROM vouchers")
    assert stored == v["code"].replace("-", "")


async def test_a_batch_is_a_list_of_distinct_codes(licensing) -> None:
    o = await licensing.offer()
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    r = await licensing.post(
        V,
        licensing.operator,
        {"product_license_id": str(o.id), "count": 500, "expires_at": expires.isoformat()},
    )
    assert r.status == 201, r
    results = r.body["results"]
    assert len(results) == r.body["total_entries"] == 500
    assert len({v["code"] for v in results}) == 500
    assert all(CODE.match(v["code"]) for v in results)
    assert {v["expires_at"] for v in results} == {expires.isoformat().replace("+00:00", "Z")}


async def test_who_may_issue(licensing) -> None:
    mine, theirs = await licensing.offer(), await licensing.offer(licensing.other_isv)
    for who in (licensing.customer, licensing.auditor):
        assert (await licensing.post(V, who, {"product_license_id": str(mine.id)})).status == 403, who.name
    assert (await licensing.post(V, licensing.isv, {"product_license_id": str(theirs.id)})).status == 403
    assert (await licensing.post(V, None, {"product_license_id": str(mine.id)})).status == 401
    await issue(licensing, mine, licensing.operator)
    await issue(licensing, mine, licensing.admin)


async def test_bad_bodies_are_422(licensing) -> None:
    o = await licensing.offer()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for bad in (
        {"product_license_id": str(uuid4())},
        {"product_license_id": str(o.id), "count": 0},
        {"product_license_id": str(o.id), "count": 501},
        {"product_license_id": str(o.id), "expires_at": past},
        {"product_license_id": str(o.id), "code": "MYOWNCODE"},
    ):
        r = await licensing.post(V, licensing.isv, bad)
        assert r.status == 422, (bad, r)
    assert await (await licensing.db()).fetchval("SELECT count(*) FROM vouchers") == 0


# --- reading -------------------------------------------------------------------------------------


async def test_who_sees_a_voucher_and_its_code(licensing) -> None:
    o = await licensing.offer()
    v = await issue(licensing, o)
    path = f"{V}/{v['id']}"
    for who in (licensing.isv, licensing.operator, licensing.admin):
        r = await licensing.get(path, who)
        assert r.status == 200 and r.body["code"] == v["code"], who.name
    # An auditor may read vouchers, but an unredeemed code is a bearer secret.
    auditor = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"vouchers.read"}))
    r = await licensing.get(path, auditor)
    assert r.status == 200 and r.body["code"] is None, r
    for who in (licensing.customer, licensing.other_isv):
        assert (await licensing.get(path, who)).status == 404, who.name
    assert (await licensing.get(path)).status == 401
    # The redeemer sees the voucher they redeemed, code and all: it is spent.
    await redeem(licensing, v["code"], licensing.customer)
    r = await licensing.get(path, licensing.customer)
    assert r.status == 200 and r.body["code"] == v["code"] and r.body["state"] == "redeemed", r
    assert (await licensing.get(path, licensing.other_customer)).status == 404


async def test_the_index_is_scoped_and_filtered(licensing) -> None:
    mine, theirs = await licensing.offer(), await licensing.offer(licensing.other_isv)
    a, b = await issue(licensing, mine), await issue(licensing, mine)
    c = await issue(licensing, theirs, licensing.other_isv)
    await redeem(licensing, c["code"], licensing.customer)

    async def ids(who: Principal, query: str = "") -> set[str]:
        r = await licensing.get(V + query, who)
        assert r.status == 200, r
        return {v["id"] for v in r.body["results"]}

    assert await ids(licensing.isv) == {a["id"], b["id"]}
    assert await ids(licensing.other_isv) == {c["id"]}
    assert await ids(licensing.customer) == {c["id"]}
    assert await ids(licensing.other_customer) == set()
    assert await ids(licensing.operator) == {a["id"], b["id"], c["id"]}
    assert await ids(licensing.operator, f"?product_id={mine.product_id}") == {a["id"], b["id"]}
    assert await ids(licensing.operator, f"?product_license_id={theirs.id}") == {c["id"]}
    assert await ids(licensing.operator, "?redeemed=true") == {c["id"]}
    assert await ids(licensing.operator, "?redeemed=false&sort=issued_at&order=desc") == {a["id"], b["id"]}
    listed = (await licensing.get(V, licensing.operator)).body["results"]
    assert all(v["code"] for v in listed)
    for bad in ("?redeemed=maybe", "?sort=code", "?product_id=x"):
        assert (await licensing.get(V + bad, licensing.operator)).status == 422, bad


# --- changing --------------------------------------------------------------------------------------


async def test_the_expiry_of_an_unredeemed_voucher_moves(licensing) -> None:
    v = await issue(licensing, await licensing.offer())
    path = f"{V}/{v['id']}"
    later = "2040-01-01T00:00:00Z"
    r = await licensing.patch(path, licensing.isv, v | {"expires_at": later})
    assert r.status == 200 and r.body["expires_at"] == later, r
    for who, status in ((licensing.customer, 404), (licensing.other_isv, 404)):
        assert (await licensing.patch(path, who, {"expires_at": None})).status == status, who.name
    auditor = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"vouchers.read"}))
    assert (await licensing.patch(path, auditor, {"expires_at": None})).status == 403
    await redeem(licensing, v["code"], licensing.customer)
    assert (await licensing.patch(path, licensing.operator, {"expires_at": None})).status == 409


async def test_only_an_unredeemed_voucher_is_deleted(licensing) -> None:
    o = await licensing.offer()
    spent, fresh = await issue(licensing, o), await issue(licensing, o)
    await redeem(licensing, spent["code"], licensing.customer)
    assert (await licensing.delete(f"{V}/{spent['id']}", licensing.isv)).status == 409
    assert (await licensing.delete(f"{V}/{fresh['id']}", licensing.customer)).status == 404
    assert (await licensing.delete(f"{V}/{fresh['id']}", licensing.isv)).status == 204
    assert (await licensing.get(f"{V}/{fresh['id']}", licensing.isv)).status == 404
    assert (await licensing.get(f"{V}/{spent['id']}", licensing.isv)).status == 200
