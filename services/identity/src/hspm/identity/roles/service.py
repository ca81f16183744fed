"""Roles and appointments: who may change them, default and administrator roles, and the
``AccessChanged`` events that tell every gateway replica to drop cached permissions.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common import permissions
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
from hspm.common.events import identity as ev
from hspm.common.paging import PageParams
from hspm.identity.events import emit
from hspm.identity.roles import models, store

# The built-in Administrator role of migration 0001 (every permission); its id is fixed
# there, and its name is the fallback should a database have been seeded differently.
ADMINISTRATOR_ID = UUID("00000000-0000-4000-8000-000000000001")
ADMINISTRATOR_NAME = "Administrator"

Record = asyncpg.Record


def _found(row: Record | None, what: str) -> Record:
    if row is None:
        raise NotFound(f"{what} not found.")
    return row


def _permissions(document: Any) -> dict[str, dict[str, bool]]:
    try:
        return permissions.normalize(document)
    except permissions.PermissionError_ as exc:
        raise ValidationFailed({"permissions": exc.messages}) from exc


def _no_blanks(fields: dict[str, Any], keys: Iterable[str]) -> None:
    for key in keys:
        if key in fields and fields[key] is None:
            raise ValidationFailed.field(key, "can't be blank")


# --- for the other areas --------------------------------------------------------------------


async def access_changed(conn: Conn, user_ids: Iterable[UUID]) -> None:
    """Tell every gateway replica to drop these users' cached permissions."""
    affected = sorted(set(user_ids))
    # An empty list would read as "everyone" on the wire; nobody affected means no event.
    if affected:
        await emit(conn, ev.AccessChanged(user_ids=affected))


async def appoint_defaults(conn: Conn, *, user_id: UUID | None = None, group_id: UUID | None = None) -> None:
    """Every default role, for a new user or group (one it already holds is left alone)."""
    ids = [(uuid4(), r) for r in await store.default_role_ids(conn)]
    await store.appoint_defaults(conn, ids, user_id, group_id)


async def appoint_administrator(conn: Conn, user_id: UUID) -> Record:
    """Appoint the built-in Administrator role (an operator's bootstrap, no principal)."""
    role = await store.get_role(conn, ADMINISTRATOR_ID) or await store.get_role_by_name(
        conn, ADMINISTRATOR_NAME
    )
    if role is None:
        raise NotFound("The built-in Administrator role is missing; are the migrations applied?")
    row = await store.insert_appointment(conn, uuid4(), role["id"], user_id, None)
    await access_changed(conn, [user_id])
    return row


async def effective_permissions(conn: Conn, user_id: UUID) -> set[str]:
    """The union of the user's roles, group appointments included."""
    return permissions.union(await store.effective_permission_documents(conn, user_id))


async def group_ids_holding(conn: Conn, role_id: UUID) -> list[UUID]:
    """Groups appointed to a role (the groups index filters by it)."""
    return await store.group_ids_holding(conn, role_id)


# --- roles ----------------------------------------------------------------------------------


async def list_roles(
    conn: Conn, p: Principal, page: PageParams, default: bool | None, name: str | None
) -> tuple[list[Record], int]:
    p.require("roles", "read")
    return await store.list_roles(conn, page, default, name)


async def create_role(conn: Conn, p: Principal, body: models.RoleCreate) -> Record:
    p.require("roles", "create")
    fields = body.model_dump(exclude={"id"}) | {"permissions": _permissions(body.permissions)}
    try:
        return await store.insert_role(conn, body.id or uuid4(), fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc


async def get_role(conn: Conn, p: Principal, role_id: UUID) -> Record:
    p.require("roles", "read")
    return _found(await store.get_role(conn, role_id), "Role")


async def update_role(conn: Conn, p: Principal, role_id: UUID, body: models.RoleUpdate) -> Record:
    p.require("roles", "update")
    fields = body.model_dump(exclude_unset=True)
    _no_blanks(fields, ("name", "default", "permissions"))
    if "permissions" in fields:
        fields["permissions"] = _permissions(fields["permissions"])
    try:
        row = await (store.update_role(conn, role_id, fields) if fields else store.get_role(conn, role_id))
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc
    row = _found(row, "Role")
    if "permissions" in fields:
        await access_changed(conn, await store.role_user_ids(conn, role_id))
    return row


async def delete_role(conn: Conn, p: Principal, role_id: UUID) -> Record:
    p.require("roles", "delete")
    row = _found(await store.get_role(conn, role_id), "Role")
    if row["builtin"]:
        raise Conflict("Built-in roles cannot be deleted; remove their appointments instead.")
    affected = await store.role_user_ids(conn, role_id)
    await store.delete_role(conn, role_id)
    await access_changed(conn, affected)
    return row


# --- appointments ---------------------------------------------------------------------------


async def _holders(conn: Conn, appointment: Record) -> list[UUID]:
    """The users an appointment reaches: its user, or every member of its group."""
    if appointment["user_id"] is not None:
        return [appointment["user_id"]]
    return await store.group_member_ids(conn, appointment["group_id"])


async def list_appointments(
    conn: Conn, p: Principal, role_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await get_role(conn, p, role_id)
    return await store.list_appointments(conn, role_id, page)


async def appoint(conn: Conn, p: Principal, role_id: UUID, body: models.AppointmentCreate) -> Record:
    p.require("roles", "update")
    _found(await store.get_role(conn, role_id), "Role")
    if body.role_id not in (None, role_id):
        raise ValidationFailed.field("role_id", "must match the role in the path")
    is_user = body.entity_type == "User"
    user_id, group_id = (body.entity_id, None) if is_user else (None, body.entity_id)
    try:
        row = await store.insert_appointment(conn, body.id or uuid4(), role_id, user_id, group_id)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("entity_id", "already holds this role") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        # Users and groups belong to areas above this one: their keys check that they exist.
        raise ValidationFailed.field("entity_id", f"no {body.entity_type.lower()} with this id") from exc
    await access_changed(conn, await _holders(conn, row))
    return row


async def update_appointment(
    conn: Conn, p: Principal, role_id: UUID, appointment_id: UUID, body: models.AppointmentUpdate
) -> Record:
    """Move an appointment to another user or group (PUT/PATCH); the same right as appointing."""
    p.require("roles", "update")
    current = _found(await store.get_appointment(conn, role_id, appointment_id), "Appointment")
    if body.role_id not in (None, role_id):
        raise ValidationFailed.field("role_id", "must match the role in the path")
    _no_blanks(body.model_dump(exclude_unset=True), ("entity_id", "entity_type"))
    is_user = (body.entity_type or ("User" if current["user_id"] else "Group")) == "User"
    entity_id = body.entity_id or current["user_id"] or current["group_id"]
    user_id, group_id = (entity_id, None) if is_user else (None, entity_id)
    if (user_id, group_id) == (current["user_id"], current["group_id"]):
        return current
    before = await _holders(conn, current)
    try:
        row = await store.update_appointment(conn, role_id, appointment_id, user_id, group_id)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("entity_id", "already holds this role") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        kind = "user" if is_user else "group"
        raise ValidationFailed.field("entity_id", f"no {kind} with this id") from exc
    row = _found(row, "Appointment")
    await access_changed(conn, [*before, *await _holders(conn, row)])
    return row


async def get_appointment(conn: Conn, p: Principal, role_id: UUID, appointment_id: UUID) -> Record:
    p.require("roles", "read")
    return _found(await store.get_appointment(conn, role_id, appointment_id), "Appointment")


async def dismiss(conn: Conn, p: Principal, role_id: UUID, appointment_id: UUID) -> Record:
    p.require("roles", "update")
    row = _found(await store.delete_appointment(conn, role_id, appointment_id), "Appointment")
    await access_changed(conn, await _holders(conn, row))
    return row
