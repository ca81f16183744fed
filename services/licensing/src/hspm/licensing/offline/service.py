"""Rules of offline licenses: who gets a signed document for an entitlement, and what it says.

Whoever may see the entitlement (``entitlements.get_entitlement``: the key, the product's
ISV, its holder) may ask its status. A document is a grant that works without the
marketplace, so only those who may grant or hold one get it: staff (``entitlements.create``),
the product's ISV (owner rights on ``entitlements.create``) and the holder (owner rights
on ``entitlements.read``). Others who see it (auditors) get 403.

A document lasts ``offline_license_days`` from the later of its issue and the
entitlement's start, never past the entitlement's own end; holders fetch a fresh one.
Revocation is not in the document: it shows in the status, and no fresh document is issued.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.client.offline import License, sign
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, DomainError, Forbidden, NotFound, ServiceUnavailable
from hspm.licensing.directory import service as directory
from hspm.licensing.entitlements import service as entitlements
from hspm.licensing.offers import service as offers
from hspm.licensing.offline.keys import SigningKeys

Record = asyncpg.Record
NO_KEY = (
    "Offline licenses are not available: this marketplace has no license signing key "
    "(HSPM_LICENSE_SIGNING_KEY). Use the online check instead."
)


class Gone(DomainError, status=410, title="Gone"):
    """The entitlement was revoked: no document will be issued for it again."""


async def status(conn: Conn, p: Principal, entitlement_id: UUID) -> Record:
    """The entitlement (with its ``state``) for whoever may see it; 404 otherwise."""
    return await entitlements.get_entitlement(conn, p, entitlement_id)


async def document(
    conn: Conn,
    p: Principal,
    entitlement_id: UUID,
    keys: SigningKeys,
    *,
    now: datetime,
    issuer: str,
    days: int,
) -> dict[str, Any]:
    """A signed license document for the entitlement (format: ``hspm.client.offline``).

    404 unseen, 403 seen but not granted, 410 revoked, 409 expired, 503 no signing key.
    """
    row = await entitlements.get_entitlement(conn, p, entitlement_id)
    if not may_issue(p, row):
        raise Forbidden("You may see this entitlement, but not take its license offline.")
    if row["state"] == "revoked":
        raise Gone("The entitlement is revoked; no license document is issued for it.")
    if row["state"] == "expired" or row["expired_at"] is not None:
        raise Conflict("The entitlement has expired; no license document is issued for it.")
    if keys.private_key is None or keys.kid is None:
        raise ServiceUnavailable(NO_KEY)
    grant = await _license(conn, p, row, keys.kid, now, issuer, days)
    return sign(grant.to_payload(), keys.private_key, keys.kid)


def may_issue(p: Principal, row: Record) -> bool:
    """Who may grant it (staff, the product's ISV) or holds it."""
    if p.can("entitlements", "create") or p.may_as_owner("entitlements", "create", row["owner_id"]):
        return True
    return p.may_as_owner("entitlements", "read", row["user_id"])


async def _license(
    conn: Conn, p: Principal, row: Record, kid: str, now: datetime, issuer: str, days: int
) -> License:
    offer = await offers.get_offer(conn, row["product_license_id"])
    if offer is None:  # withdrawn since the entitlement was read; it cascades
        raise NotFound(entitlements.NOT_FOUND)
    product = await directory.product(conn, row["product_id"])
    covered = [c for c in await directory.covered(conn, row["product_id"]) if c != row["product_id"]]
    issued_at = now.replace(microsecond=0)
    valid_until = entitlements.valid_until(row)
    return License(
        id=uuid4(),
        issuer=issuer,
        kid=kid,
        entitlement_id=row["id"],
        licensee_id=row["user_id"],
        # The read copy of users keeps no names: only the holder's own request knows it.
        licensee_name=(p.name or None) if p.owns(row["user_id"]) else None,
        product_id=row["product_id"],
        product_name=product["name"] if product is not None else None,
        # The product first, then its sub-products: a license to a parent covers them.
        products=(row["product_id"], *covered),
        license_id=row["license_id"],
        license_name=offer["license_name"],
        expiry=row["expiry"],
        uses=row["uses"],
        valid_from=row["valid_from"],
        valid_until=valid_until,
        issued_at=issued_at,
        expires_at=expires_at(issued_at, row["valid_from"], valid_until, days),
    )


def expires_at(
    issued_at: datetime, valid_from: datetime, valid_until: datetime | None, days: int
) -> datetime:
    """When a document issued at ``issued_at`` stops: ``days`` after it can first be used (an
    entitlement may start later than today), and never past the entitlement's own end."""
    end = max(issued_at, valid_from) + timedelta(days=days)
    return end if valid_until is None else min(end, valid_until)
