"""Rules of entitlements: who may grant, see, hand over and revoke them.

Staff hold the ``entitlements.*`` keys (auditors ``.read``). An ISV has owner rights on
the entitlements to its products (granting after its own checkout, seeing, revoking); a
customer on the entitlements they hold (seeing, one handover). Owner rights are narrowed
by a scoped API token. A record the caller may not see is 404, never 403.

Revoked entitlements stay (offline documents list them as revoked) but never authorize;
only staff, auditors and the product's ISV see them, and only when they ask for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hspm.common.events.licensing import EntitlementExpired, EntitlementGranted, EntitlementRevoked
from hspm.common.paging import PageParams
from hspm.licensing import terms
from hspm.licensing.directory import service as directory
from hspm.licensing.entitlements import models, store
from hspm.licensing.events import emit
from hspm.licensing.offers import service as offers

Record = asyncpg.Record
Source = Literal["staff", "isv", "voucher"]
SORTS = ("created_at", "valid_from")
STATES = ("active", "expired", "revoked", "upcoming")
NOT_FOUND = "Entitlement not found."
REVOKED = "The entitlement is revoked."
# Entitlements announced as expired per sweep statement: a backlog drains in batches, each
# its own short transaction, instead of one long one holding locks on thousands of rows.
SWEEP_BATCH = 500


# --- for the other areas ---------------------------------------------------------------------


async def grant(
    conn: Conn,
    product_license_id: UUID,
    user_id: UUID,
    valid_from: datetime | None,
    source: Source,
    granted_by: UUID | None,
    external_id: str | None = None,
    *,
    entitlement_id: UUID | None = None,
) -> Record:
    """A new entitlement and its holder's own claim (the check counts claims); announced.

    No permission check: the caller decided. ``valid_from`` None is the database's now.
    """
    fields = {
        "id": entitlement_id or uuid4(),
        "user_id": user_id,
        "product_license_id": product_license_id,
        "valid_from": valid_from,
        "source": source,
        "granted_by": granted_by,
        "external_id": external_id,
    }
    try:
        new_id = await store.insert_entitlement(conn, fields)
    except asyncpg.ForeignKeyViolationError as exc:  # the offer was withdrawn meanwhile
        raise ValidationFailed.field("product_license_id", "does not exist") from exc
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            "An entitlement with this id already exists.", errors={"id": ["has already been taken"]}
        ) from exc
    await store.insert_claim(conn, uuid4(), new_id, "User", user_id)
    row = await _row(conn, new_id)
    await emit(conn, _granted(row))
    return row


def valid_until(row: Record) -> datetime | None:
    """The end of the entitlement's window (``terms``), from a row of this area."""
    return terms.valid_until(row["expiry"], row["valid_from"], row["days_valid"], row["expires_at"])


async def sweep_expired(conn: Conn, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Announce, once each, up to ``limit`` entitlements whose window closed by ``now``."""
    rows = await store.mark_expired(conn, now, limit)
    for r in rows:
        await emit(
            conn,
            EntitlementExpired(
                entitlement_id=r["id"],
                user_id=r["user_id"],
                product_id=r["product_id"],
                expired_at=r["expired_at"],
            ),
        )
    return len(rows)


async def forget_user(conn: Conn, user_id: UUID) -> None:
    """Identity deleted the user: their entitlements (claims cascade), their claims, the copy."""
    await store.delete_user_entitlements(conn, user_id)
    await store.delete_claims_of(conn, "User", user_id)
    await directory.forget_user(conn, user_id)


async def forget_group(conn: Conn, group_id: UUID) -> None:
    await store.delete_claims_of(conn, "Group", group_id)
    await directory.forget_group(conn, group_id)


# --- the routes --------------------------------------------------------------------------------


async def create_entitlement(conn: Conn, p: Principal, body: models.EntitlementCreate) -> Record:
    """Staff grant any offer ('staff'); an ISV the offers of its own products ('isv')."""
    offer = await offers.get_offer(conn, body.product_license_id)
    staff = p.can("entitlements", "create")
    errors: dict[str, list[str]] = {}
    if offer is None:
        # Offers are public (the catalog lists them): saying so reveals nothing.
        errors["product_license_id"] = ["does not exist"]
    elif not staff:
        p.require_or_owner("entitlements", "create", offer["owner_id"])
    # Only a caller allowed to grant learns whether a user id exists.
    if (staff or offer is not None) and not await directory.user_exists(conn, body.user_id):
        errors["user_id"] = ["does not exist"]
    if errors:
        raise ValidationFailed(errors)
    source: Source = "staff" if staff else "isv"
    return await grant(
        conn,
        body.product_license_id,
        body.user_id,
        body.valid_from,
        source,
        p.user_id,
        body.external_id,
        entitlement_id=body.id,
    )


async def list_entitlements(
    conn: Conn, p: Principal, page: PageParams, filters: dict[str, Any]
) -> tuple[list[Record], int]:
    """All with ``entitlements.read``; else those held, and those of the caller's products.

    Revoked ones only when ``state=revoked`` is asked, and never to their holder.
    """
    state = filters.get("state")
    if state is not None and state not in STATES:
        raise ValidationFailed.field("state", f"must be one of: {', '.join(STATES)}")
    scope = {
        "everything": p.can("entitlements", "read"),
        "holder": None if state == "revoked" else _as_owner(p, "read"),
        "owner": _as_owner(p, "read"),
    }
    return await store.list_entitlements(conn, page, filters, scope)


async def get_entitlement(
    conn: Conn, p: Principal, entitlement_id: UUID, resource: str = "entitlements"
) -> Record:
    """One the caller may see (as ``resource``: claims are read through their entitlement)."""
    row = await store.get_entitlement(conn, entitlement_id)
    if row is None or not sees(p, row, resource):
        raise NotFound(NOT_FOUND)
    return row


async def update_entitlement(
    conn: Conn, p: Principal, entitlement_id: UUID, body: models.EntitlementUpdate
) -> Record:
    """Staff change anything here; the holder only hands it over to another user, once."""
    row = await get_entitlement(conn, p, entitlement_id)
    changes = _changes(row, body)
    if not changes:
        return row
    staff = p.can("entitlements", "update")
    if not staff and not _may_hand_over(p, row, changes):
        raise Forbidden("You lack the permission entitlements.update.")
    if row["revoked_at"] is not None:
        raise Conflict(REVOKED)
    if "user_id" in changes and not await directory.user_exists(conn, changes["user_id"]):
        raise ValidationFailed.field("user_id", "does not exist")
    if staff:
        if not await store.update_entitlement(conn, entitlement_id, changes):
            raise Conflict(REVOKED)  # revoked meanwhile
    elif not await store.hand_over(conn, entitlement_id, row["user_id"], changes["user_id"]):
        raise Conflict("The entitlement has been handed over already; it can be handed over once.")
    if "user_id" in changes:
        await _follow_holder(conn, entitlement_id, row["user_id"], changes["user_id"])
    return await _row(conn, entitlement_id)


async def revoke_entitlement(conn: Conn, p: Principal, entitlement_id: UUID) -> None:
    """Staff, or the product's ISV; kept as revoked, announced once."""
    row = await get_entitlement(conn, p, entitlement_id)
    p.require_or_owner("entitlements", "delete", row["owner_id"])
    if not await store.revoke(conn, entitlement_id):
        raise NotFound(NOT_FOUND)  # revoked already, or concurrently
    await emit(
        conn,
        EntitlementRevoked(entitlement_id=row["id"], user_id=row["user_id"], product_id=row["product_id"]),
    )


# --- claims -----------------------------------------------------------------------------------


async def list_claims(
    conn: Conn, p: Principal, entitlement_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await get_entitlement(conn, p, entitlement_id, "claims")
    return await store.list_claims(conn, entitlement_id, page)


async def get_claim(conn: Conn, p: Principal, entitlement_id: UUID, claim_id: UUID) -> Record:
    await get_entitlement(conn, p, entitlement_id, "claims")
    row = await store.get_claim(conn, entitlement_id, claim_id)
    if row is None:
        raise NotFound("Claim not found.")
    return row


async def create_claim(conn: Conn, p: Principal, entitlement_id: UUID, body: models.ClaimCreate) -> Record:
    """The holder or staff; a User claimant must exist, a Group is taken on trust (identity
    announces memberships, not group creations)."""
    row = await get_entitlement(conn, p, entitlement_id, "claims")
    p.require_or_owner("claims", "create", row["user_id"])
    if row["revoked_at"] is not None:
        raise Conflict(REVOKED)
    if body.claimant_type == "User" and not await directory.user_exists(conn, body.claimant_id):
        raise ValidationFailed.field("claimant_id", "does not exist")
    claim = await store.insert_claim(conn, uuid4(), entitlement_id, body.claimant_type, body.claimant_id)
    if claim is None:
        raise Conflict(
            "The claimant already claims this entitlement.",
            errors={"claimant_id": ["has already been taken"]},
        )
    return claim


async def delete_claim(conn: Conn, p: Principal, entitlement_id: UUID, claim_id: UUID) -> None:
    row = await get_entitlement(conn, p, entitlement_id, "claims")
    if await store.get_claim(conn, entitlement_id, claim_id) is None:
        raise NotFound("Claim not found.")
    p.require_or_owner("claims", "delete", row["user_id"])
    if not await store.delete_claim(conn, entitlement_id, claim_id):
        raise NotFound("Claim not found.")


# --- helpers -----------------------------------------------------------------------------------


def sees(p: Principal, row: Record, resource: str = "entitlements") -> bool:
    """The key, the product's ISV, or the holder (who no longer sees a revoked one)."""
    if p.can(resource, "read") or p.may_as_owner(resource, "read", row["owner_id"]):
        return True
    return row["revoked_at"] is None and p.may_as_owner(resource, "read", row["user_id"])


def _as_owner(p: Principal, verb: str) -> UUID | None:
    """The caller's id where owner rights apply (a scoped token may leave the key out)."""
    return p.user_id if p.may_as_owner("entitlements", verb, p.user_id) else None


def _changes(row: Record, body: models.EntitlementUpdate) -> dict[str, Any]:
    """Fields set in ``body`` whose value differs: clients echo whole records back."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v != row[k]}
    if "valid_from" in changes and changes["valid_from"] is None:
        raise ValidationFailed.field("valid_from", "can't be blank")
    if "user_id" in changes and changes["user_id"] is None:
        raise ValidationFailed.field("user_id", "can't be blank")
    return changes


def _may_hand_over(p: Principal, row: Record, changes: dict[str, Any]) -> bool:
    """The holder changes nothing but who holds it."""
    return set(changes) == {"user_id"} and p.may_as_owner("entitlements", "update", row["user_id"])


async def _follow_holder(conn: Conn, entitlement_id: UUID, old: UUID, new: UUID) -> None:
    """The new holder may use it (their own claim), the old one no longer."""
    await store.move_user_claim(conn, entitlement_id, old, new)
    await store.insert_claim(conn, uuid4(), entitlement_id, "User", new)


async def _row(conn: Conn, entitlement_id: UUID) -> Record:
    row = await store.get_entitlement(conn, entitlement_id)
    assert row is not None
    return row


def _granted(row: Record) -> EntitlementGranted:
    return EntitlementGranted(
        entitlement_id=row["id"],
        user_id=row["user_id"],
        product_id=row["product_id"],
        product_license_id=row["product_license_id"],
        license_id=row["license_id"],
        valid_from=row["valid_from"],
        valid_until=valid_until(row),
        source=row["source"],
    )
