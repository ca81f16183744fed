"""All SQL of recalls."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# Recalls with their product's current owner (none once the product is gone).
RECALLS = (
    "(SELECT r.*, p.owner_id FROM recalls r "
    "LEFT JOIN products p ON p.id = r.product_id AND p.deleted_at IS NULL) AS x"
)
RECALL_COLS = (
    "id, product_id, versions, build_ids, severity, reason, fixed_build_id, deadline, issued_by, "
    "issued_by_name, owner_id, created_at, updated_at"
)
_INSERT_COLS = (
    "id, product_id, versions, build_ids, severity, reason, fixed_build_id, deadline, issued_by, "
    "issued_by_name, NULL::uuid AS owner_id, created_at, updated_at"
)


async def insert_recall(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "recalls", _INSERT_COLS, fields)


async def get_recall(conn: Conn, recall_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {RECALL_COLS} FROM {RECALLS} WHERE id = $1", recall_id)


async def list_recalls(
    conn: Conn, page: PageParams, product_id: UUID | None, owner_id: UUID | None, everything: bool
) -> tuple[list[Record], int]:
    where = sql.Where()
    if product_id is not None:
        where.add("product_id = {}", product_id)
    if not everything:
        where.add("owner_id = {}", owner_id)
    return await sql.page(conn, RECALLS, RECALL_COLS, where, page)
