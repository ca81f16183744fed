"""All SQL of the marketplace area: the checks before an import and reading a document.

These only read; an import writes its build and packaging through the builds service.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from hspm.common.db import Conn

_DOCUMENT = """
SELECT id, product_id, container_registry, container_repository, container_tag, image_digest,
       marketplace_canonical, {raw}
FROM builds WHERE id = $1 AND product_id = $2
"""


async def build_exists(conn: Conn, build_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM builds WHERE id = $1)", build_id))


async def task_ids_taken(conn: Conn, ids: Iterable[UUID]) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM tasks WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


async def configuration_ids_taken(conn: Conn, ids: Iterable[UUID]) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM configurations WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


async def known_interfaces(conn: Conn, ids: Iterable[UUID]) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM interfaces WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


async def build_document(conn: Conn, product_id: UUID, build_id: UUID, *, raw: bool) -> asyncpg.Record | None:
    """A build's stored documents; the raw bytes only when asked for."""
    column = "marketplace_raw" if raw else "NULL::bytea AS marketplace_raw"
    return await conn.fetchrow(_DOCUMENT.format(raw=column), build_id, product_id)


async def product_facts(conn: Conn, product_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, name, mime_type FROM products WHERE id = $1", product_id)
    assert row is not None
    return row


async def packaging(
    conn: Conn, build_id: UUID
) -> tuple[list[asyncpg.Record], list[asyncpg.Record], list[asyncpg.Record]]:
    """Configurations, tasks and dependencies of a build, in a stable order."""
    configs = await conn.fetch(
        'SELECT id, name, "default" FROM configurations WHERE build_id = $1 '
        'ORDER BY "default" DESC, name, id',
        build_id,
    )
    tasks = await conn.fetch(
        "SELECT t.* FROM tasks t JOIN configurations c ON c.id = t.configuration_id "
        "WHERE c.build_id = $1 ORDER BY t.name, t.id",
        build_id,
    )
    deps = await conn.fetch(
        "SELECT product_id, build_ids, interface_id, name, required, mappings FROM dependencies "
        "WHERE build_id = $1 ORDER BY created_at, id",
        build_id,
    )
    return list(configs), list(tasks), list(deps)
