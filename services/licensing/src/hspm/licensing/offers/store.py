"""All SQL of product licenses (offers).

An offer is read with its license's terms (one join) and its product's owner from the
``products`` read copy (a LEFT JOIN: NULL while the catalog has not told us of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

OFFERS = (
    "(SELECT pl.id, pl.product_id, pl.license_id, pl.external_id, pl.created_at, pl.updated_at, "
    "l.name AS license_name, l.url AS license_url, l.expiry, l.expires_at, l.days_valid, l.uses, "
    "p.owner_id "
    "FROM product_licenses pl JOIN licenses l ON l.id = pl.license_id "
    "LEFT JOIN products p ON p.id = pl.product_id) AS x"
)
OFFER_COLS = (
    "id, product_id, license_id, external_id, created_at, updated_at, license_name, license_url, "
    "expiry, expires_at, days_valid, uses, owner_id"
)
_PL_COLS = "id, product_id, license_id"


async def get_offer(conn: Conn, offer_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {OFFER_COLS} FROM {OFFERS} WHERE id = $1", offer_id)


async def list_offers(conn: Conn, product_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(conn, OFFERS, OFFER_COLS, sql.Where().add("product_id = {}", product_id), page)


async def owner_for_offer(conn: Conn, product_id: UUID) -> Record | None:
    """The product's read-copy row (``owner_id``), share-locked until commit.

    The lock orders an offer against the product's deletion (``delete_product``): the
    deletion either waits for the offer and then removes it, or runs first and the offer
    finds no product.
    """
    return await conn.fetchrow("SELECT id, owner_id FROM products WHERE id = $1 FOR SHARE", product_id)


async def insert_offer(conn: Conn, fields: Mapping[str, Any]) -> Record:
    """Raises asyncpg's UniqueViolationError (offered twice, id taken) or
    ForeignKeyViolationError (no such license)."""
    return await sql.insert(conn, "product_licenses", _PL_COLS, fields)


async def update_offer(conn: Conn, offer_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "product_licenses", _PL_COLS, offer_id, fields)


async def delete_offer(conn: Conn, offer_id: UUID) -> Record | None:
    """Entitlements and vouchers of it go too (foreign keys cascade)."""
    return await sql.delete(conn, "product_licenses", _PL_COLS, offer_id)


async def delete_offer_unless_used(conn: Conn, offer_id: UUID) -> tuple[bool, Record | None]:
    """Delete it only if no entitlement refers to it: ``(still there, deleted row)``.

    The offer is locked first (``FOR UPDATE``): a concurrent grant, which key-share locks
    the offer through its foreign key, has then either committed, and the next
    statement's snapshot sees its entitlement, or waits and fails on the foreign key.
    """
    row = await conn.fetchrow("SELECT id FROM product_licenses WHERE id = $1 FOR UPDATE", offer_id)
    if row is None:
        return False, None
    deleted = await conn.fetchrow(
        "DELETE FROM product_licenses WHERE id = $1 "
        f"AND NOT EXISTS (SELECT 1 FROM entitlements WHERE product_license_id = $1) RETURNING {_PL_COLS}",
        offer_id,
    )
    return True, deleted


async def offers_of_license(conn: Conn, license_id: UUID) -> list[Record]:
    rows = await conn.fetch(
        f"SELECT {_PL_COLS} FROM product_licenses WHERE license_id = $1 ORDER BY id", license_id
    )
    return list(rows)


async def count_offers_of_license(conn: Conn, license_id: UUID) -> int:
    count = await conn.fetchval("SELECT count(*) FROM product_licenses WHERE license_id = $1", license_id)
    return int(count)


async def delete_offers_of_product(conn: Conn, product_id: UUID) -> list[Record]:
    rows = await conn.fetch(
        f"DELETE FROM product_licenses WHERE product_id = $1 RETURNING {_PL_COLS}", product_id
    )
    return list(rows)
