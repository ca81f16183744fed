"""All SQL of the read copies: products, the family graph, users and memberships."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

# The product and every ancestor, walked breadth-first; UNION (not UNION ALL) drops rows
# already seen, so a cycle in the copied graph ends the walk instead of looping. Depth is
# capped as well: a family deeper than this is a data error, not a licence to recurse.
MAX_FAMILY_DEPTH = 32
_FAMILY = """
WITH RECURSIVE family(id, depth) AS (
    SELECT $1::uuid, 0
    UNION
    SELECT pp.parent_id, f.depth + 1
    FROM product_parents pp JOIN family f ON pp.child_id = f.id
    WHERE f.depth < $2
)
SELECT DISTINCT id FROM family
"""

# The product and every descendant (sub-products, transitively): what an entitlement to
# the product covers. The same walk downwards, as cycle-safe and as capped.
_COVERED = """
WITH RECURSIVE covered(id, depth) AS (
    SELECT $1::uuid, 0
    UNION
    SELECT pp.child_id, c.depth + 1
    FROM product_parents pp JOIN covered c ON pp.parent_id = c.id
    WHERE c.depth < $2
)
SELECT DISTINCT id FROM covered
"""


async def put_product(conn: Conn, product_id: UUID, owner_id: UUID, name: str) -> None:
    await conn.execute(
        "INSERT INTO products (id, owner_id, name) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET owner_id = $2, name = $3",
        product_id,
        owner_id,
        name,
    )


async def delete_product(conn: Conn, product_id: UUID) -> None:
    await conn.execute("DELETE FROM products WHERE id = $1", product_id)
    await conn.execute("DELETE FROM product_parents WHERE child_id = $1 OR parent_id = $1", product_id)


async def get_product(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT id, owner_id, name FROM products WHERE id = $1", product_id)


async def products_owned_by(conn: Conn, owner_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT id FROM products WHERE owner_id = $1", owner_id)
    return [r["id"] for r in rows]


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
    rows = await conn.fetch(_FAMILY, product_id, MAX_FAMILY_DEPTH)
    return [r["id"] for r in rows]


async def covered(conn: Conn, product_id: UUID) -> list[UUID]:
    rows = await conn.fetch(_COVERED, product_id, MAX_FAMILY_DEPTH)
    return [r["id"] for r in rows]


async def put_user(conn: Conn, user_id: UUID) -> None:
    await conn.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user_id)


async def delete_user(conn: Conn, user_id: UUID) -> None:
    await conn.execute("DELETE FROM users WHERE id = $1", user_id)
    await conn.execute("DELETE FROM memberships WHERE user_id = $1", user_id)


async def user_exists(conn: Conn, user_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))


async def set_member(conn: Conn, group_id: UUID, user_id: UUID, member: bool) -> None:
    if member:
        await conn.execute(
            "INSERT INTO memberships (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            user_id,
            group_id,
        )
    else:
        await conn.execute("DELETE FROM memberships WHERE user_id = $1 AND group_id = $2", user_id, group_id)


async def delete_group(conn: Conn, group_id: UUID) -> None:
    await conn.execute("DELETE FROM memberships WHERE group_id = $1", group_id)


async def groups_of(conn: Conn, user_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT group_id FROM memberships WHERE user_id = $1 ORDER BY group_id", user_id)
    return [r["group_id"] for r in rows]


async def group_known(conn: Conn, group_id: UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM memberships WHERE group_id = $1)", group_id)
    )
