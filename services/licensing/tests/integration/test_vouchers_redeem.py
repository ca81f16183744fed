"""Redeeming a voucher: one winner among concurrent redemptions, expiry, typing, assignment."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hspm.common.auth import Principal
from hspm.licensing.vouchers import models, service

V = "/vouchers"


async def issue(licensing: Any, o: Any, **extra: Any) -> dict[str, Any]:
    r = await licensing.post(V, licensing.isv, {"product_license_id": str(o.id), **extra})
    assert r.status == 201, r
    return dict(r.body)


async def state(licensing: Any) -> tuple[int, int, int]:
    """Entitlements, redeemed vouchers and outbox events: what a failed redemption must not change."""
    db = await licensing.db()
    return (
        await db.fetchval("SELECT count(*) FROM entitlements"),
        await db.fetchval("SELECT count(*) FROM vouchers WHERE redeemed_at IS NOT NULL"),
        await db.fetchval("SELECT count(*) FROM outbox"),
    )


async def test_redeeming_grants_the_vouchers_product_license(licensing) -> None:
    o = await licensing.offer()
    v = await issue(licensing, o)
    mark = await licensing.outbox_mark()
    r = await licensing.post(f"{V}/{v['code']}/redeem", licensing.customer)
    assert r.status == 201, r
    ent = r.body
    assert r.headers["Location"] == ent["url"] == f"http://marketplace.test/entitlements/{ent['id']}"
    assert (ent["product_license_id"], ent["product_id"]) == (str(o.id), str(o.product_id))
    assert (ent["user_id"], ent["source"], ent["state"]) == (
        str(licensing.customer.user_id),
        "voucher",
        "active",
    )
    shown = (await licensing.get(f"{V}/{v['id']}", licensing.isv)).body
    assert shown["entitlement_id"] == ent["id"]
    assert shown["redeemed_by"] == str(licensing.customer.user_id)
    assert shown["redeemed_at"] == ent["valid_from"]
    events = await licensing.events(mark)
    assert [e["type"] for e in events] == ["licensing.entitlement.granted", "licensing.voucher.redeemed"]
    assert events[0]["source"] == "voucher" and events[0]["entitlement_id"] == ent["id"]
    assert events[1] == events[1] | {
        "voucher_id": v["id"],
        "product_license_id": str(o.id),
        "entitlement_id": ent["id"],
        "redeemed_by": str(licensing.customer.user_id),
    }
    # The holder's own claim, so the runtime check can count it.
    [claim] = (await licensing.get(f"/entitlements/{ent['id']}/claims", licensing.customer)).body["results"]
    assert claim["claimant_id"] == str(licensing.customer.user_id)


async def test_a_voucher_is_bound_to_its_product_license(licensing) -> None:
    """Not a gift card: another license of the same product, or another product, gets nothing."""
    o = await licensing.offer()
    same_product_other_license = await licensing.offer(product_id=o.product_id)
    other_product = await licensing.offer()
    v = await issue(licensing, o)
    ent = (await licensing.post(f"{V}/{v['code']}/redeem", licensing.customer)).body
    assert ent["product_license_id"] == str(o.id)
    for other in (same_product_other_license, other_product):
        r = await licensing.get(f"/entitlements?product_license_id={other.id}", licensing.customer)
        assert r.body["results"] == [], other
    # Redeeming names no product: a body trying to choose one is refused, nothing redeemed.
    v2 = await issue(licensing, o)
    before = await state(licensing)
    r = await licensing.post(
        f"{V}/{v2['code']}/redeem", licensing.customer, {"product_license_id": str(other_product.id)}
    )
    assert r.status == 422, r
    assert await state(licensing) == before


async def test_fifty_concurrent_redemptions_have_one_winner(licensing) -> None:
    v = await issue(licensing, await licensing.offer())
    people = [licensing.customer, licensing.other_customer]
    replies = await asyncio.gather(
        *(licensing.post(f"{V}/{v['code']}/redeem", people[i % 2]) for i in range(50))
    )
    assert Counter(r.status for r in replies) == {201: 1, 409: 49}
    assert {r.body["message"] for r in replies if r.status == 409} == {"Voucher already redeemed."}
    db = await licensing.db()
    assert await db.fetchval("SELECT count(*) FROM entitlements") == 1
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE type = 'licensing.voucher.redeemed'") == 1
    [winner] = [r.body for r in replies if r.status == 201]
    assert await db.fetchval("SELECT entitlement_id FROM vouchers") == UUID(winner["id"])


async def test_errors_change_nothing(licensing) -> None:
    o = await licensing.offer()
    spent, expired = await issue(licensing, o), await issue(licensing, o)
    await licensing.post(f"{V}/{spent['code']}/redeem", licensing.customer)
    await (await licensing.db()).execute(
        "UPDATE vouchers SET expires_at = now() - interval '1 second' WHERE id = $1", UUID(expired["id"])
    )
    before = await state(licensing)
    cases = (
        ("ABCDEF-GHJKMN-PQRSTU", 404, "Voucher not found."),
        ("not a code", 404, "Voucher not found."),
        ("A" * 65, 404, "Voucher not found."),
        (spent["code"], 409, "Voucher already redeemed."),
        (expired["code"], 410, "Voucher expired."),
    )
    for code, status, message in cases:
        r = await licensing.post(f"{V}/{code}/redeem", licensing.other_customer)
        assert (r.status, r.body["message"]) == (status, message), code
    assert await state(licensing) == before
    assert (await licensing.post(f"{V}/{expired['code']}/redeem")).status == 401


async def test_codes_are_typed_any_way(licensing) -> None:
    o = await licensing.offer()
    for typed in (
        lambda c: c.lower(),
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", " ").lower(),
        lambda c: " - ".join(c[i : i + 3] for i in range(0, len(c), 3)),
    ):
        v = await issue(licensing, o)
        r = await licensing.post(f"{V}/{typed(v['code'])}/redeem", licensing.customer)
        assert r.status == 201, (typed(v["code"]), r)
    # Within the bound, but far off: no lookup, the same 404.
    r = await licensing.post(f"{V}/{'-' * 64}/redeem", licensing.customer)
    assert r.status == 404, r


async def test_the_redeemer_assigns_the_entitlement_to_another_user(licensing) -> None:
    o = await licensing.offer()
    v = await issue(licensing, o)
    r = await licensing.post(
        f"{V}/{v['code']}/redeem",
        licensing.customer,
        {"voucher": {"user_id": str(licensing.other_customer.user_id)}},
    )
    assert r.status == 201, r
    assert r.body["user_id"] == str(licensing.other_customer.user_id)
    assert (
        await licensing.get(r.body["url"].removeprefix("http://marketplace.test"), licensing.customer)
    ).status == 404
    shown = (await licensing.get(f"{V}/{v['id']}", licensing.customer)).body
    assert shown["redeemed_by"] == str(licensing.customer.user_id)
    # An unknown user: 422, and the voucher stays redeemable.
    v2 = await issue(licensing, o)
    before = await state(licensing)
    r = await licensing.post(f"{V}/{v2['code']}/redeem", licensing.customer, {"user_id": str(uuid4())})
    assert r.status == 422 and set(r.errors) == {"user_id"}, r
    assert await state(licensing) == before
    # With a made-up code the answer is 404 either way: no oracle for user ids.
    r = await licensing.post(
        f"{V}/ABCDEF-GHJKMN-PQRSTU/redeem", licensing.customer, {"user_id": str(uuid4())}
    )
    assert r.status == 404, r


async def test_expiry_just_before_at_and_after(licensing) -> None:
    """Half-open like every window: redeemable before ``expires_at``, not at it."""
    o = await licensing.offer()
    expires = datetime.now(UTC) + timedelta(days=1)
    at, after, before = [await issue(licensing, o, expires_at=expires.isoformat()) for _ in range(3)]
    tick = timedelta(microseconds=1)
    redeemer: Principal = licensing.customer
    async with licensing.pool.acquire() as conn:
        for v, now, ok in (
            (before, expires - tick, True),
            (at, expires, False),
            (after, expires + tick, False),
        ):
            try:
                async with conn.transaction():
                    await service.redeem(conn, redeemer, v["code"], models.Redemption(), now=now)
                outcome = True
            except service.VoucherExpired:
                outcome = False
            assert outcome is ok, now
    redeemed = (await licensing.get(f"{V}?redeemed=true", licensing.isv)).body["results"]
    assert [r["id"] for r in redeemed] == [before["id"]]
