"""Who may see and change a product: the rules every catalog area shares.

Anonymous callers and customers see a product once it is published and visible
(``published_at`` and ``visible_at`` set and not in the future). Its owner and holders
of ``products.read`` see drafts and embargoed products. A product that may not be seen
answers 404, the same as a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound

_PRODUCT = """
SELECT id, user_id, name, published_at, visible_at,
       published_at IS NOT NULL AND published_at <= now()
       AND visible_at IS NOT NULL AND visible_at <= now() AS listed
FROM products WHERE id = $1
"""

# The same rule as SQL, for lists: $1 is the caller's user id (or NULL).
LISTED_OR_OWNED = (
    "((p.published_at IS NOT NULL AND p.published_at <= now() "
    "AND p.visible_at IS NOT NULL AND p.visible_at <= now()) OR p.user_id = {})"
)
LISTED = (
    "(p.published_at IS NOT NULL AND p.published_at <= now() "
    "AND p.visible_at IS NOT NULL AND p.visible_at <= now())"
)


def sees_drafts(p: Principal) -> bool:
    return p.can("products", "read")


def ensure_visible(row: asyncpg.Record | None, p: Principal) -> asyncpg.Record:
    """``row`` (with ``listed`` and ``user_id``) if this caller may see it; otherwise 404."""
    if row is None or not (row["listed"] or p.owns(row["user_id"]) or sees_drafts(p)):
        raise NotFound("Product not found.")
    return row


async def visible_product(conn: Conn, p: Principal, product_id: UUID, lock: bool = False) -> asyncpg.Record:
    """The product if this caller may see it; otherwise 404. ``lock`` takes its row lock."""
    query = _PRODUCT + " FOR UPDATE" if lock else _PRODUCT
    return ensure_visible(await conn.fetchrow(query, product_id), p)


async def product_for_change(
    conn: Conn, p: Principal, product_id: UUID, resource: str, verb: str
) -> asyncpg.Record:
    """The product if the caller may change ``resource`` under it (owner or permission).

    Locks the product row so concurrent changes to its builds serialize.
    """
    row = await visible_product(conn, p, product_id, lock=True)
    p.require_or_owner(resource, verb, row["user_id"])
    return row
