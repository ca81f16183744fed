"""All SQL of recalls and their acknowledgements."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

NOTICE_COLS = (
    "n.recall_id, n.platform_id, n.notified_at, n.acknowledged_at, r.product_id, r.severity, r.deadline, "
    "r.fixed_build_id"
)


async def put_recall(
    conn: Conn,
    recall_id: UUID,
    product_id: UUID,
    build_ids: list[UUID],
    versions: str,
    severity: str,
    reason: str,
    fixed_build_id: UUID | None,
    deadline: datetime | None,
    issued_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO recalls (id, product_id, build_ids, versions, severity, reason, fixed_build_id, "
        "deadline, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        recall_id,
        product_id,
        build_ids,
        versions,
        severity,
        reason,
        fixed_build_id,
        deadline,
        issued_at,
    )


async def add_notice(conn: Conn, recall_id: UUID, platform_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO recall_notices (recall_id, platform_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        recall_id,
        platform_id,
    )


async def acknowledge(conn: Conn, recall_id: UUID, platform_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "UPDATE recall_notices SET acknowledged_at = coalesce(acknowledged_at, now()) "
        "WHERE recall_id = $1 AND platform_id = $2 RETURNING recall_id, platform_id, notified_at, "
        "acknowledged_at",
        recall_id,
        platform_id,
    )


async def list_notices(
    conn: Conn, page: PageParams, recall_id: UUID | None, pending: bool | None
) -> tuple[list[Record], int]:
    where = sql.Where()
    if recall_id is not None:
        where.add("n.recall_id = {}", recall_id)
    if pending is True:
        where.add("n.acknowledged_at IS NULL")
    elif pending is False:
        where.add("n.acknowledged_at IS NOT NULL")
    table = "recall_notices n JOIN recalls r ON r.id = n.recall_id"
    total = await conn.fetchval(f"SELECT count(*) FROM {table} {where.clause}", *where.args)
    n = len(where.args)
    rows = await conn.fetch(
        f"SELECT {NOTICE_COLS} FROM {table} {where.clause} ORDER BY n.{page.sort} {page.order}, "
        f"n.recall_id, n.platform_id LIMIT ${n + 1} OFFSET ${n + 2}",
        *where.args,
        page.per_page,
        page.offset,
    )
    return list(rows), int(total)


async def pending_for(conn: Conn, platform_id: UUID) -> list[Record]:
    rows = await conn.fetch(
        f"SELECT {NOTICE_COLS} FROM recall_notices n JOIN recalls r ON r.id = n.recall_id "
        "WHERE n.platform_id = $1 AND n.acknowledged_at IS NULL ORDER BY n.notified_at, n.recall_id",
        platform_id,
    )
    return list(rows)
