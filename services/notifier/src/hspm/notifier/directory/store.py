"""All SQL of the read copies: products and their family graph, builds, offers, entitlements."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

# The product and its ancestors. The walk carries nothing but the id, so UNION's
# discarding of rows already found is what ends it: a product reached twice (a cycle, a
# diamond) adds no row the second time, and the walk stops once no new id turns up.
_FAMILY = """
WITH RECURSIVE family(id) AS (
    SELECT $1::uuid
    UNION
    SELECT pp.parent_id FROM product_parents pp JOIN family f ON pp.child_id = f.id
)
SELECT id FROM family
"""


async def put_product(conn: Conn, product_id: UUID, owner_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO products (id, owner_id) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET owner_id = $2",
        product_id,
        owner_id,
    )


async def set_product_listing(
    conn: Conn, product_id: UUID, published: bool, visible_at: datetime | None
) -> None:
    await conn.execute(
        "INSERT INTO products (id, published, visible_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET published = $2, visible_at = $3",
        product_id,
        published,
        visible_at,
    )


async def delete_product(conn: Conn, product_id: UUID) -> None:
    await conn.execute("DELETE FROM products WHERE id = $1", product_id)
    await conn.execute("DELETE FROM product_parents WHERE child_id = $1 OR parent_id = $1", product_id)


async def add_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO product_parents (child_id, parent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        child_id,
        parent_id,
    )


async def remove_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await conn.execute(
        "DELETE FROM product_parents WHERE child_id = $1 AND parent_id = $2", child_id, parent_id
    )


async def family(conn: Conn, product_id: UUID) -> list[UUID]:
    rows = await conn.fetch(_FAMILY, product_id)
    return [r["id"] for r in rows]


async def product_listed(conn: Conn, product_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM products WHERE id = $1 AND published "
            "AND visible_at IS NOT NULL AND visible_at <= now())",
            product_id,
        )
    )


async def put_build_image(
    conn: Conn,
    build_id: UUID,
    product_id: UUID,
    version: str,
    registry: str | None,
    repository: str | None,
    tag: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO builds (id, product_id, version, registry, repository, tag) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE "
        "SET product_id = $2, version = $3, registry = $4, repository = $5, tag = $6",
        build_id,
        product_id,
        version,
        registry,
        repository,
        tag,
    )


async def put_build_digest(conn: Conn, build_id: UUID, product_id: UUID, digest: str) -> None:
    await conn.execute(
        "INSERT INTO builds (id, product_id, image_digest) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET image_digest = $3",
        build_id,
        product_id,
        digest,
    )


async def set_build_published(
    conn: Conn, build_id: UUID, product_id: UUID, published: bool, status: str
) -> None:
    await conn.execute(
        "INSERT INTO builds (id, product_id, published, status) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO UPDATE SET published = $3, status = $4",
        build_id,
        product_id,
        published,
        status,
    )


async def delete_build(conn: Conn, build_id: UUID) -> None:
    await conn.execute("DELETE FROM builds WHERE id = $1", build_id)


async def get_build(conn: Conn, build_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT id, product_id, version, registry, repository, tag, image_digest, published, status "
        "FROM builds WHERE id = $1",
        build_id,
    )


async def put_offer(conn: Conn, product_license_id: UUID, product_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO product_offers (product_license_id, product_id) VALUES ($1, $2) "
        "ON CONFLICT (product_license_id) DO NOTHING",
        product_license_id,
        product_id,
    )


async def delete_offer(conn: Conn, product_license_id: UUID) -> None:
    await conn.execute("DELETE FROM product_offers WHERE product_license_id = $1", product_license_id)


async def offers_licenses(conn: Conn, product_ids: list[UUID]) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM product_offers WHERE product_id = any($1::uuid[]))", product_ids
        )
    )


async def put_entitlement(
    conn: Conn,
    entitlement_id: UUID,
    user_id: UUID,
    product_id: UUID,
    valid_from: datetime,
    valid_until: datetime | None,
) -> None:
    # A grant never revives a row its revocation (delivered first) already ended.
    await conn.execute(
        "INSERT INTO entitlements (id, user_id, product_id, valid_from, valid_until) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET valid_from = $4, valid_until = $5",
        entitlement_id,
        user_id,
        product_id,
        valid_from,
        valid_until,
    )


async def end_entitlement(conn: Conn, entitlement_id: UUID, user_id: UUID, product_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO entitlements (id, user_id, product_id, ended_at) VALUES ($1, $2, $3, now()) "
        "ON CONFLICT (id) DO UPDATE SET ended_at = coalesce(entitlements.ended_at, now())",
        entitlement_id,
        user_id,
        product_id,
    )


async def holds_entitlement(conn: Conn, user_id: UUID, product_ids: list[UUID]) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM entitlements WHERE user_id = $1 AND product_id = any($2::uuid[]) "
            "AND ended_at IS NULL AND valid_from IS NOT NULL AND valid_from <= now() "
            "AND (valid_until IS NULL OR valid_until > now()))",
            user_id,
            product_ids,
        )
    )
