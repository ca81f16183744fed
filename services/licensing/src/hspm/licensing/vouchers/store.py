"""All SQL of vouchers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# A voucher with its product and the product's owner (the issuing ISV's rights).
VOUCHERS = (
    "(SELECT v.*, pl.product_id, p.owner_id FROM vouchers v "
    "JOIN product_licenses pl ON pl.id = v.product_license_id "
    "LEFT JOIN products p ON p.id = pl.product_id) AS x"
)
STATE = (
    "CASE WHEN redeemed_at IS NOT NULL THEN 'redeemed' "
    "WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired' ELSE 'redeemable' END"
)
VOUCHER_COLS = f"*, {STATE} AS state"


async def insert_vouchers(
    conn: Conn,
    ids: list[UUID],
    codes: list[str],
    product_license_id: UUID,
    expires_at: datetime | None,
    by: UUID | None,
) -> list[UUID]:
    """The ids inserted; a code already taken is skipped (the caller draws another)."""
    rows = await conn.fetch(
        "INSERT INTO vouchers (id, code, product_license_id, expires_at, issued_by) "
        "SELECT unnest($1::uuid[]), unnest($2::text[]), $3, $4, $5 "
        "ON CONFLICT (code) DO NOTHING RETURNING id",
        ids,
        codes,
        product_license_id,
        expires_at,
        by,
    )
    return [r["id"] for r in rows]


async def get_vouchers(conn: Conn, ids: list[UUID]) -> list[Record]:
    return list(
        await conn.fetch(
            f"SELECT {VOUCHER_COLS} FROM {VOUCHERS} WHERE id = ANY($1::uuid[]) ORDER BY code", ids
        )
    )


async def get_voucher(conn: Conn, voucher_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {VOUCHER_COLS} FROM {VOUCHERS} WHERE id = $1", voucher_id)


async def list_vouchers(
    conn: Conn, page: PageParams, filters: dict[str, Any], scope: dict[str, Any]
) -> tuple[list[Record], int]:
    """``scope``: ``everything``, or the caller as product ``owner`` and as ``redeemer``."""
    where = sql.Where()
    for column in ("product_license_id", "product_id"):
        if filters.get(column) is not None:
            where.add(f"{column} = {{}}", filters[column])
    if filters.get("redeemed") is not None:
        where.add("(redeemed_at IS NOT NULL) = {}", filters["redeemed"])
    if not scope["everything"]:
        where.add("(owner_id = {} OR redeemed_by = {})", scope["owner"], scope["redeemer"])
    return await sql.page(conn, VOUCHERS, VOUCHER_COLS, where, page)


async def redeem(conn: Conn, code: str, redeemer: UUID, now: datetime | None) -> Record | None:
    """The one statement that decides which redemption of a code wins; None for all others
    (and for unknown or expired codes). ``now`` None is the database's clock."""
    return await conn.fetchrow(
        "UPDATE vouchers SET redeemed_at = coalesce($3::timestamptz, now()), redeemed_by = $2, "
        "updated_at = now() "
        "WHERE code = $1 AND redeemed_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > coalesce($3::timestamptz, now())) "
        "RETURNING id, product_license_id, redeemed_at, redeemed_by",
        code,
        redeemer,
        now,
    )


async def find_by_code(conn: Conn, code: str) -> Record | None:
    """Why a redemption found nothing: the voucher's state, if the code exists."""
    return await conn.fetchrow("SELECT id, redeemed_at, expires_at FROM vouchers WHERE code = $1", code)


async def set_entitlement(conn: Conn, voucher_id: UUID, entitlement_id: UUID) -> None:
    await conn.execute("UPDATE vouchers SET entitlement_id = $2 WHERE id = $1", voucher_id, entitlement_id)


async def set_expiry(conn: Conn, voucher_id: UUID, expires_at: datetime | None) -> bool:
    """Only while unredeemed: one statement, so it cannot race a redemption."""
    done = await conn.fetchval(
        "UPDATE vouchers SET expires_at = $2, updated_at = now() "
        "WHERE id = $1 AND redeemed_at IS NULL RETURNING id",
        voucher_id,
        expires_at,
    )
    return done is not None


async def delete_unredeemed(conn: Conn, voucher_id: UUID) -> bool:
    """A redeemed voucher stays: it is the record of how its entitlement came about."""
    done = await conn.fetchval(
        "DELETE FROM vouchers WHERE id = $1 AND redeemed_at IS NULL RETURNING id", voucher_id
    )
    return done is not None
