"""All SQL of the runtime check and its attempts.

The check is one statement (``_check``): it walks the product's family, picks the first
claim that may be used, spends one use of its entitlement, counts the claim and records
the attempt. One statement is one transaction without BEGIN/COMMIT, so a check costs a
single round trip, and its attempt is committed whatever the answer is.

It reads the tables of other areas (licenses, offers, entitlements, claims) and the
directory's read copies directly: the check is the hot path, and going through their
services would cost a round trip each.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams
from hspm.licensing.authorizations.models import AttemptFilter

Record = asyncpg.Record

# The outcome of a check that lost its pick to a concurrent check (the entitlement ran
# out between the pick and the spend); nothing was written, and the caller runs it again.
RETRY = "retry"

# The product and every ancestor: the same walk as ``directory.store.family`` (cycle-safe
# through UNION, capped at $6 levels), inlined so the check stays one statement.
_FAMILY = """
family(id, depth) AS (
    SELECT $2::uuid, 0
    UNION
    SELECT pp.parent_id, f.depth + 1
    FROM product_parents pp JOIN family f ON pp.child_id = f.id
    WHERE f.depth < $6
)"""

# Who the check is for ($1) and whether they and the product exist.
_USER = """
known AS (
    SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)
       AND EXISTS (SELECT 1 FROM products WHERE id = $2) AS ok
),
claimants(type, id, rank) AS (
    SELECT 'User'::text, $1::uuid, 0
    UNION ALL
    SELECT 'Group'::text, m.group_id, 1 FROM memberships m WHERE m.user_id = $1
)"""
# Identity announces memberships, not groups: a group is known by a member or a claim.
_GROUP = """
known AS (
    SELECT (EXISTS (SELECT 1 FROM memberships WHERE group_id = $1)
            OR EXISTS (SELECT 1 FROM claims WHERE claimant_type = 'Group' AND claimant_id = $1))
       AND EXISTS (SELECT 1 FROM products WHERE id = $2) AS ok
),
claimants(type, id, rank) AS (
    SELECT 'Group'::text, $1::uuid, 0
)"""

# The window must agree with ``hspm.licensing.terms`` to the microsecond: half-open
# [valid_from, valid_until), and a relative license's days are 24-hour days (timedelta),
# hence hours: "interval '1 day'" would follow daylight-saving shifts of the session zone.
_WINDOW = """
    e.valid_from <= now()
    AND CASE l.expiry
        WHEN 'indefinite' THEN true
        WHEN 'relative_date' THEN e.valid_from + l.days_valid * interval '24 hours' > now()
        WHEN 'absolute_date' THEN l.expires_at > now()
        ELSE false
    END"""

_CLAIM_COLS = (
    "id",
    "claimant_id",
    "claimant_type",
    "entitlement_id",
    "authorization_count",
    "authorized_at",
    "created_at",
    "updated_at",
)

# pick: the first usable claim, own claims before groups', oldest first; its use limit
#   is judged on this statement's snapshot...
# spent: ...and decided again by the conditional UPDATE, which re-reads the row after
#   waiting for a concurrent check's lock: the limit can never be exceeded. Locks are
#   taken entitlement first, then its claim, by every check: no deadlock.
# verdict: 'retry' when the pick was lost that way (the next snapshot skips it).
# attempt: every definitive answer is recorded, in this same statement.
_DECIDE = f"""
pick AS (
    SELECT c.id AS claim_id, c.entitlement_id, l.uses
    FROM claimants k
    JOIN claims c ON c.claimant_type = k.type AND c.claimant_id = k.id
    JOIN entitlements e ON e.id = c.entitlement_id
    JOIN product_licenses pl ON pl.id = e.product_license_id
    JOIN licenses l ON l.id = pl.license_id
    WHERE (SELECT ok FROM known)
      AND e.revoked_at IS NULL
      AND pl.product_id IN (SELECT id FROM family)
      AND (l.uses = 0 OR e.uses_count < l.uses)
      AND {_WINDOW}
    ORDER BY k.rank, c.created_at, c.id
    LIMIT 1
),
spent AS (
    UPDATE entitlements e SET uses_count = e.uses_count + 1
    FROM pick
    WHERE e.id = pick.entitlement_id AND (pick.uses = 0 OR e.uses_count < pick.uses)
    RETURNING e.id
),
granted AS (
    UPDATE claims c
    SET authorization_count = c.authorization_count + 1, authorized_at = now(), updated_at = now()
    FROM pick, spent
    WHERE c.id = pick.claim_id
    RETURNING c.*
),
verdict AS (
    SELECT CASE
        WHEN NOT (SELECT ok FROM known) THEN 'not_found'
        WHEN EXISTS (SELECT 1 FROM granted) THEN 'granted'
        WHEN EXISTS (SELECT 1 FROM pick) THEN '{RETRY}'
        ELSE 'no_entitlement'
    END AS outcome
),
attempt AS (
    INSERT INTO attempts (id, product_id, claimant_type, claimant_id, claim_id, entitlement_id,
                          granted, outcome, address, platform_id)
    SELECT $3, $2, $7, $1, g.id, g.entitlement_id, v.outcome = 'granted', v.outcome, $4, $5
    FROM verdict v LEFT JOIN granted g ON true
    WHERE v.outcome <> '{RETRY}'
    RETURNING id
)
SELECT v.outcome, {", ".join("g." + c for c in _CLAIM_COLS)}
FROM verdict v LEFT JOIN granted g ON true
"""

CHECK_USER = f"WITH RECURSIVE {_FAMILY},{_USER},{_DECIDE}"
CHECK_GROUP = f"WITH RECURSIVE {_FAMILY},{_GROUP},{_DECIDE}"


async def check(
    conn: Conn,
    claimant_type: str,
    claimant_id: UUID,
    product_id: UUID,
    attempt_id: UUID,
    address: str | None,
    platform_id: UUID | None,
    max_depth: int,
) -> Record:
    """One try of the check for a user or a group: ``outcome`` and, when granted, the claim."""
    query = CHECK_USER if claimant_type == "User" else CHECK_GROUP
    row = await conn.fetchrow(
        query, claimant_id, product_id, attempt_id, address, platform_id, max_depth, claimant_type
    )
    assert row is not None
    return row


# --- attempts -------------------------------------------------------------------------------

ATTEMPT_COLS = (
    "id, product_id, claimant_type, claimant_id, claim_id, entitlement_id, granted, outcome, "
    "address, platform_id, created_at"
)


async def get_attempt(conn: Conn, attempt_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {ATTEMPT_COLS} FROM attempts WHERE id = $1", attempt_id)


async def list_attempts(
    conn: Conn, page: PageParams, f: AttemptFilter, products: list[UUID] | None
) -> tuple[list[Record], int]:
    """One page; ``products`` narrows to those products (an ISV's own), None is all."""
    where = sql.Where()
    if products is not None:
        where.add("product_id = ANY({})", products)
    conditions: tuple[tuple[str, Any], ...] = (
        ("product_id = {}", f.product_id),
        ("claimant_id = {}", f.claimant_id),
        ("claimant_type = {}", f.claimant_type),
        ("granted = {}", f.granted),
        ("outcome = {}", f.outcome),
        ("created_at >= {}", f.since),
        ("created_at < {}", f.until),
    )
    for fragment, value in conditions:
        if value is not None:
            where.add(fragment, value)
    # Both keys in the same direction: the (created_at DESC, id DESC) index serves either.
    order = f"created_at {page.order}, id {page.order}"
    return await sql.page(conn, "attempts", ATTEMPT_COLS, where, page, order_by=order)
