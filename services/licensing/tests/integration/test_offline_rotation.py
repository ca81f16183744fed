"""Key rotation and a missing signing key, each on a licensing app of its own.

A document signed before a rotation keeps verifying against the key set published after
it (the old key is retired, not gone); with no signing key the service still publishes
its retired keys but says 503 to document requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hspm.client import offline
from hspm.client.offline import KeySet
from hspm.common.testing import TEST_INTERNAL_SECRET, broker, served_on_own_database, user
from hspm.common.testing.client import ServiceClient
from hspm.licensing.app import create_app
from hspm.licensing.config import Settings
from hspm.licensing.keys import settings_key

KEYS_PATH = "/.well-known/hspm-license-keys"


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@contextlib.asynccontextmanager
async def served(pg_dsn: str, amqp_url: str, **keys: Any) -> AsyncIterator[tuple[ServiceClient, str]]:
    namespace = broker.namespace("tlicrot")

    def make_app(dsn: str) -> Any:
        values = {
            "database_url": dsn,
            "amqp_url": amqp_url,
            "amqp_namespace": namespace,
            "internal_secret": TEST_INTERNAL_SECRET,
            "public_url": "http://marketplace.test",
            "db_pool_min": 1,
            "db_pool_max": 2,
            "expiry_sweep_seconds": 0,
        }
        return create_app(Settings(**(values | keys)))

    async with served_on_own_database(pg_dsn, "hspm_test_licensing_keys", make_app) as (client, dsn):
        yield ServiceClient(client=client), dsn


async def issued_document(licensing: Any) -> bytes:
    """A document the running licensing app (the old key) signs for the customer."""
    db = await licensing.db()
    product, lid, plid, eid = await licensing.product(), uuid4(), uuid4(), uuid4()
    await db.execute(
        "INSERT INTO licenses (id, name, url) VALUES ($1, 'Forever', $2)", lid, f"https://l.test/{lid}"
    )
    await db.execute(
        "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)", plid, product, lid
    )
    await db.execute(
        "INSERT INTO entitlements (id, user_id, product_license_id) VALUES ($1, $2, $3)",
        eid,
        licensing.customer.user_id,
        plid,
    )
    r = await licensing.get(f"/entitlements/{eid}/license", licensing.customer)
    assert r.status == 200, r
    raw: bytes = r.raw
    return raw


def old_key(licensing: Any) -> Ed25519PrivateKey:
    pem = licensing.client.server.app[settings_key].license_signing_key.get_secret_value()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


async def test_a_document_signed_before_a_rotation_verifies_after_it(licensing, pg_dsn, amqp_url) -> None:
    raw = await issued_document(licensing)
    old, new = old_key(licensing), Ed25519PrivateKey.generate()
    rotated = {"license_signing_key": private_pem(new), "license_retired_public_keys": public_pem(old)}
    async with served(pg_dsn, amqp_url, **rotated) as (service, _):
        jwks = (await service.get(KEYS_PATH)).body
    assert [k["kid"] for k in jwks["keys"]] == [offline.kid_of(new), offline.kid_of(old)]
    assert offline.verify(raw, KeySet.from_jwks(jwks)).kid == offline.kid_of(old)


async def test_without_a_signing_key_documents_are_503_and_retired_keys_still_publish(
    licensing, pg_dsn, amqp_url
) -> None:
    raw = await issued_document(licensing)
    holder = user()
    retired = public_pem(old_key(licensing)) + "\n" + public_pem(Ed25519PrivateKey.generate())
    async with served(pg_dsn, amqp_url, license_signing_key="", license_retired_public_keys=retired) as (
        service,
        dsn,
    ):
        jwks = (await service.get(KEYS_PATH)).body
        eid = await _entitlement(dsn, holder.user_id)
        r = await service.get(f"/entitlements/{eid}/license", holder)
    assert r.status == 503, r
    assert "HSPM_LICENSE_SIGNING_KEY" in r.body["message"]
    assert len(jwks["keys"]) == 2
    assert offline.verify(raw, KeySet.from_jwks(jwks)).licensee_id == licensing.customer.user_id


async def _entitlement(dsn: str, holder: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        product, lid, plid, eid = uuid4(), uuid4(), uuid4(), uuid4()
        await conn.execute("INSERT INTO products (id, owner_id, name) VALUES ($1, $2, 'P')", product, uuid4())
        await conn.execute("INSERT INTO licenses (id, name, url) VALUES ($1, 'L', 'https://l.test/x')", lid)
        await conn.execute(
            "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)",
            plid,
            product,
            lid,
        )
        await conn.execute(
            "INSERT INTO entitlements (id, user_id, product_license_id) VALUES ($1, $2, $3)",
            eid,
            holder,
            plid,
        )
    finally:
        await conn.close()
    return eid
