"""All SQL of entitlements and their claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# The end of an entitlement's window in SQL, for filters and the sweep; ``terms.valid_until``
# is the same rule in Python (a test holds them together). 24-hour days, not calendar days:
# ``interval '1 day'`` would follow the session's time zone across DST and disagree.
VALID_UNTIL = (
    "CASE l.expiry WHEN 'relative_date' THEN e.valid_from + l.days_valid * interval '24 hours' "
    "WHEN 'absolute_date' THEN l.expires_at END"
)
# An entitlement with its offer, license terms and the product's owner (the ISV's rights).
ENTITLEMENTS = (
    "(SELECT e.id, e.user_id, e.product_license_id, pl.product_id, pl.license_id, e.valid_from, "
    f"{VALID_UNTIL} AS valid_until, l.expiry, l.days_valid, l.expires_at, l.uses, e.source, "
    "e.granted_by, e.uses_count, e.expired_at, e.revoked_at, e.reassigned_at, e.external_id, "
    "e.created_at, e.updated_at, p.owner_id "
    "FROM entitlements e JOIN product_licenses pl ON pl.id = e.product_license_id "
    "JOIN licenses l ON l.id = pl.license_id LEFT JOIN products p ON p.id = pl.product_id) AS x"
)
# Half-open windows: valid at valid_from, no longer at valid_until.
STATE = (
    "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN valid_from > now() THEN 'upcoming' "
    "WHEN valid_until <= now() THEN 'expired' ELSE 'active' END"
)
ENTITLEMENT_COLS = f"*, {STATE} AS state"
CLAIM_COLS = (
    "id, entitlement_id, claimant_type, claimant_id, authorization_count, authorized_at, "
    "created_at, updated_at"
)


# --- entitlements ------------------------------------------------------------------------------


async def insert_entitlement(conn: Conn, fields: dict[str, Any]) -> UUID:
    """The new entitlement's id; ``valid_from`` None is the database's now."""
    row = await conn.fetchrow(
        "INSERT INTO entitlements (id, user_id, product_license_id, valid_from, source, granted_by, "
        "external_id) VALUES ($1, $2, $3, coalesce($4, now()), $5, $6, $7) RETURNING id",
        fields["id"],
        fields["user_id"],
        fields["product_license_id"],
        fields["valid_from"],
        fields["source"],
        fields["granted_by"],
        fields["external_id"],
    )
    assert row is not None
    result: UUID = row["id"]
    return result


async def get_entitlement(conn: Conn, entitlement_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {ENTITLEMENT_COLS} FROM {ENTITLEMENTS} WHERE id = $1", entitlement_id)


async def list_entitlements(
    conn: Conn, page: PageParams, filters: dict[str, Any], scope: dict[str, Any]
) -> tuple[list[Record], int]:
    """``filters``: column -> value (and ``state``); ``scope``: ``everything``, or the caller as
    ``holder`` and/or as product ``owner``, and whether revoked rows may show."""
    where = sql.Where()
    for column in ("user_id", "product_id", "product_license_id", "license_id"):
        if filters.get(column) is not None:
            where.add(f"{column} = {{}}", filters[column])
    if filters.get("state") is not None:
        where.add(STATE + " = {}", filters["state"])
    else:
        where.add("revoked_at IS NULL")
    if not scope["everything"]:
        _narrow(where, scope["holder"], scope["owner"])
    return await sql.page(conn, ENTITLEMENTS, ENTITLEMENT_COLS, where, page)


def _narrow(where: sql.Where, holder: UUID | None, owner: UUID | None) -> None:
    parts, values = [], []
    if holder is not None:
        parts.append("user_id = {}")
        values.append(holder)
    if owner is not None:
        parts.append("owner_id = {}")
        values.append(owner)
    if not parts:
        where.add("false")
        return
    where.add("(" + " OR ".join(parts) + ")", *values)


async def update_entitlement(conn: Conn, entitlement_id: UUID, fields: dict[str, Any]) -> bool:
    """Staff's update; a changed owner stamps ``reassigned_at``. False when revoked meanwhile."""
    sets = [f'"{name}" = ${i}' for i, name in enumerate(fields, 2)]
    if "user_id" in fields:
        sets.append("reassigned_at = now()")
    if "valid_from" in fields:
        # A moved window is judged afresh: the sweep announces it again if it is closed.
        sets.append("expired_at = NULL")
    done = await conn.fetchval(
        f"UPDATE entitlements SET {', '.join(sets)}, updated_at = now() "
        "WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        entitlement_id,
        *fields.values(),
    )
    return done is not None


async def hand_over(conn: Conn, entitlement_id: UUID, holder: UUID, to_user: UUID) -> bool:
    """The holder's one handover, decided by one statement: still theirs, never handed over."""
    done = await conn.fetchval(
        "UPDATE entitlements SET user_id = $3, reassigned_at = now(), updated_at = now() "
        "WHERE id = $1 AND user_id = $2 AND reassigned_at IS NULL AND revoked_at IS NULL RETURNING id",
        entitlement_id,
        holder,
        to_user,
    )
    return done is not None


async def revoke(conn: Conn, entitlement_id: UUID) -> bool:
    """Once: a second revoke (or a concurrent one) finds nothing to do."""
    done = await conn.fetchval(
        "UPDATE entitlements SET revoked_at = now(), updated_at = now() "
        "WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        entitlement_id,
    )
    return done is not None


async def delete_user_entitlements(conn: Conn, user_id: UUID) -> None:
    """Hard delete (a deleted user's data goes); claims follow by cascade."""
    await conn.execute("DELETE FROM entitlements WHERE user_id = $1", user_id)


# The sweep: entitlements whose window closed, not yet announced, at most $2 of them. One
# statement; SKIP LOCKED lets two replicas sweep at once without announcing a row twice.
_SWEEP = f"""
WITH due AS (
    SELECT e.id FROM entitlements e
    JOIN product_licenses pl ON pl.id = e.product_license_id
    JOIN licenses l ON l.id = pl.license_id
    WHERE e.expired_at IS NULL AND e.revoked_at IS NULL AND l.expiry <> 'indefinite'
      AND {VALID_UNTIL} <= $1
    ORDER BY e.id
    LIMIT $2
    FOR UPDATE OF e SKIP LOCKED
)
UPDATE entitlements e SET expired_at = $1, updated_at = now()
FROM due, product_licenses pl
WHERE e.id = due.id AND pl.id = e.product_license_id
RETURNING e.id, e.user_id, pl.product_id, e.expired_at
"""


async def mark_expired(conn: Conn, now: datetime, limit: int) -> list[Record]:
    return list(await conn.fetch(_SWEEP, now, limit))


# --- claims --------------------------------------------------------------------------------------


async def insert_claim(
    conn: Conn, claim_id: UUID, entitlement_id: UUID, claimant_type: str, claimant_id: UUID
) -> Record | None:
    """None when the claimant already claims this entitlement (one statement decides)."""
    return await conn.fetchrow(
        "INSERT INTO claims (id, entitlement_id, claimant_type, claimant_id) VALUES ($1, $2, $3, $4) "
        f"ON CONFLICT (entitlement_id, claimant_type, claimant_id) DO NOTHING RETURNING {CLAIM_COLS}",
        claim_id,
        entitlement_id,
        claimant_type,
        claimant_id,
    )


async def get_claim(conn: Conn, entitlement_id: UUID, claim_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {CLAIM_COLS} FROM claims WHERE id = $1 AND entitlement_id = $2", claim_id, entitlement_id
    )


async def list_claims(conn: Conn, entitlement_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(
        conn, "claims", CLAIM_COLS, sql.Where().add("entitlement_id = {}", entitlement_id), page
    )


async def delete_claim(conn: Conn, entitlement_id: UUID, claim_id: UUID) -> bool:
    done = await conn.fetchval(
        "DELETE FROM claims WHERE id = $1 AND entitlement_id = $2 RETURNING id", claim_id, entitlement_id
    )
    return done is not None


async def move_user_claim(conn: Conn, entitlement_id: UUID, old: UUID, new: UUID) -> None:
    """The holder's own claim follows a handover, its counts with it; the old holder's goes."""
    await conn.execute(
        "UPDATE claims SET claimant_id = $3, updated_at = now() "
        "WHERE entitlement_id = $1 AND claimant_type = 'User' AND claimant_id = $2 AND NOT EXISTS "
        "(SELECT 1 FROM claims WHERE entitlement_id = $1 AND claimant_type = 'User' AND claimant_id = $3)",
        entitlement_id,
        old,
        new,
    )
    await conn.execute(
        "DELETE FROM claims WHERE entitlement_id = $1 AND claimant_type = 'User' AND claimant_id = $2",
        entitlement_id,
        old,
    )


async def delete_claims_of(conn: Conn, claimant_type: str, claimant_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM claims WHERE claimant_type = $1 AND claimant_id = $2", claimant_type, claimant_id
    )
