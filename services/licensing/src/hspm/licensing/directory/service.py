"""The read copies other areas ask: who owns a product, its family, a user's groups.

Kept current by the catalog's and identity's events (``consumers.py``); licensing never
calls those services while checking a license, so the hot path is one database away.
"""

from __future__ import annotations

from uuid import UUID

from hspm.common.db import Conn
from hspm.licensing.directory import store
from hspm.licensing.directory.store import MAX_FAMILY_DEPTH, Record

__all__ = ["MAX_FAMILY_DEPTH", "Record"]


# --- kept current by events ----------------------------------------------------------------


async def put_product(conn: Conn, product_id: UUID, owner_id: UUID, name: str) -> None:
    await store.put_product(conn, product_id, owner_id, name)


async def forget_product(conn: Conn, product_id: UUID) -> None:
    await store.delete_product(conn, product_id)


async def add_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await store.add_parent(conn, child_id, parent_id)


async def remove_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await store.remove_parent(conn, child_id, parent_id)


async def put_user(conn: Conn, user_id: UUID) -> None:
    await store.put_user(conn, user_id)


async def forget_user(conn: Conn, user_id: UUID) -> None:
    await store.delete_user(conn, user_id)


async def set_member(conn: Conn, group_id: UUID, user_id: UUID, member: bool) -> None:
    # A member implies the user exists, even if its created event is older than this copy.
    if member:
        await store.put_user(conn, user_id)
    await store.set_member(conn, group_id, user_id, member)


async def forget_group(conn: Conn, group_id: UUID) -> None:
    await store.delete_group(conn, group_id)


# --- read by the other areas ---------------------------------------------------------------


async def product(conn: Conn, product_id: UUID) -> Record | None:
    """The product (``id, owner_id, name``), or None when the catalog has no such product."""
    return await store.get_product(conn, product_id)


async def owner_of(conn: Conn, product_id: UUID) -> UUID | None:
    row = await store.get_product(conn, product_id)
    return row["owner_id"] if row is not None else None


async def products_owned_by(conn: Conn, owner_id: UUID) -> list[UUID]:
    """An ISV's products: what it may see entitlements, vouchers and reports of."""
    return await store.products_owned_by(conn, owner_id)


async def family(conn: Conn, product_id: UUID) -> list[UUID]:
    """The product and all its transitive parents: a license on any of them covers it.

    Cycle-safe and depth-capped (``MAX_FAMILY_DEPTH``) in one recursive query.
    """
    return await store.family(conn, product_id)


async def covered(conn: Conn, product_id: UUID) -> list[UUID]:
    """The product and all its transitive sub-products: what a license to it covers, the
    other direction of ``family`` (an offline document lists them). Cycle-safe and capped."""
    return await store.covered(conn, product_id)


async def user_exists(conn: Conn, user_id: UUID) -> bool:
    return await store.user_exists(conn, user_id)


async def groups_of(conn: Conn, user_id: UUID) -> list[UUID]:
    return await store.groups_of(conn, user_id)


async def group_known(conn: Conn, group_id: UUID) -> bool:
    """A group with at least one member (identity sends memberships, not group creations)."""
    return await store.group_known(conn, group_id)
