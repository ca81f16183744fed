"""All SQL of groups and their members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record


async def insert_group(conn: Conn, group_id: UUID, name: str, description: str | None) -> Record:
    return await sql.insert(conn, "groups", "*", {"id": group_id, "name": name, "description": description})


async def get_group(conn: Conn, group_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM groups WHERE id = $1", group_id)


async def list_groups(
    conn: Conn, page: PageParams, name: str | None, ids: Sequence[UUID] | None
) -> tuple[list[Record], int]:
    """Groups by name, and only those among ``ids`` when given."""
    where = sql.Where()
    if name:
        where.add("lower(name) LIKE {}", sql.like_pattern(name))
    if ids is not None:
        where.add("id = ANY({}::uuid[])", list(ids))
    return await sql.page(conn, "groups", "*", where, page)


async def update_group(conn: Conn, group_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "groups", "*", group_id, fields)


async def delete_group(conn: Conn, group_id: UUID) -> Record | None:
    return await sql.delete(conn, "groups", "*", group_id)


async def member_ids(conn: Conn, group_id: UUID) -> list[UUID]:
    return [
        r["user_id"] for r in await conn.fetch("SELECT user_id FROM members WHERE group_id = $1", group_id)
    ]


async def group_ids_of_user(conn: Conn, user_id: UUID) -> list[UUID]:
    return [
        r["group_id"] for r in await conn.fetch("SELECT group_id FROM members WHERE user_id = $1", user_id)
    ]


async def insert_member(conn: Conn, member_id: UUID, group_id: UUID, user_id: UUID) -> Record:
    return await sql.insert(conn, "members", "*", {"id": member_id, "group_id": group_id, "user_id": user_id})


async def get_member(conn: Conn, group_id: UUID, member_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM members WHERE id = $1 AND group_id = $2", member_id, group_id)


async def list_members(conn: Conn, group_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(conn, "members", "*", sql.Where().add("group_id = {}", group_id), page)


async def update_member(conn: Conn, group_id: UUID, member_id: UUID, user_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "UPDATE members SET user_id = $3, updated_at = now() WHERE id = $1 AND group_id = $2 RETURNING *",
        member_id,
        group_id,
        user_id,
    )


async def delete_member(conn: Conn, group_id: UUID, member_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "DELETE FROM members WHERE id = $1 AND group_id = $2 RETURNING *", member_id, group_id
    )
