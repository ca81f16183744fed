"""Offline licenses over HTTP: who gets a signed document, what it says, and that it verifies.

Licenses, offers and entitlements are written with SQL (as the runtime check's tests do);
revocation goes through ``DELETE /entitlements/{id}``, as it would in use.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hspm.client import offline
from hspm.client.offline import KeySet, NotYetValid
from hspm.common.auth import Principal
from hspm.common.testing import user
from hspm.licensing.keys import settings_key

PUBLIC_URL = "http://marketplace.test"
KEYS_PATH = "/.well-known/hspm-license-keys"


async def entitlement(
    licensing: Any,
    holder: Principal | None = None,
    *,
    expiry: str = "indefinite",
    days_valid: int = 0,
    starts_in: timedelta = timedelta(minutes=-1),
    product_id: UUID | None = None,
) -> UUID:
    """``holder`` (the customer) holds an entitlement to a product of the ISV, starting
    ``starts_in`` from the database's now."""
    db = await licensing.db()
    product = product_id or await licensing.product(licensing.isv, name="Radiology viewer")
    lid, plid, eid = uuid4(), uuid4(), uuid4()
    await db.execute(
        "INSERT INTO licenses (id, name, url, expiry, days_valid, expires_at, uses) "
        "VALUES ($1, 'Annual', $2, $3, $4, now() + interval '90 days', 7)",
        lid,
        f"https://licenses.test/{lid}",
        expiry,
        days_valid,
    )
    await db.execute(
        "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)", plid, product, lid
    )
    await db.execute(
        "INSERT INTO entitlements (id, user_id, product_license_id, valid_from) "
        "VALUES ($1, $2, $3, now() + $4::interval)",
        eid,
        (holder or licensing.customer).user_id,
        plid,
        starts_in,
    )
    return eid


async def key_set(licensing: Any) -> KeySet:
    return KeySet.from_jwks((await licensing.get(KEYS_PATH)).body)


def doc_path(eid: UUID) -> str:
    return f"/entitlements/{eid}/license"


async def test_the_holder_gets_a_document_that_verifies_offline(licensing) -> None:
    eid = await entitlement(licensing)
    r = await licensing.get(doc_path(eid), licensing.customer)
    assert r.status == 200, r
    assert r.headers["Cache-Control"] == "no-store"
    lic = offline.verify(r.raw, await key_set(licensing))
    assert lic.entitlement_id == eid
    assert (lic.licensee_id, lic.licensee_name) == (licensing.customer.user_id, "Carla Customer")
    assert lic.product_name == "Radiology viewer" and lic.covers(lic.product_id)
    assert (lic.license_name, lic.expiry, lic.uses, lic.valid_until) == ("Annual", "indefinite", 7, None)
    assert lic.issuer == PUBLIC_URL
    assert lic.expires_at - lic.issued_at == timedelta(days=30)
    assert r.body["format"] == "hspm-license/1" and r.body["signatures"][0]["kid"] == lic.kid


async def test_a_document_for_a_parent_covers_its_sub_products_and_nothing_above(licensing) -> None:
    grandparent, parent, child, grandchild = [await licensing.product(licensing.isv) for _ in range(4)]
    await licensing.child_of(grandparent, parent)
    await licensing.child_of(parent, child)
    await licensing.child_of(child, grandchild)
    eid = await entitlement(licensing, product_id=parent)
    lic = offline.verify(
        (await licensing.get(doc_path(eid), licensing.customer)).raw, await key_set(licensing)
    )
    assert lic.product_id == parent
    assert all(lic.covers(x) for x in (parent, child, grandchild))
    assert not lic.covers(grandparent)


async def test_a_document_never_outlasts_its_entitlement(licensing) -> None:
    eid = await entitlement(licensing, expiry="relative_date", days_valid=3)
    lic = offline.verify(
        (await licensing.get(doc_path(eid), licensing.customer)).raw, await key_set(licensing)
    )
    assert lic.valid_until == lic.valid_from + timedelta(days=3) == lic.expires_at


async def test_a_future_entitlement_gets_a_document_for_when_it_starts(licensing) -> None:
    eid = await entitlement(licensing, starts_in=timedelta(days=10))
    raw = (await licensing.get(doc_path(eid), licensing.customer)).raw
    keys = await key_set(licensing)
    with pytest.raises(NotYetValid) as early:
        offline.verify(raw, keys)
    lic = early.value.license
    assert offline.verify(raw, keys, lic.valid_from).expires_at == lic.valid_from + timedelta(days=30)


async def test_who_gets_a_document(licensing) -> None:
    eid = await entitlement(licensing)
    stranger = user()
    expected = {
        "customer": 200,
        "operator": 200,
        "admin": 200,
        "isv": 200,
        "auditor": 403,
        "other_isv": 404,
        "other_customer": 404,
    }
    for name, status in expected.items():
        r = await licensing.get(doc_path(eid), getattr(licensing, name))
        assert r.status == status, (name, r)
    assert (await licensing.get(doc_path(eid), stranger)).status == 404
    assert (await licensing.get(doc_path(eid))).status == 401
    assert (await licensing.get(doc_path(uuid4()), licensing.operator)).status == 404
    assert (await licensing.get("/entitlements/not-a-uuid/license", licensing.operator)).status == 404


async def test_only_the_holder_is_named(licensing) -> None:
    eid = await entitlement(licensing)
    keys = await key_set(licensing)
    for who in (licensing.operator, licensing.isv):
        lic = offline.verify((await licensing.get(doc_path(eid), who)).raw, keys)
        assert (lic.licensee_id, lic.licensee_name) == (licensing.customer.user_id, None)


async def test_a_scoped_token_needs_the_key_for_owner_rights(licensing) -> None:
    eid = await entitlement(licensing)
    narrow = replace(licensing.customer, scopes=frozenset({"products.read"}))
    wide = replace(licensing.customer, scopes=frozenset({"entitlements.read"}))
    assert (await licensing.get(doc_path(eid), narrow)).status == 404
    assert (await licensing.get(doc_path(eid), wide)).status == 200


async def test_a_revoked_entitlement_gets_no_document_and_shows_revoked(licensing) -> None:
    eid = await entitlement(licensing)
    assert (await licensing.delete(f"/entitlements/{eid}", licensing.isv)).status == 204
    for who in (licensing.isv, licensing.operator):
        r = await licensing.get(doc_path(eid), who)
        assert r.status == 410 and "revoked" in r.body["message"], r
    status = await licensing.get(f"{doc_path(eid)}/status", licensing.auditor)
    assert status.status == 200 and status.body["state"] == "revoked" and status.body["revoked_at"]
    # Revoked entitlements are hidden from their holder (the entitlements area's rule).
    assert (await licensing.get(doc_path(eid), licensing.customer)).status == 404
    assert (await licensing.get(f"{doc_path(eid)}/status", licensing.customer)).status == 404


async def test_an_expired_entitlement_gets_no_document(licensing) -> None:
    eid = await entitlement(licensing, expiry="relative_date", days_valid=1, starts_in=timedelta(days=-2))
    r = await licensing.get(doc_path(eid), licensing.customer)
    assert r.status == 409 and "expired" in r.body["message"], r
    assert (await licensing.get(f"{doc_path(eid)}/status", licensing.customer)).body["state"] == "expired"


async def test_the_status_is_for_whoever_sees_the_entitlement(licensing) -> None:
    eid = await entitlement(licensing, starts_in=timedelta(days=1))
    path = f"{doc_path(eid)}/status"
    for who in ("customer", "operator", "auditor", "isv"):
        r = await licensing.get(path, getattr(licensing, who))
        assert r.status == 200, (who, r)
        assert r.body["state"] == "upcoming" and r.body["entitlement_id"] == str(eid)
        assert (
            r.body["url"] == f"{PUBLIC_URL}{path}" and r.body["license_url"] == f"{PUBLIC_URL}{doc_path(eid)}"
        )
    assert (await licensing.get(path, licensing.other_customer)).status == 404
    assert (await licensing.get(path, licensing.other_isv)).status == 404
    assert (await licensing.get(path)).status == 401


async def test_the_key_set_is_public_cacheable_and_named_by_thumbprints(licensing) -> None:
    r = await licensing.get(KEYS_PATH)
    assert r.status == 200 and r.headers["Cache-Control"] == "public, max-age=300"
    pem = licensing.client.server.app[settings_key].license_signing_key.get_secret_value()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert r.body == {"keys": [offline.jwk(key.public_key())]}
    (jwk,) = r.body["keys"]
    assert set(jwk) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert jwk["kid"] == offline.thumbprint(key.public_key())


async def test_fifty_concurrent_requests_get_fifty_distinct_valid_documents(licensing) -> None:
    eid = await entitlement(licensing)
    replies = await asyncio.gather(*(licensing.get(doc_path(eid), licensing.customer) for _ in range(50)))
    keys = await key_set(licensing)
    found = [offline.verify(r.raw, keys) for r in replies]
    assert len({lic.id for lic in found}) == 50
    assert {lic.entitlement_id for lic in found} == {eid}
