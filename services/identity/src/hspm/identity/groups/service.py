"""Groups and memberships: who may change them, and the events membership changes emit.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.events import identity as ev
from hspm.common.paging import PageParams
from hspm.identity.events import emit
from hspm.identity.groups import models, store
from hspm.identity.roles import service as roles

Record = asyncpg.Record


def _found(row: Record | None, what: str) -> Record:
    if row is None:
        raise NotFound(f"{what} not found.")
    return row


def _name_taken() -> ValidationFailed:
    return ValidationFailed.field("name", "has already been taken")


# --- for the other areas --------------------------------------------------------------------


async def group_ids_of_user(conn: Conn, user_id: UUID) -> list[UUID]:
    """The groups a user is a member of (deleting the user ends these memberships)."""
    return await store.group_ids_of_user(conn, user_id)


# --- groups ---------------------------------------------------------------------------------


async def list_groups(
    conn: Conn, p: Principal, page: PageParams, name: str | None, role_id: UUID | None
) -> tuple[list[Record], int]:
    """Groups, by name and by a role appointed to them."""
    p.require("groups", "read")
    ids = await roles.group_ids_holding(conn, role_id) if role_id else None
    return await store.list_groups(conn, page, name, ids)


async def create_group(conn: Conn, p: Principal, body: models.GroupCreate) -> Record:
    p.require("groups", "create")
    group_id = body.id or uuid4()
    try:
        row = await store.insert_group(conn, group_id, body.name, body.description)
    except asyncpg.UniqueViolationError as exc:
        raise _name_taken() from exc
    await roles.appoint_defaults(conn, group_id=group_id)
    return row


async def get_group(conn: Conn, p: Principal, group_id: UUID) -> Record:
    p.require("groups", "read")
    return _found(await store.get_group(conn, group_id), "Group")


async def update_group(conn: Conn, p: Principal, group_id: UUID, body: models.GroupUpdate) -> Record:
    p.require("groups", "update")
    fields = body.model_dump(exclude_unset=True)
    if fields.get("name", "") is None:
        raise ValidationFailed.field("name", "can't be blank")
    try:
        row = await (
            store.update_group(conn, group_id, fields) if fields else store.get_group(conn, group_id)
        )
    except asyncpg.UniqueViolationError as exc:
        raise _name_taken() from exc
    return _found(row, "Group")


async def delete_group(conn: Conn, p: Principal, group_id: UUID) -> Record:
    p.require("groups", "delete")
    affected = await store.member_ids(conn, group_id)
    row = _found(await store.delete_group(conn, group_id), "Group")
    await emit(conn, ev.GroupDeleted(group_id=group_id))
    await roles.access_changed(conn, affected)
    return row


# --- members --------------------------------------------------------------------------------


async def _membership_changed(conn: Conn, group_id: UUID, user_id: UUID, member: bool) -> None:
    # Licensing counts group claims by membership; gateways drop the member's permissions.
    await emit(conn, ev.MembershipChanged(group_id=group_id, user_id=user_id, member=member))
    await roles.access_changed(conn, [user_id])


async def list_members(
    conn: Conn, p: Principal, group_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await get_group(conn, p, group_id)
    return await store.list_members(conn, group_id, page)


async def add_member(conn: Conn, p: Principal, group_id: UUID, body: models.MemberCreate) -> Record:
    p.require("groups", "update")
    _found(await store.get_group(conn, group_id), "Group")
    if body.group_id not in (None, group_id):
        raise ValidationFailed.field("group_id", "must match the group in the path")
    try:
        row = await store.insert_member(conn, body.id or uuid4(), group_id, body.user_id)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("user_id", "is already a member of this group") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        # Users belong to an area above this one: the member's key checks that the user exists.
        raise ValidationFailed.field("user_id", "does not exist") from exc
    await _membership_changed(conn, group_id, body.user_id, True)
    return row


async def update_member(
    conn: Conn, p: Principal, group_id: UUID, member_id: UUID, body: models.MemberUpdate
) -> Record:
    """Move a membership to another user (PUT/PATCH); the same right as adding one."""
    p.require("groups", "update")
    current = _found(await store.get_member(conn, group_id, member_id), "Member")
    if body.group_id not in (None, group_id):
        raise ValidationFailed.field("group_id", "must match the group in the path")
    if "user_id" in body.model_fields_set and body.user_id is None:
        raise ValidationFailed.field("user_id", "can't be blank")
    old_user, new_user = current["user_id"], body.user_id or current["user_id"]
    if new_user == old_user:
        return current
    try:
        row = _found(await store.update_member(conn, group_id, member_id, new_user), "Member")
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("user_id", "is already a member of this group") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise ValidationFailed.field("user_id", "does not exist") from exc
    await emit(conn, ev.MembershipChanged(group_id=group_id, user_id=old_user, member=False))
    await emit(conn, ev.MembershipChanged(group_id=group_id, user_id=new_user, member=True))
    await roles.access_changed(conn, [old_user, new_user])
    return row


async def get_member(conn: Conn, p: Principal, group_id: UUID, member_id: UUID) -> Record:
    p.require("groups", "read")
    return _found(await store.get_member(conn, group_id, member_id), "Member")


async def remove_member(conn: Conn, p: Principal, group_id: UUID, member_id: UUID) -> Record:
    p.require("groups", "update")
    row = _found(await store.delete_member(conn, group_id, member_id), "Member")
    await _membership_changed(conn, group_id, row["user_id"], False)
    return row
