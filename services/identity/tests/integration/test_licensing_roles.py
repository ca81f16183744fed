"""Migration 0004: the built-in Operator and Auditor roles hold the licensing keys."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import orjson

import hspm.identity
from hspm.common import permissions

OPERATOR_ROLE = UUID("00000000-0000-4000-8000-000000000002")
AUDITOR_ROLE = UUID("00000000-0000-4000-8000-000000000005")
MIGRATION = Path(hspm.identity.__file__).parent / "migrations" / "0004_licensing_roles.sql"
CRUD = ("create", "read", "update", "delete")
OPERATOR_ADDS = {
    *(f"{r}.{v}" for r in ("entitlements", "claims", "vouchers") for v in CRUD),
    "attempts.read",
    "authorizations.create",
}
# What 0001 gave them (kept: the migration adds, never takes away).
OPERATOR_BEFORE = {
    *(f"products.{v}" for v in (*CRUD, "publish")),
    *(f"builds.{v}" for v in (*CRUD, "validate")),
    "badges.award",
    "licenses.delete",
    "product_licenses.create",
    "recalls.create",
    "users.read",
}
AUDITOR_BEFORE = {"attempts.read", "claims.read", "entitlements.read", "licenses.read", "users.read"}


async def keys_of(identity, role_id: UUID) -> set[str]:
    reply = await identity.get(f"/roles/{role_id}", identity.admin)
    assert reply.status == 200, reply
    return permissions.granted(reply.body["permissions"])


async def test_the_operator_runs_licensing(identity) -> None:
    keys = await keys_of(identity, OPERATOR_ROLE)
    assert keys >= OPERATOR_ADDS
    assert keys >= OPERATOR_BEFORE
    # Still not an administrator of people or roles.
    assert not keys & {"users.update", "roles.update", "everything.manage", "groups.create"}


async def test_the_auditor_reads_vouchers_and_changes_nothing(identity) -> None:
    keys = await keys_of(identity, AUDITOR_ROLE)
    assert "vouchers.read" in keys
    assert keys >= AUDITOR_BEFORE
    assert all(k.endswith(".read") for k in keys)


async def test_other_built_in_roles_are_untouched(identity) -> None:
    isv = await keys_of(identity, UUID("00000000-0000-4000-8000-000000000003"))
    customer = await keys_of(identity, UUID("00000000-0000-4000-8000-000000000004"))
    assert not (isv | customer) & (OPERATOR_ADDS | {"vouchers.read"})


async def test_the_gateway_receives_the_new_keys(identity) -> None:
    """Appointed operators and auditors hold the keys, read the way the gateway reads them."""
    operator, auditor = await identity.make_user(), await identity.make_user()
    await identity.appoint(OPERATOR_ROLE, operator["id"])
    await identity.appoint(AUDITOR_ROLE, auditor["id"])
    assert await identity.effective(operator["id"]) >= OPERATOR_ADDS
    assert "vouchers.read" in await identity.effective(auditor["id"])


async def test_the_merge_keeps_edits_and_applies_once(identity) -> None:
    """Applied over an edited role: the edits stay; applied again: nothing more changes."""
    conn = await identity.db()
    sql = MIGRATION.read_text()
    edited = {"products": {"read": True}, "vouchers": {"read": False, "delete": False}, "x": {"y": True}}
    tx = conn.transaction()
    await tx.start()
    try:  # rolled back: the shared database stays as the migration left it
        await conn.execute(
            "UPDATE roles SET permissions = $1::jsonb WHERE id = $2",
            orjson.dumps(edited).decode(),
            OPERATOR_ROLE,
        )
        await conn.execute(sql)
        once = orjson.loads(await conn.fetchval("SELECT permissions FROM roles WHERE id = $1", OPERATOR_ROLE))
        await conn.execute(sql)
        twice = orjson.loads(
            await conn.fetchval("SELECT permissions FROM roles WHERE id = $1", OPERATOR_ROLE)
        )
    finally:
        await tx.rollback()
    assert once["products"] == {"read": True} and once["x"] == {"y": True}
    assert once["vouchers"] == dict.fromkeys(CRUD, True)
    assert once["entitlements"] == once["claims"] == dict.fromkeys(CRUD, True)
    assert once["attempts"] == {"read": True} and once["authorizations"] == {"create": True}
    assert twice == once
