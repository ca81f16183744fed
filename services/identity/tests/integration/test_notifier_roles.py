"""Migration 0005: the built-in Operator and Auditor roles hold the notifier's keys."""

from __future__ import annotations

from uuid import UUID

from hspm.common import permissions

OPERATOR_ROLE = UUID("00000000-0000-4000-8000-000000000002")
AUDITOR_ROLE = UUID("00000000-0000-4000-8000-000000000005")
OPERATOR_ADDS = {f"{r}.{v}" for r in ("platforms", "instances") for v in ("read", "update", "delete")}
AUDITOR_ADDS = {"platforms.read", "instances.read", "recalls.read"}


async def keys_of(identity, role_id: UUID) -> set[str]:
    reply = await identity.get(f"/roles/{role_id}", identity.admin)
    assert reply.status == 200, reply
    return permissions.granted(reply.body["permissions"])


async def test_operators_support_platforms_auditors_read_them(identity) -> None:
    operator = await keys_of(identity, OPERATOR_ROLE)
    assert operator >= OPERATOR_ADDS and "recalls.read" in operator
    assert not operator & {"platforms.create", "instances.create"}  # deploying is the customer's
    auditor = await keys_of(identity, AUDITOR_ROLE)
    assert auditor >= AUDITOR_ADDS
    assert all(k.endswith(".read") for k in auditor)


async def test_customers_and_isvs_get_no_platform_keys(identity) -> None:
    for role in ("00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"):
        keys = await keys_of(identity, UUID(role))
        assert not {k for k in keys if k.split(".")[0] in ("platforms", "instances")}
