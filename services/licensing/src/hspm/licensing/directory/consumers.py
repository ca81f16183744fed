"""Keeping the read copies current from the catalog's and identity's events."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog, identity
from hspm.licensing.directory import service


async def on_product_owned(conn: Conn, event: catalog.ProductCreated | catalog.ProductUpdated) -> None:
    await service.put_product(conn, event.product_id, event.owner_id, event.name)


async def on_relation_added(conn: Conn, event: catalog.ProductRelationAdded) -> None:
    await service.add_parent(conn, event.child_id, event.parent_id)


async def on_relation_removed(conn: Conn, event: catalog.ProductRelationRemoved) -> None:
    await service.remove_parent(conn, event.child_id, event.parent_id)


async def on_user_created(conn: Conn, event: identity.UserCreated) -> None:
    await service.put_user(conn, event.user_id)


async def on_membership_changed(conn: Conn, event: identity.MembershipChanged) -> None:
    await service.set_member(conn, event.group_id, event.user_id, event.member)
