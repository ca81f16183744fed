"""Entitlements over HTTP: who grants, sees, hands over and revokes them, and what is announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hspm.common.auth import Principal

E = "/entitlements"


async def grant(licensing: Any, o: Any, holder: Principal | None = None, **extra: Any) -> dict[str, Any]:
    who = holder or licensing.customer
    r = await licensing.post(
        E, licensing.operator, {"user_id": str(who.user_id), "product_license_id": str(o.id), **extra}
    )
    assert r.status == 201, r
    return dict(r.body)


# --- granting ----------------------------------------------------------------------------------


async def test_staff_grant_renders_the_entitlement_and_its_location(licensing) -> None:
    o = await licensing.offer(uses=5)
    r = await licensing.post(
        E,
        licensing.operator,
        {"entitlement": {"user_id": str(licensing.customer.user_id), "product_license_id": str(o.id)}},
    )
    assert r.status == 201, r
    body = r.body
    assert r.headers["Location"] == body["url"] == f"http://marketplace.test/entitlements/{body['id']}"
    assert body["claims_url"] == body["url"] + "/claims"
    assert body["user_id"] == str(licensing.customer.user_id)
    assert (body["product_id"], body["license_id"]) == (str(o.product_id), str(o.license_id))
    assert (body["source"], body["state"], body["uses"], body["uses_count"]) == ("staff", "active", 5, 0)
    assert body["valid_until"] is None
    assert body["valid_from"].endswith("Z")


async def test_granting_creates_the_holders_own_claim(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    r = await licensing.get(f"{E}/{ent['id']}/claims", licensing.customer)
    assert r.status == 200, r
    [claim] = r.body["results"]
    assert (claim["claimant_type"], claim["claimant_id"]) == ("User", str(licensing.customer.user_id))
    assert claim["authorization_count"] == 0 and claim["authorized_at"] is None


async def test_a_grant_is_announced_with_its_window(licensing) -> None:
    o = await licensing.offer(expiry="relative_date", days_valid=30)
    mark = await licensing.outbox_mark()
    start = datetime(2030, 1, 1, tzinfo=UTC)
    ent = await grant(licensing, o, valid_from=start.isoformat())
    [event] = await licensing.events(mark, "licensing.entitlement.granted")
    assert event["entitlement_id"] == ent["id"]
    assert event["user_id"] == str(licensing.customer.user_id)
    assert (event["product_id"], event["license_id"]) == (str(o.product_id), str(o.license_id))
    assert event["product_license_id"] == str(o.id)
    assert event["source"] == "staff"
    assert datetime.fromisoformat(event["valid_until"]) == start + timedelta(days=30)
    assert ent["valid_until"] == "2030-01-31T00:00:00Z" and ent["state"] == "upcoming"


async def test_the_isv_grants_on_its_own_products_only(licensing) -> None:
    mine, theirs = await licensing.offer(), await licensing.offer(owner=licensing.other_isv)
    body = {"user_id": str(licensing.customer.user_id), "product_license_id": str(mine.id)}
    r = await licensing.post(E, licensing.isv, body)
    assert r.status == 201, r
    assert r.body["source"] == "isv"
    r = await licensing.post(E, licensing.isv, body | {"product_license_id": str(theirs.id)})
    assert r.status == 403, r


async def test_customers_and_auditors_cannot_grant_and_anonymous_is_401(licensing) -> None:
    o = await licensing.offer()
    body = {"user_id": str(licensing.customer.user_id), "product_license_id": str(o.id)}
    for who in (licensing.customer, licensing.auditor):
        assert (await licensing.post(E, who, body)).status == 403
    assert (await licensing.post(E, None, body)).status == 401
    assert await (await licensing.db()).fetchval("SELECT count(*) FROM entitlements") == 0


async def test_a_scoped_token_without_the_key_narrows_the_isvs_rights(licensing) -> None:
    o = await licensing.offer()
    isv = licensing.isv
    scoped = Principal(kind="user", user_id=isv.user_id, permissions=isv.permissions, scopes=frozenset())
    body = {"user_id": str(licensing.customer.user_id), "product_license_id": str(o.id)}
    assert (await licensing.post(E, scoped, body)).status == 403


async def test_unknown_user_and_offer_are_field_errors(licensing) -> None:
    body = {"user_id": str(uuid4()), "product_license_id": str(uuid4())}
    r = await licensing.post(E, licensing.operator, body)
    assert r.status == 422, r
    assert set(r.errors) == {"user_id", "product_license_id"}
    o = await licensing.offer()
    r = await licensing.post(E, licensing.isv, body | {"product_license_id": str(o.id)})
    assert r.status == 422 and set(r.errors) == {"user_id"}, r


async def test_a_customer_learns_nothing_about_user_ids(licensing) -> None:
    """Only a caller allowed to grant is told whether a user exists."""
    o = await licensing.offer()
    r = await licensing.post(
        E, licensing.customer, {"user_id": str(uuid4()), "product_license_id": str(o.id)}
    )
    assert r.status == 403, r


async def test_hostile_bodies_are_422_not_500(licensing) -> None:
    o = await licensing.offer()
    good = {"user_id": str(licensing.customer.user_id), "product_license_id": str(o.id)}
    for bad in (
        good | {"source": "voucher"},
        good | {"uses_count": 0},
        good | {"external_id": "x" * 201},
        good | {"valid_from": "yesterday"},
        {"user_id": "not-a-uuid", "product_license_id": str(o.id)},
    ):
        assert (await licensing.post(E, licensing.operator, bad)).status == 422, bad


async def test_a_client_chosen_id_is_kept_and_a_taken_one_is_409(licensing) -> None:
    o, chosen = await licensing.offer(), uuid4()
    ent = await grant(licensing, o, id=str(chosen))
    assert ent["id"] == str(chosen)
    r = await licensing.post(
        E,
        licensing.operator,
        {"id": str(chosen), "user_id": str(licensing.customer.user_id), "product_license_id": str(o.id)},
    )
    assert r.status == 409, r


# --- reading -------------------------------------------------------------------------------------


async def test_who_sees_an_entitlement(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    path = f"{E}/{ent['id']}"
    for who in (licensing.customer, licensing.isv, licensing.auditor, licensing.operator, licensing.admin):
        assert (await licensing.get(path, who)).status == 200, who.name
    for who in (licensing.other_customer, licensing.other_isv):
        assert (await licensing.get(path, who)).status == 404, who.name
    assert (await licensing.get(path)).status == 401
    assert (await licensing.get(f"{E}/not-a-uuid", licensing.operator)).status == 404


async def test_the_index_is_scoped_to_the_caller(licensing) -> None:
    mine, theirs = await licensing.offer(), await licensing.offer(owner=licensing.other_isv)
    a = await grant(licensing, mine)
    b = await grant(licensing, theirs)
    c = await grant(licensing, theirs, holder=licensing.other_customer)

    async def ids(who: Principal, query: str = "") -> set[str]:
        r = await licensing.get(f"{E}{query}", who)
        assert r.status == 200, r
        return {e["id"] for e in r.body["results"]}

    assert await ids(licensing.customer) == {a["id"], b["id"]}
    assert await ids(licensing.isv) == {a["id"]}
    assert await ids(licensing.other_isv) == {b["id"], c["id"]}
    assert await ids(licensing.auditor) == {a["id"], b["id"], c["id"]}
    assert await ids(licensing.operator, f"?product_id={theirs.product_id}") == {b["id"], c["id"]}
    assert await ids(licensing.operator, f"?user_id={licensing.other_customer.user_id}") == {c["id"]}
    assert await ids(licensing.operator, f"?product_license_id={mine.id}") == {a["id"]}
    assert await ids(licensing.operator, f"?license_id={theirs.license_id}") == {b["id"], c["id"]}


async def test_the_index_filters_by_state_and_sorts(licensing) -> None:
    o = await licensing.offer(expiry="relative_date", days_valid=1)
    now = datetime.now(UTC)
    active = await grant(licensing, o)
    upcoming = await grant(licensing, o, valid_from=(now + timedelta(days=3)).isoformat())
    expired = await grant(licensing, o, valid_from=(now - timedelta(days=3)).isoformat())
    for state, ent in (("active", active), ("upcoming", upcoming), ("expired", expired)):
        r = await licensing.get(f"{E}?state={state}", licensing.operator)
        assert [e["id"] for e in r.body["results"]] == [ent["id"]], state
        assert r.body["results"][0]["state"] == state
    r = await licensing.get(f"{E}?sort=valid_from&order=desc", licensing.operator)
    assert [e["id"] for e in r.body["results"]] == [upcoming["id"], active["id"], expired["id"]]
    for bad in ("?state=gone", "?sort=user_id", "?user_id=nope", "?per_page=0"):
        assert (await licensing.get(E + bad, licensing.operator)).status == 422, bad


# --- updating --------------------------------------------------------------------------------------


async def test_staff_update_any_field(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    start = "2031-05-01T12:00:00Z"
    r = await licensing.patch(
        f"{E}/{ent['id']}",
        licensing.operator,
        {"valid_from": "2031-05-01T14:00:00+02:00", "external_id": "order-7"},
    )
    assert r.status == 200, r
    assert (r.body["valid_from"], r.body["external_id"], r.body["state"]) == (start, "order-7", "upcoming")


async def test_the_holder_hands_it_over_once_and_the_claim_follows(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    path = f"{E}/{ent['id']}"
    # The whole record echoed back, with only the holder changed: the reference UI does that.
    echoed = ent | {"user_id": str(licensing.other_customer.user_id)}
    r = await licensing.put(path, licensing.customer, echoed)
    assert r.status == 200, r
    assert r.body["user_id"] == str(licensing.other_customer.user_id)
    claims = (await licensing.get(f"{path}/claims", licensing.other_customer)).body["results"]
    assert [(c["claimant_type"], c["claimant_id"]) for c in claims] == [
        ("User", str(licensing.other_customer.user_id))
    ]
    assert (await licensing.get(path, licensing.customer)).status == 404
    # The new holder may not pass it on again.
    back = {"user_id": str(licensing.customer.user_id)}
    assert (await licensing.patch(path, licensing.other_customer, back)).status == 409
    # Staff may.
    assert (await licensing.patch(path, licensing.operator, back)).status == 200


async def test_the_holder_changes_nothing_else(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    path = f"{E}/{ent['id']}"
    r = await licensing.patch(path, licensing.customer, {"valid_from": "2020-01-01T00:00:00Z"})
    assert r.status == 403, r
    r = await licensing.patch(path, licensing.customer, {"user_id": str(uuid4())})
    assert r.status == 422 and set(r.errors) == {"user_id"}, r
    for who, status in ((licensing.isv, 403), (licensing.auditor, 403), (licensing.other_customer, 404)):
        r = await licensing.patch(path, who, {"external_id": "x"})
        assert r.status == status, who.name


# --- revoking ---------------------------------------------------------------------------------------


async def test_revoke_keeps_the_row_hides_it_and_is_announced_once(licensing) -> None:
    o = await licensing.offer()
    ent = await grant(licensing, o)
    path = f"{E}/{ent['id']}"
    mark = await licensing.outbox_mark()
    assert (await licensing.delete(path, licensing.isv)).status == 204
    [event] = await licensing.events(mark, "licensing.entitlement.revoked")
    assert event == event | {
        "entitlement_id": ent["id"],
        "user_id": str(licensing.customer.user_id),
        "product_id": str(o.product_id),
    }
    assert (await licensing.delete(path, licensing.operator)).status == 404
    assert await licensing.events(mark, "licensing.entitlement.revoked") == [event]
    assert await (await licensing.db()).fetchval("SELECT revoked_at IS NOT NULL FROM entitlements") is True
    # Gone for the holder; staff, auditors and the ISV see it only when they ask for it.
    assert (await licensing.get(path, licensing.customer)).status == 404
    assert (await licensing.get(E, licensing.customer)).body["results"] == []
    assert (await licensing.get(f"{E}?state=revoked", licensing.customer)).body["results"] == []
    assert (await licensing.get(E, licensing.operator)).body["results"] == []
    for who in (licensing.operator, licensing.auditor, licensing.isv):
        [shown] = (await licensing.get(f"{E}?state=revoked", who)).body["results"]
        assert shown["state"] == "revoked", who.name
        assert (await licensing.get(path, who)).body["state"] == "revoked"
    # Nothing changes on a revoked entitlement.
    assert (await licensing.patch(path, licensing.operator, {"external_id": "x"})).status == 409


async def test_who_may_revoke(licensing) -> None:
    ent = await grant(licensing, await licensing.offer())
    path = f"{E}/{ent['id']}"
    for who, status in (
        (licensing.customer, 403),
        (licensing.auditor, 403),
        (licensing.other_isv, 404),
        (licensing.other_customer, 404),
    ):
        assert (await licensing.delete(path, who)).status == status, who.name
    assert (await licensing.delete(path)).status == 401
    assert (await licensing.delete(path, licensing.operator)).status == 204
