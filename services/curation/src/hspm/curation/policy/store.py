"""All SQL of the validation policy and its per-product exceptions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

_POLICY_COLS = "document, updated_by, created_at, updated_at"
EXCEPTION_COLS = "id, product_id, rule, reason, created_by, created_at, updated_at"


async def seed_policy(conn: Conn, document: dict[str, Any]) -> None:
    """Store the first policy; a later start (or another replica) keeps what is there."""
    await conn.execute(
        "INSERT INTO validation_policy (id, document) VALUES (true, $1) ON CONFLICT (id) DO NOTHING", document
    )


async def get_policy(conn: Conn) -> Record:
    row = await conn.fetchrow(f"SELECT {_POLICY_COLS} FROM validation_policy")
    assert row is not None, "the policy is seeded at start"
    return row


async def put_policy(conn: Conn, document: dict[str, Any], user_id: UUID | None) -> Record:
    row = await conn.fetchrow(
        "UPDATE validation_policy SET document = $1, updated_by = $2, updated_at = now() "
        f"RETURNING {_POLICY_COLS}",
        document,
        user_id,
    )
    assert row is not None
    return row


async def exceptions_of(conn: Conn, product_id: UUID) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT rule, reason FROM policy_exceptions WHERE product_id = $1 ORDER BY rule", product_id
    )
    return [(r["rule"], r["reason"]) for r in rows]


async def list_exceptions(
    conn: Conn, page: PageParams, product_id: UUID | None, owner_id: UUID | None, everything: bool
) -> tuple[list[Record], int]:
    """Exceptions, optionally of one product; ``everything`` or only ``owner_id``'s products."""
    where = sql.Where()
    if product_id is not None:
        where.add("product_id = {}", product_id)
    if not everything:
        where.add("product_id IN (SELECT id FROM products WHERE owner_id = {})", owner_id)
    return await sql.page(conn, "policy_exceptions", EXCEPTION_COLS, where, page)


async def get_exception(conn: Conn, exception_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT e.id, e.product_id, e.rule, e.reason, e.created_by, e.created_at, e.updated_at, p.owner_id "
        "FROM policy_exceptions e JOIN products p ON p.id = e.product_id WHERE e.id = $1",
        exception_id,
    )


async def insert_exception(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "policy_exceptions", EXCEPTION_COLS, fields)


async def delete_exception(conn: Conn, exception_id: UUID) -> bool:
    return bool(await conn.fetchval("DELETE FROM policy_exceptions WHERE id = $1 RETURNING 1", exception_id))
