"""All SQL of products, publication, sub-products, badges and awards.

Product queries alias the table as ``p`` so ``PRODUCT_COLS`` (which computes ``listed``,
the awarded ``badges`` and the offered ``product_licenses``) and the listing rule of
``hspm.catalog.listing`` apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.catalog.listing import LISTED, LISTED_OR_OWNED, PRODUCT_LICENSES
from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

PRODUCTS = "products AS p"
# Every product as the API renders it.
PRODUCT_COLS = (
    "p.id, p.user_id, p.name, p.description, p.uri, p.support_url, p.mime_type, p.locale, "
    "p.external_id, p.published_at, p.visible_at, p.created_at, p.updated_at, "
    f"{LISTED} AS listed, "
    "(SELECT coalesce(json_agg(json_build_object('id', b.id, 'name', b.name) ORDER BY b.name), '[]')"
    " FROM badge_awards a JOIN badges b ON b.id = a.badge_id WHERE a.product_id = p.id) AS badges, "
    f"{PRODUCT_LICENSES} AS product_licenses"
)
_SUB_COLS = "id, parent_id, child_id, created_at, updated_at"
_BADGE_COLS = "id, name, description, created_at, updated_at"
_AWARD_COLS = "id, badge_id, product_id, awarded_by, reason, created_at, updated_at, name, description"


def _rule(alias: str, user_id: UUID | None) -> tuple[str, tuple[Any, ...]]:
    """The shared visibility rule for ``alias``; a ``{}`` placeholder takes the caller."""
    if user_id is None:
        return LISTED.replace("p.", f"{alias}."), ()
    return LISTED_OR_OWNED.replace("p.", f"{alias}."), (user_id,)


def visible_to(where: sql.Where, user_id: UUID | None, drafts: bool, alias: str = "p") -> sql.Where:
    """Narrow ``where`` to products (as ``alias``) this caller may see."""
    if drafts:
        return where
    rule, args = _rule(alias, user_id)
    return where.add(rule, *args)


# --- products ------------------------------------------------------------------------

# What the visibility and ownership rules need, and no more: every area asks, on most requests.
_ACCESS = (
    f"SELECT p.id, p.user_id, p.name, p.published_at, p.visible_at, {LISTED} AS listed "
    f"FROM {PRODUCTS} WHERE p.id = $1"
)


async def product_access(conn: Conn, product_id: UUID, lock: bool = False) -> Record | None:
    """Owner, name and ``listed`` of a product; ``lock`` takes its row lock (FOR UPDATE)."""
    return await conn.fetchrow(_ACCESS + " FOR UPDATE" if lock else _ACCESS, product_id)


async def get_product(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {PRODUCT_COLS} FROM {PRODUCTS} WHERE p.id = $1", product_id)


# The product with the stamp of the snapshot it was read in (``hspm.catalog.stamped``):
# one statement, so the row and the generation are of the same moment. Whether it is
# listed changes with no write when a publication or showing time comes; that is when
# what was read stops being exact.
_STAMPED = (
    f"SELECT {PRODUCT_COLS}, (SELECT n FROM search_generation) AS generation, "
    "(SELECT min(t) FROM (VALUES (p.published_at), (p.visible_at)) AS v(t) WHERE t > now()) AS next_change "
    f"FROM {PRODUCTS} WHERE p.id = $1"
)


async def get_product_stamped(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow(_STAMPED, product_id)


async def clock(conn: Conn) -> tuple[int, datetime]:
    """The catalog's generation now (migration 0008), and the database's clock."""
    row = await conn.fetchrow("SELECT n, now() AS at FROM search_generation")
    assert row is not None  # the migration's one row
    return int(row["n"]), row["at"]


async def insert_product(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, PRODUCTS, PRODUCT_COLS, fields)


async def update_product(conn: Conn, product_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, PRODUCTS, PRODUCT_COLS, product_id, fields)


async def delete_product(conn: Conn, product_id: UUID) -> Record | None:
    """Builds, images, awards, relations and license offers go with it (foreign keys)."""
    return await sql.delete(conn, PRODUCTS, PRODUCT_COLS, product_id)


async def delete_products_of(conn: Conn, user_id: UUID) -> list[Record]:
    rows = await conn.fetch("DELETE FROM products WHERE user_id = $1 RETURNING id, user_id", user_id)
    return list(rows)


async def publish(conn: Conn, product_id: UUID, replace_visible: bool, visible_at: Any) -> Record | None:
    """``published_at = now()``; ``visible_at`` replaced when given, else kept or now."""
    return await conn.fetchrow(
        f"UPDATE {PRODUCTS} SET published_at = now(), "
        "visible_at = CASE WHEN $2 THEN $3::timestamptz ELSE coalesce(visible_at, now()) END, "
        f"updated_at = now() WHERE id = $1 RETURNING {PRODUCT_COLS}",
        product_id,
        replace_visible,
        visible_at,
    )


async def unpublish(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"UPDATE {PRODUCTS} SET published_at = NULL, updated_at = now() "
        f"WHERE id = $1 RETURNING {PRODUCT_COLS}",
        product_id,
    )


# --- sub-products ----------------------------------------------------------------------

# Each product once: UNION (not UNION ALL) discards a row already in the result, so the
# walk visits products, not paths. A diamond-shaped family costs its size, not its 2**depth
# paths, and a cycle ends at the first product seen again. LIMIT caps an absurd family at
# 10 000 products (PostgreSQL stops the recursion once the outer query has that many rows).
_CLOSURE = """p.id IN (
    WITH RECURSIVE walk(id) AS (
        SELECT {step} FROM sub_products WHERE {start} = {{}}
        UNION
        SELECT s.{step} FROM sub_products s JOIN walk w ON s.{start} = w.id
    )
    SELECT id FROM walk LIMIT 10000)"""
_DIRECT = "p.id IN (SELECT {step} FROM sub_products WHERE {start} = {{}})"


async def related_products(
    conn: Conn,
    product_id: UUID,
    children: bool,
    transitive: bool,
    user_id: UUID | None,
    drafts: bool,
    page: PageParams,
) -> tuple[list[Record], int]:
    """Children or parents (direct or the closure, each once, never the product itself)."""
    step, start = ("child_id", "parent_id") if children else ("parent_id", "child_id")
    template = _CLOSURE if transitive else _DIRECT
    where = sql.Where().add(template.format(step=step, start=start), product_id)
    where.add("p.id <> {}", product_id)
    visible_to(where, user_id, drafts)
    return await sql.page(conn, PRODUCTS, PRODUCT_COLS, where, page, f"p.name {page.order}")


async def get_sub_product(conn: Conn, sub_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_SUB_COLS} FROM sub_products WHERE id = $1", sub_id)


async def list_sub_products(
    conn: Conn,
    user_id: UUID | None,
    drafts: bool,
    parent_id: UUID | None,
    child_id: UUID | None,
    page: PageParams,
) -> tuple[list[Record], int]:
    """Links whose parent and child the caller may both see."""
    where = sql.Where()
    if parent_id is not None:
        where.add("parent_id = {}", parent_id)
    if child_id is not None:
        where.add("child_id = {}", child_id)
    for end in ("parent", "child") if not drafts else ():
        rule, args = _rule(end, user_id)
        where.add(f"EXISTS (SELECT 1 FROM products {end} WHERE {end}.id = s.{end}_id AND {rule})", *args)
    return await sql.page(conn, "sub_products s", _SUB_COLS, where, page)


async def insert_sub_product(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "sub_products", _SUB_COLS, fields)


async def update_sub_product(conn: Conn, sub_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "sub_products", _SUB_COLS, sub_id, fields)


async def delete_sub_product(conn: Conn, sub_id: UUID) -> Record | None:
    return await sql.delete(conn, "sub_products", _SUB_COLS, sub_id)


# --- badges and awards -------------------------------------------------------------------


async def list_badges(conn: Conn, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(conn, "badges", _BADGE_COLS, sql.Where(), page)


async def get_badge(conn: Conn, badge_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_BADGE_COLS} FROM badges WHERE id = $1", badge_id)


async def insert_badge(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "badges", _BADGE_COLS, fields)


async def update_badge(conn: Conn, badge_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "badges", _BADGE_COLS, badge_id, fields)


async def delete_badge(conn: Conn, badge_id: UUID) -> Record | None:
    return await sql.delete(conn, "badges", _BADGE_COLS, badge_id)


# An award with its badge's name and description, as one relation.
_AWARDS = (
    "(SELECT a.id, a.badge_id, a.product_id, a.awarded_by, a.reason, a.created_at, a.updated_at,"
    " b.name, b.description FROM badge_awards a JOIN badges b ON b.id = a.badge_id) AS awards"
)


async def list_awards(conn: Conn, product_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("product_id = {}", product_id)
    return await sql.page(conn, _AWARDS, _AWARD_COLS, where, page, f"name {page.order}")


async def get_award(conn: Conn, product_id: UUID, badge_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_AWARD_COLS} FROM {_AWARDS} WHERE product_id = $1 AND badge_id = $2", product_id, badge_id
    )


async def insert_award(conn: Conn, fields: dict[str, Any]) -> None:
    await sql.insert(conn, "badge_awards", "id", fields)


async def delete_award(conn: Conn, product_id: UUID, badge_id: UUID) -> bool:
    row = await conn.fetchrow(
        "DELETE FROM badge_awards WHERE product_id = $1 AND badge_id = $2 RETURNING id", product_id, badge_id
    )
    return row is not None
