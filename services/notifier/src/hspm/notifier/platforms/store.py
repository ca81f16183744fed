"""All SQL of platforms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

PLATFORM_COLS = "id, user_id, name, public_key, created_at, updated_at"


async def get_platform(conn: Conn, platform_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {PLATFORM_COLS} FROM platforms WHERE id = $1", platform_id)


async def list_platforms(
    conn: Conn, page: PageParams, user_id: UUID | None, name: str | None
) -> tuple[list[Record], int]:
    where = sql.Where()
    if user_id is not None:
        where.add("user_id = {}", user_id)
    if name:
        where.add("lower(name) LIKE {}", sql.like_pattern(name))
    column = "lower(name)" if page.sort == "name" else f'"{page.sort}"'
    return await sql.page(conn, "platforms", PLATFORM_COLS, where, page, order_by=f"{column} {page.order}")


async def insert_platform(conn: Conn, fields: Mapping[str, Any]) -> Record:
    """Raises asyncpg's UniqueViolationError when the id, or the name for this user, is taken."""
    return await sql.insert(conn, "platforms", PLATFORM_COLS, fields)


async def update_platform(conn: Conn, platform_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "platforms", PLATFORM_COLS, platform_id, fields)


async def delete_platform(conn: Conn, platform_id: UUID) -> Record | None:
    return await sql.delete(conn, "platforms", PLATFORM_COLS, platform_id)


async def platform_ids_of(conn: Conn, user_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT id FROM platforms WHERE user_id = $1", user_id)
    return [r["id"] for r in rows]
