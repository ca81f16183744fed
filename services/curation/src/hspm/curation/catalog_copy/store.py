"""All SQL of the read copy: products (owner, publication) and submitted builds."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

# A product is listed (customers may see it) once published and visible, as in the catalog.
LISTED = (
    "(p.published_at IS NOT NULL AND p.published_at <= now() "
    "AND p.visible_at IS NOT NULL AND p.visible_at <= now())"
)
BUILD_COLS = (
    "b.id, b.product_id, b.version, b.image, b.snapshot, b.status, b.published_at, b.withdrawn_at, "
    f"b.deleted_at, p.owner_id, {LISTED} AS listed"
)
BUILDS = "builds b JOIN products p ON p.id = b.product_id"


# --- products ----------------------------------------------------------------------------


async def set_owner(conn: Conn, product_id: UUID, owner_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO products (id, owner_id) VALUES ($1, $2) "
        "ON CONFLICT (id) DO UPDATE SET owner_id = $2, updated_at = now()",
        product_id,
        owner_id,
    )


async def set_publication(
    conn: Conn, product_id: UUID, published_at: datetime | None, visible_at: datetime | None, at: datetime
) -> None:
    """Record a (un)publication unless a later one was recorded already."""
    await conn.execute(
        "INSERT INTO products (id, published_at, visible_at, publication_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO UPDATE SET published_at = $2, visible_at = $3, publication_at = $4, "
        "updated_at = now() WHERE products.publication_at <= $4",
        product_id,
        published_at,
        visible_at,
        at,
    )


async def set_unpublished(conn: Conn, product_id: UUID, at: datetime) -> None:
    """Back to draft; the embargo (``visible_at``) stays, as in the catalog."""
    await conn.execute(
        "UPDATE products SET published_at = NULL, publication_at = $2, updated_at = now() "
        "WHERE id = $1 AND publication_at <= $2",
        product_id,
        at,
    )


async def delete_product(conn: Conn, product_id: UUID) -> list[UUID]:
    """Tombstone the product and its builds; the ids of the builds tombstoned now."""
    await conn.execute(
        "UPDATE products SET deleted_at = coalesce(deleted_at, now()), updated_at = now() WHERE id = $1",
        product_id,
    )
    rows = await conn.fetch(
        "UPDATE builds SET deleted_at = now(), updated_at = now() "
        "WHERE product_id = $1 AND deleted_at IS NULL RETURNING id",
        product_id,
    )
    return [r["id"] for r in rows]


async def product_exists(conn: Conn, product_id: UUID) -> bool:
    """Known and not deleted."""
    return bool(
        await conn.fetchval("SELECT 1 FROM products WHERE id = $1 AND deleted_at IS NULL", product_id)
    )


# --- builds ------------------------------------------------------------------------------


async def save_submission(
    conn: Conn,
    build_id: UUID,
    product_id: UUID,
    version: str,
    image: dict[str, Any],
    snapshot: dict[str, Any],
    status: str,
) -> None:
    """The build as submitted (again) or drafted: version, image and the snapshot are replaced.

    ``status`` is ``submitted`` or ``draft``; a deleted build is never brought back.
    """
    await conn.execute(
        "INSERT INTO builds (id, product_id, version, image, snapshot, status) "
        "VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (id) DO UPDATE SET version = $3, image = $4, snapshot = $5, status = $6, "
        "updated_at = now() WHERE builds.deleted_at IS NULL",
        build_id,
        product_id,
        version,
        image,
        snapshot,
        status,
    )


async def get_build(conn: Conn, build_id: UUID, lock: bool = False) -> Record | None:
    """The build with its product's owner and whether the product is listed."""
    suffix = " FOR UPDATE OF b" if lock else ""
    return await conn.fetchrow(f"SELECT {BUILD_COLS} FROM {BUILDS} WHERE b.id = $1{suffix}", build_id)


async def set_published(conn: Conn, build_id: UUID, published_at: datetime) -> None:
    await conn.execute(
        "UPDATE builds SET published_at = $2, withdrawn_at = NULL, status = 'published', updated_at = now() "
        "WHERE id = $1",
        build_id,
        published_at,
    )


async def set_withdrawn(conn: Conn, build_id: UUID, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE builds SET withdrawn_at = $3, status = $2, updated_at = now() WHERE id = $1",
        build_id,
        status,
        at,
    )


async def delete_build(conn: Conn, build_id: UUID) -> bool:
    """Tombstone the build (its case, provenance and runs stay); whether it was live."""
    return bool(
        await conn.fetchval(
            "UPDATE builds SET deleted_at = now(), updated_at = now() "
            "WHERE id = $1 AND deleted_at IS NULL RETURNING 1",
            build_id,
        )
    )
