"""All SQL of licenses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

LICENSE_COLS = (
    "id, name, description, url, expiry, expires_at, days_valid, uses, external_id, created_at, updated_at"
)


def _prefix_pattern(text: str) -> str:
    """A case-insensitive prefix pattern with LIKE's wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def get_license(conn: Conn, license_id: UUID, *, lock: bool = False) -> Record | None:
    """``lock`` holds the row until commit: offers of it (key-share locks) wait or are seen."""
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {LICENSE_COLS} FROM licenses WHERE id = $1{suffix}", license_id)


async def list_licenses(
    conn: Conn, page: PageParams, name: str | None, expiry: str | None
) -> tuple[list[Record], int]:
    where = sql.Where()
    if name:
        where.add("lower(name) LIKE {}", _prefix_pattern(name))
    if expiry:
        where.add("expiry = {}", expiry)
    # Names sort as people read them (any case); NULLs (no expires_at, no external_id)
    # sort last either way.
    column = "lower(name)" if page.sort == "name" else f'"{page.sort}"'
    order = f"{column} {page.order} NULLS LAST"
    return await sql.page(conn, "licenses", LICENSE_COLS, where, page, order_by=order)


async def insert_license(conn: Conn, fields: Mapping[str, Any]) -> Record:
    """Raises asyncpg's UniqueViolationError when the id, name or url is taken."""
    return await sql.insert(conn, "licenses", LICENSE_COLS, fields)


async def update_license(conn: Conn, license_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "licenses", LICENSE_COLS, license_id, fields)


async def delete_license(conn: Conn, license_id: UUID) -> Record | None:
    return await sql.delete(conn, "licenses", LICENSE_COLS, license_id)
