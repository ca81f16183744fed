"""Claims over HTTP: the holder (or staff) says who uses an entitlement."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hspm.common.auth import Principal


async def entitlement(licensing: Any, holder: Principal | None = None) -> str:
    """An entitlement of ``holder`` (the customer) to a product of the ISV, offered by SQL."""
    offer_id = (await licensing.offer()).id
    who = holder or licensing.customer
    r = await licensing.post(
        "/entitlements",
        licensing.operator,
        {"user_id": str(who.user_id), "product_license_id": str(offer_id)},
    )
    assert r.status == 201, r
    return f"/entitlements/{r.body['id']}/claims"


def user_claim(p: Principal) -> dict[str, str]:
    return {"claimant_type": "User", "claimant_id": str(p.user_id)}


async def test_the_holder_adds_a_user_and_a_group(licensing) -> None:
    claims = await entitlement(licensing)
    r = await licensing.post(claims, licensing.customer, {"claim": user_claim(licensing.other_customer)})
    assert r.status == 201, r
    assert r.headers["Location"] == r.body["url"] == f"http://marketplace.test{claims}/{r.body['id']}"
    assert r.body["entitlement_id"] == claims.split("/")[2]
    assert (r.body["authorization_count"], r.body["authorized_at"]) == (0, None)
    # A group identity never announced is taken on trust.
    group = uuid4()
    r = await licensing.post(
        claims, licensing.customer, {"claimant_type": "Group", "claimant_id": str(group)}
    )
    assert r.status == 201, r
    listed = (await licensing.get(f"{claims}?sort=created_at", licensing.customer)).body
    assert listed["total_entries"] == 3
    assert {c["claimant_type"] for c in listed["results"]} == {"User", "Group"}
    shown = await licensing.get(f"{claims}/{r.body['id']}", licensing.customer)
    assert shown.status == 200 and shown.body == r.body


async def test_a_duplicate_claim_is_409_and_an_unknown_user_422(licensing) -> None:
    claims = await entitlement(licensing)
    assert (await licensing.post(claims, licensing.customer, user_claim(licensing.customer))).status == 409
    r = await licensing.post(
        claims, licensing.customer, {"claimant_type": "User", "claimant_id": str(uuid4())}
    )
    assert r.status == 422 and set(r.errors) == {"claimant_id"}, r
    for bad in (
        {"claimant_type": "Platform", "claimant_id": str(uuid4())},
        {"claimant_type": "User"},
        user_claim(licensing.other_customer) | {"authorization_count": 99},
    ):
        assert (await licensing.post(claims, licensing.customer, bad)).status == 422, bad


async def test_who_may_see_and_add_claims(licensing) -> None:
    claims = await entitlement(licensing)
    body = user_claim(licensing.other_customer)
    for who in (licensing.isv, licensing.auditor, licensing.operator):
        assert (await licensing.get(claims, who)).status == 200, who.name
    for who in (licensing.isv, licensing.auditor):
        assert (await licensing.post(claims, who, body)).status == 403, who.name
    for who in (licensing.other_customer, licensing.other_isv):
        assert (await licensing.get(claims, who)).status == 404, who.name
        assert (await licensing.post(claims, who, body)).status == 404, who.name
    assert (await licensing.post(claims, None, body)).status == 401
    assert (await licensing.post(claims, licensing.operator, body)).status == 201


async def test_who_may_remove_a_claim(licensing) -> None:
    claims = await entitlement(licensing)
    made = await licensing.post(claims, licensing.customer, user_claim(licensing.other_customer))
    path = f"{claims}/{made.body['id']}"
    for who, status in ((licensing.isv, 403), (licensing.auditor, 403), (licensing.other_customer, 404)):
        assert (await licensing.delete(path, who)).status == status, who.name
    assert (await licensing.delete(path, licensing.customer)).status == 204
    assert (await licensing.delete(path, licensing.customer)).status == 404
    assert (await licensing.get(path, licensing.customer)).status == 404
    assert (await licensing.get(f"{claims}/{uuid4()}", licensing.operator)).status == 404


async def test_a_claim_of_another_entitlement_is_not_found_here(licensing) -> None:
    mine, theirs = await entitlement(licensing), await entitlement(licensing, licensing.other_customer)
    [their_claim] = (await licensing.get(theirs, licensing.other_customer)).body["results"]
    assert (await licensing.get(f"{mine}/{their_claim['id']}", licensing.customer)).status == 404
    assert (await licensing.delete(f"{mine}/{their_claim['id']}", licensing.customer)).status == 404


async def test_a_revoked_entitlement_takes_no_claims(licensing) -> None:
    claims = await entitlement(licensing)
    assert (await licensing.delete(claims.removesuffix("/claims"), licensing.operator)).status == 204
    r = await licensing.post(claims, licensing.operator, user_claim(licensing.other_customer))
    assert r.status == 409, r
    assert (
        await licensing.post(claims, licensing.customer, user_claim(licensing.other_customer))
    ).status == 404
