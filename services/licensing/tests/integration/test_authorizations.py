"""The runtime check (spec 4.4) over HTTP: who may ask, what covers a product, what is refused.

Licenses, offers, entitlements and claims are written with SQL here, so these tests
depend on no other area's routes.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hspm.common.auth import Principal

NOT_FOUND = "User or product not found. Double check your UUIDs?"
GROUP_NOT_FOUND = "Group or product not found. Double check your UUIDs?"
NO_ENTITLEMENT = "No currently-valid entitlements are available for authorization."


# --- data, written directly ------------------------------------------------------------------


async def offer(
    licensing: Any, product_id: UUID, expiry: str = "indefinite", uses: int = 0, **terms: Any
) -> UUID:
    """A license (``days_valid``; ``expires_in`` seconds from the database's now) and its offer."""
    db = await licensing.db()
    lid, plid = uuid4(), uuid4()
    await db.execute(
        "INSERT INTO licenses (id, name, url, expiry, uses, days_valid, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
        lid,
        f"L {lid}",
        f"https://licenses.test/{lid}",
        expiry,
        uses,
        terms.get("days_valid", 0),
        float(terms.get("expires_in", 3600)),
    )
    await db.execute(
        "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)", plid, product_id, lid
    )
    return plid


async def entitle(licensing: Any, owner: UUID, offer_id: UUID, valid_for: float = -60.0) -> UUID:
    """An entitlement valid from ``valid_for`` seconds from the database's now (past: negative)."""
    eid = uuid4()
    await (await licensing.db()).execute(
        "INSERT INTO entitlements (id, user_id, product_license_id, valid_from) "
        "VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        eid,
        owner,
        offer_id,
        valid_for,
    )
    return eid


async def claim(licensing: Any, entitlement_id: UUID, claimant_id: UUID, kind: str = "User") -> UUID:
    cid = uuid4()
    await (await licensing.db()).execute(
        "INSERT INTO claims (id, entitlement_id, claimant_type, claimant_id) VALUES ($1, $2, $3, $4)",
        cid,
        entitlement_id,
        kind,
        claimant_id,
    )
    return cid


async def licensed(licensing: Any, who: Principal, product_id: UUID, **terms: Any) -> tuple[UUID, UUID]:
    """``who`` holds and claims an entitlement to ``product_id``: (claim id, entitlement id)."""
    assert who.user_id is not None
    eid = await entitle(licensing, who.user_id, await offer(licensing, product_id, **terms))
    return await claim(licensing, eid, who.user_id), eid


async def attempts(licensing: Any) -> list[dict[str, Any]]:
    rows = await (await licensing.db()).fetch("SELECT * FROM attempts ORDER BY created_at, id")
    return [dict(r) for r in rows]


def user_path(user_id: UUID | None, product_id: UUID) -> str:
    return f"/authorizations/users/{user_id}/products/{product_id}"


def group_path(group_id: UUID, product_id: UUID) -> str:
    return f"/authorizations/groups/{group_id}/products/{product_id}"


def self_path(product_id: UUID) -> str:
    return f"/authorizations/products/{product_id}"


# --- the answer ------------------------------------------------------------------------------


async def test_a_claimed_entitlement_authorizes_and_is_counted(licensing) -> None:
    product = await licensing.product()
    claim_id, eid = await licensed(licensing, licensing.customer, product)
    first = await licensing.put(self_path(product), licensing.customer)
    second = await licensing.put(self_path(product), licensing.customer)
    assert first.status == 200, first
    assert second.body["authorization_count"] == 2
    body = second.body
    assert body["id"] == str(claim_id) and body["entitlement_id"] == str(eid)
    assert body["claimant_type"] == "User" and body["claimant_id"] == str(licensing.customer.user_id)
    assert body["authorized_at"].endswith("Z")
    assert body["url"] == f"http://marketplace.test/entitlements/{eid}/claims/{claim_id}"
    uses = await (await licensing.db()).fetchval("SELECT uses_count FROM entitlements WHERE id = $1", eid)
    assert uses == 2


async def test_staff_check_any_user_and_unknown_ones_are_404_with_the_spec_message(licensing) -> None:
    product = await licensing.product()
    await licensed(licensing, licensing.customer, product)
    ok = await licensing.put(user_path(licensing.customer.user_id, product), licensing.operator)
    assert ok.status == 200, ok
    unknown_user = await licensing.put(user_path(uuid4(), product), licensing.operator)
    unknown_product = await licensing.put(user_path(licensing.customer.user_id, uuid4()), licensing.operator)
    for reply in (unknown_user, unknown_product):
        assert reply.status == 404 and reply.body["message"] == NOT_FOUND, reply
    group = await licensing.put(group_path(uuid4(), product), licensing.operator)
    assert group.status == 404 and group.body["message"] == GROUP_NOT_FOUND


async def test_no_claim_is_422_with_the_spec_message(licensing) -> None:
    product = await licensing.product()
    reply = await licensing.put(self_path(product), licensing.customer)
    assert reply.status == 422 and reply.body["message"] == NO_ENTITLEMENT, reply


async def test_another_users_claim_does_not_count(licensing) -> None:
    product = await licensing.product()
    await licensed(licensing, licensing.other_customer, product)
    assert (await licensing.put(self_path(product), licensing.customer)).status == 422


async def test_a_claim_on_another_product_does_not_count(licensing) -> None:
    product, other = await licensing.product(), await licensing.product()
    await licensed(licensing, licensing.customer, other)
    assert (await licensing.put(self_path(product), licensing.customer)).status == 422


async def test_a_revoked_entitlement_is_refused(licensing) -> None:
    product = await licensing.product()
    _, eid = await licensed(licensing, licensing.customer, product)
    await (await licensing.db()).execute("UPDATE entitlements SET revoked_at = now() WHERE id = $1", eid)
    reply = await licensing.put(self_path(product), licensing.customer)
    assert reply.status == 422 and reply.body["message"] == NO_ENTITLEMENT


async def test_an_entitlement_not_yet_valid_is_refused(licensing) -> None:
    product = await licensing.product()
    assert licensing.customer.user_id is not None
    eid = await entitle(licensing, licensing.customer.user_id, await offer(licensing, product), valid_for=60)
    await claim(licensing, eid, licensing.customer.user_id)
    assert (await licensing.put(self_path(product), licensing.customer)).status == 422


async def test_expired_licenses_are_refused_and_live_ones_granted(licensing) -> None:
    product = await licensing.product()
    await licensed(licensing, licensing.customer, product, expiry="absolute_date", expires_in=-1)
    await licensed(licensing, licensing.other_customer, product, expiry="absolute_date", expires_in=60)
    assert (await licensing.put(self_path(product), licensing.customer)).status == 422
    assert (await licensing.put(self_path(product), licensing.other_customer)).status == 200


# --- claimants and families ------------------------------------------------------------------


async def test_own_claims_come_before_group_claims(licensing) -> None:
    product, group = await licensing.product(), uuid4()
    assert licensing.customer.user_id is not None
    await licensing.member(group, licensing.customer)
    # The group's claim is older: the order is still own first.
    group_eid = await entitle(licensing, licensing.other_customer.user_id, await offer(licensing, product))
    group_claim = await claim(licensing, group_eid, group, "Group")
    own_claim, _ = await licensed(licensing, licensing.customer, product, uses=1)
    first = await licensing.put(self_path(product), licensing.customer)
    assert first.body["id"] == str(own_claim), first
    # The own entitlement is spent (uses=1): the group's claim is next.
    second = await licensing.put(self_path(product), licensing.customer)
    assert second.status == 200 and second.body["id"] == str(group_claim)
    assert second.body["claimant_type"] == "Group" and second.body["claimant_id"] == str(group)


async def test_a_group_claim_covers_a_member_and_the_group_variant(licensing) -> None:
    product, group = await licensing.product(), uuid4()
    await licensing.member(group, licensing.customer)
    eid = await entitle(licensing, licensing.other_customer.user_id, await offer(licensing, product))
    group_claim = await claim(licensing, eid, group, "Group")
    member = await licensing.put(self_path(product), licensing.customer)
    assert member.status == 200 and member.body["id"] == str(group_claim)
    outsider = await licensing.put(self_path(product), licensing.other_customer)
    assert outsider.status == 422  # the entitlement's owner has not claimed it for themselves
    as_group = await licensing.put(group_path(group, product), licensing.operator)
    assert as_group.status == 200 and as_group.body["authorization_count"] == 2


async def test_the_group_variant_uses_only_that_groups_claims(licensing) -> None:
    product, group, claims_only = await licensing.product(), uuid4(), uuid4()
    await licensing.member(group, licensing.customer)
    await licensed(licensing, licensing.customer, product)  # a member's own claim
    reply = await licensing.put(group_path(group, product), licensing.operator)
    assert reply.status == 422, reply
    # A group nobody is a member of is still known by its claims.
    eid = await entitle(licensing, licensing.customer.user_id, await offer(licensing, product))
    await claim(licensing, eid, claims_only, "Group")
    path = group_path(claims_only, product)
    assert (await licensing.put(path, licensing.operator)).status == 200


async def test_a_license_on_a_grandparent_covers_the_grandchild(licensing) -> None:
    grandparent, parent, child = [await licensing.product() for _ in range(3)]
    await licensing.child_of(grandparent, parent)
    await licensing.child_of(parent, child)
    claim_id, _ = await licensed(licensing, licensing.customer, grandparent)
    reply = await licensing.put(self_path(child), licensing.customer)
    assert reply.status == 200 and reply.body["id"] == str(claim_id)
    # Not the other way round: a license on the child does not cover its parents.
    await licensed(licensing, licensing.other_customer, child)
    assert (await licensing.put(self_path(grandparent), licensing.other_customer)).status == 422


async def test_a_cycle_in_the_family_still_answers(licensing) -> None:
    a, b, c = [await licensing.product() for _ in range(3)]
    await licensing.child_of(a, b)
    await licensing.child_of(b, c)
    await licensing.child_of(c, a)
    assert (await licensing.put(self_path(a), licensing.customer)).status == 422
    await licensed(licensing, licensing.customer, b)
    for product in (a, b, c):
        assert (await licensing.put(self_path(product), licensing.customer)).status == 200


# --- who may ask -----------------------------------------------------------------------------


async def test_anonymous_is_401_and_leaves_no_attempt(licensing) -> None:
    product = await licensing.product()
    for path in (self_path(product), user_path(licensing.customer.user_id, product)):
        assert (await licensing.put(path)).status == 401
    assert (await licensing.put(group_path(uuid4(), product))).status == 401
    assert await attempts(licensing) == []


async def test_a_customer_may_check_only_themselves(licensing) -> None:
    product = await licensing.product()
    await licensed(licensing, licensing.customer, product)
    other = await licensing.put(user_path(licensing.other_customer.user_id, product), licensing.customer)
    own_by_id = await licensing.put(user_path(licensing.customer.user_id, product), licensing.customer)
    group = await licensing.put(group_path(uuid4(), product), licensing.customer)
    assert (other.status, own_by_id.status, group.status) == (403, 403, 403)
    assert await attempts(licensing) == []


async def test_an_isv_checks_its_own_products_customers_not_another_vendors(licensing) -> None:
    mine, theirs = await licensing.product(licensing.isv), await licensing.product(licensing.other_isv)
    await licensed(licensing, licensing.customer, mine)
    await licensed(licensing, licensing.customer, theirs)
    uid = licensing.customer.user_id
    assert (await licensing.put(user_path(uid, mine), licensing.isv)).status == 200
    refused = await licensing.put(user_path(uid, theirs), licensing.isv)
    assert refused.status == 403, refused
    group = await licensing.put(group_path(uuid4(), theirs), licensing.isv)
    assert group.status == 403
    # An unknown product is not the ISV's either: 403, not a 404 that confirms it is unknown.
    assert (await licensing.put(user_path(uid, uuid4()), licensing.isv)).status == 403
    assert [a["product_id"] for a in await attempts(licensing)] == [mine]


async def test_a_product_scoped_token_may_only_check_its_user(licensing) -> None:
    product = await licensing.product()
    await licensed(licensing, licensing.customer, product)
    token = Principal(
        kind="user",
        user_id=licensing.customer.user_id,
        name="Carla's running product",
        scopes=frozenset({"authorizations.create"}),
    )
    assert (await licensing.put(self_path(product), token)).status == 200
    assert (await licensing.put(user_path(token.user_id, product), token)).status == 403
    assert (await licensing.put(group_path(uuid4(), product), token)).status == 403
    assert (await licensing.get("/attempts", token)).status == 403
    [attempt] = await attempts(licensing)
    assert (await licensing.get(f"/attempts/{attempt['id']}", token)).status == 404


async def test_a_token_scoped_without_the_key_may_not_check_even_its_user(licensing) -> None:
    product = await licensing.product()
    token = Principal(kind="user", user_id=licensing.customer.user_id, scopes=frozenset({"claims.read"}))
    assert (await licensing.put(self_path(product), token)).status == 403
    assert await attempts(licensing) == []


# --- attempts of the checks ------------------------------------------------------------------


async def test_every_check_asked_leaves_one_attempt(licensing) -> None:
    product = await licensing.product()
    claim_id, eid = await licensed(licensing, licensing.customer, product)
    uid = licensing.customer.user_id
    assert (await licensing.put(self_path(product), licensing.customer)).status == 200
    assert (await licensing.put(user_path(uid, uuid4()), licensing.operator)).status == 404
    assert (await licensing.put(self_path(product), licensing.other_customer)).status == 422
    group = uuid4()
    assert (await licensing.put(group_path(group, product), licensing.operator)).status == 404
    found = [
        (a["outcome"], a["granted"], a["claim_id"], a["entitlement_id"]) for a in await attempts(licensing)
    ]
    assert found == [
        ("granted", True, claim_id, eid),
        ("not_found", False, None, None),
        ("no_entitlement", False, None, None),
        ("not_found", False, None, None),
    ]
    last = (await attempts(licensing))[-1]
    assert (last["claimant_type"], last["claimant_id"], last["product_id"]) == ("Group", group, product)


async def test_the_attempt_records_the_platform_and_the_first_forwarded_address(licensing) -> None:
    product = await licensing.product()
    platform = uuid4()
    headers = {"X-Forwarded-For": "203.0.113.7, 10.0.0.2"}
    reply = await licensing.put(
        self_path(product), licensing.customer, {"platform_id": str(platform)}, headers=headers
    )
    assert reply.status == 422
    await licensing.put(self_path(product), licensing.customer, {"authorization": {}})
    first, second = await attempts(licensing)
    assert (first["address"], first["platform_id"]) == ("203.0.113.7", platform)
    assert second["address"] == "127.0.0.1" and second["platform_id"] is None


async def test_a_hostile_body_is_refused_before_any_check(licensing) -> None:
    product = await licensing.product()
    for body in ({"platform_id": "nope"}, {"platform_id": str(uuid4()), "extra": 1}, [1]):
        reply = await licensing.put(self_path(product), licensing.customer, body)
        assert reply.status == 422, reply
    long_hop = {"X-Forwarded-For": "x" * 5000}
    assert (await licensing.put(self_path(product), licensing.customer, headers=long_hop)).status == 422
    [attempt] = await attempts(licensing)
    assert attempt["address"] == "x" * 64
    assert (await licensing.put("/authorizations/products/not-a-uuid", licensing.customer)).status == 404
