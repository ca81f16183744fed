"""All SQL of instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

INSTANCE_COLS = (
    "id, platform_id, build_id, product_id, image, desired_state, reported_state, launch_bindings, "
    "errors, deployed_at, reported_at, created_at, updated_at"
)


async def get_instance(conn: Conn, instance_id: UUID, *, lock: bool = False) -> Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {INSTANCE_COLS} FROM instances WHERE id = $1{suffix}", instance_id)


async def list_instances(conn: Conn, platform_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("platform_id = {}", platform_id)
    return await sql.page(conn, "instances", INSTANCE_COLS, where, page)


async def all_instances(conn: Conn, platform_id: UUID) -> list[Record]:
    rows = await conn.fetch(
        f"SELECT {INSTANCE_COLS} FROM instances WHERE platform_id = $1 ORDER BY id", platform_id
    )
    return list(rows)


async def insert_instance(conn: Conn, fields: Mapping[str, Any]) -> Record:
    return await sql.insert(conn, "instances", INSTANCE_COLS, fields)


async def update_instance(conn: Conn, instance_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "instances", INSTANCE_COLS, instance_id, fields)


async def delete_instance(conn: Conn, instance_id: UUID) -> Record | None:
    return await sql.delete(conn, "instances", INSTANCE_COLS, instance_id)


async def platforms_running_product(conn: Conn, product_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT DISTINCT platform_id FROM instances WHERE product_id = $1 ORDER BY platform_id", product_id
    )
    return [r["platform_id"] for r in rows]


async def platforms_running_builds(conn: Conn, build_ids: list[UUID]) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT DISTINCT platform_id FROM instances WHERE build_id = any($1::uuid[]) ORDER BY platform_id",
        build_ids,
    )
    return [r["platform_id"] for r in rows]
