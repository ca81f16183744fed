"""All SQL of interfaces and surrogates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

INTERFACE_COLS = "id, name, uri, version, ordinal, created_at, updated_at"
SURROGATE_COLS = "id, interface_id, substitute_id, created_at, updated_at"


async def insert_interface(conn: Conn, interface_id: UUID, fields: Mapping[str, Any]) -> Record:
    return await sql.insert(conn, "interfaces", INTERFACE_COLS, {"id": interface_id, **fields})


async def get_interface(conn: Conn, interface_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {INTERFACE_COLS} FROM interfaces WHERE id = $1", interface_id)


async def list_interfaces(conn: Conn, page: PageParams, name: str | None) -> tuple[list[Record], int]:
    where = sql.Where()
    if name:
        where.add("lower(name) LIKE {}", sql.like_pattern(name))
    return await sql.page(conn, "interfaces", INTERFACE_COLS, where, page)


async def update_interface(conn: Conn, interface_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "interfaces", INTERFACE_COLS, interface_id, fields)


async def delete_interface(conn: Conn, interface_id: UUID) -> Record | None:
    return await sql.delete(conn, "interfaces", INTERFACE_COLS, interface_id)


async def insert_surrogate(conn: Conn, surrogate_id: UUID, interface_id: UUID, substitute_id: UUID) -> Record:
    fields = {"id": surrogate_id, "interface_id": interface_id, "substitute_id": substitute_id}
    return await sql.insert(conn, "surrogates", SURROGATE_COLS, fields)


async def get_surrogate(conn: Conn, surrogate_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {SURROGATE_COLS} FROM surrogates WHERE id = $1", surrogate_id)


async def list_surrogates(conn: Conn, interface_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("interface_id = {}", interface_id)
    return await sql.page(conn, "surrogates", SURROGATE_COLS, where, page)


async def update_surrogate(conn: Conn, surrogate_id: UUID, substitute_id: UUID) -> Record | None:
    return await sql.update(
        conn, "surrogates", SURROGATE_COLS, surrogate_id, {"substitute_id": substitute_id}
    )


async def delete_surrogate(conn: Conn, surrogate_id: UUID) -> Record | None:
    return await sql.delete(conn, "surrogates", SURROGATE_COLS, surrogate_id)
