"""Identity's rules: who may do what, cascades, default roles, and the events they emit.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common import outbox, permissions
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from hspm.common.events import identity as ev
from hspm.common.events.base import Event
from hspm.common.paging import PageParams
from hspm.identity import models, store

PRODUCER = "identity"


async def _emit(conn: Conn, event: Event) -> None:
    await outbox.add(conn, event.model_copy(update={"producer": PRODUCER}))


def _unique(exc: asyncpg.UniqueViolationError, field: str) -> ValidationFailed:
    return ValidationFailed.field(field, "has already been taken")


def _signed_in(p: Principal) -> None:
    """Anonymous callers are told to sign in; the answer does not depend on the id."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")


# --- users ---------------------------------------------------------------------------


async def create_user(conn: Conn, p: Principal, body: models.UserCreate) -> asyncpg.Record:
    p.require("users", "create")
    return await register_user(conn, body.id or uuid4(), body.model_dump(exclude={"id"}, exclude_none=True))


async def refresh_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> None:
    """Names from a returning login; an event only when something changed."""
    before = await store.get_user(conn, user_id)
    if before is None or all(before[k] == v for k, v in fields.items()):
        return
    row = await store.update_user(conn, user_id, fields)
    assert row is not None
    await _emit(conn, ev.UserUpdated(user_id=user_id, name=row["name"]))


async def register_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> asyncpg.Record:
    """Create a user with every default role appointed, as login and the API both do."""
    try:
        row = await store.insert_user(conn, user_id, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _unique(exc, "id") from exc
    await store.appoint_defaults(
        conn, [(uuid4(), r) for r in await store.default_role_ids(conn)], user_id, None
    )
    await _emit(conn, ev.UserCreated(user_id=user_id, name=row["name"]))
    return row


async def get_user(conn: Conn, p: Principal, user_id: UUID) -> asyncpg.Record:
    _signed_in(p)
    row = await store.get_user(conn, user_id)
    # Unreadable and missing look the same, so ids cannot be probed.
    if row is None or not (p.owns(user_id) or p.can("users", "read")):
        raise NotFound("User not found.")
    return row


async def list_users(
    conn: Conn, p: Principal, page: PageParams, name: str | None, external_id: str | None
) -> tuple[list[asyncpg.Record], int]:
    p.require("users", "read")
    return await store.list_users(conn, page, name, external_id)


async def update_user(conn: Conn, p: Principal, user_id: UUID, body: models.UserUpdate) -> asyncpg.Record:
    await get_user(conn, p, user_id)
    if not p.may_as_owner("users", "update_self", user_id):
        p.require("users", "update")
    fields = body.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] is None:
        raise ValidationFailed.field("name", "can't be blank")
    row = await store.update_user(conn, user_id, fields) if fields else await store.get_user(conn, user_id)
    assert row is not None
    await _emit(conn, ev.UserUpdated(user_id=user_id, name=row["name"]))
    return row


async def delete_user(conn: Conn, p: Principal, user_id: UUID) -> asyncpg.Record:
    p.require("users", "delete")
    if p.owns(user_id):
        raise Forbidden("You cannot delete yourself.")
    sessions = await store.live_session_ids(conn, user_id)
    groups = await store.group_ids_of_user(conn, user_id)
    row = await store.delete_user(conn, user_id)
    if row is None:
        raise NotFound("User not found.")
    for sid in sessions:
        await _emit(conn, ev.SessionRevoked(session_id=sid, user_id=user_id))
    # Licensing counts group claims by membership; the cascade ended these.
    for group_id in groups:
        await _emit(conn, ev.MembershipChanged(group_id=group_id, user_id=user_id, member=False))
    await _emit(conn, ev.UserDeleted(user_id=user_id))
    return row


# --- identities ----------------------------------------------------------------------


async def _owned_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> asyncpg.Record:
    _signed_in(p)
    row = await store.get_identity(conn, identity_id)
    if row is None or row["user_id"] != user_id or not (p.owns(user_id) or p.can("users", "read")):
        raise NotFound("Identity not found.")
    return row


async def list_identities(
    conn: Conn, p: Principal, user_id: UUID, page: PageParams
) -> tuple[list[asyncpg.Record], int]:
    await get_user(conn, p, user_id)
    return await store.list_identities(conn, user_id, page)


async def get_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> asyncpg.Record:
    return await _owned_identity(conn, p, user_id, identity_id)


async def create_identity(
    conn: Conn, p: Principal, user_id: UUID, body: models.IdentityCreate
) -> asyncpg.Record:
    p.require("users", "update")
    if await store.get_user(conn, user_id) is None:
        raise NotFound("User not found.")
    if await store.get_identity_provider(conn, body.identity_provider_id) is None:
        raise ValidationFailed.field("identity_provider_id", "does not exist")
    fields = body.model_dump(exclude={"id", "user_id"}) | {"user_id": user_id}
    try:
        return await store.insert_identity(conn, body.id or uuid4(), fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("sub", "is already linked at this identity provider") from exc


async def update_identity(
    conn: Conn, p: Principal, user_id: UUID, identity_id: UUID, body: models.IdentityUpdate
) -> asyncpg.Record:
    await _owned_identity(conn, p, user_id, identity_id)
    fields = body.model_dump(exclude_unset=True)
    # Owners may change their notification choices; moving an identity is an admin's act.
    if not p.may_as_owner("users", "update_self", user_id) or "user_id" in fields:
        p.require("users", "update")
    if "user_id" in fields and await store.get_user(conn, fields["user_id"]) is None:
        raise ValidationFailed.field("user_id", "does not exist")
    if fields.get("user_id") not in (None, user_id):
        # Sessions opened through this identity act as the old user: end them.
        for sid in await store.live_session_ids(conn, user_id, identity_id):
            await store.revoke_session(conn, sid)
            await _emit(conn, ev.SessionRevoked(session_id=sid, user_id=user_id))
    row = (
        await store.update_identity(conn, identity_id, fields)
        if fields
        else await store.get_identity(conn, identity_id)
    )
    assert row is not None
    return row


async def delete_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> asyncpg.Record:
    await _owned_identity(conn, p, user_id, identity_id)
    if not p.may_as_owner("users", "update_self", user_id):
        p.require("users", "update")
    sessions = await store.live_session_ids(conn, user_id, identity_id)
    row = await store.delete_identity(conn, identity_id)
    assert row is not None
    for sid in sessions:
        await _emit(conn, ev.SessionRevoked(session_id=sid, user_id=user_id))
    return row


# --- groups and members ----------------------------------------------------------------


async def create_group(conn: Conn, p: Principal, body: models.GroupCreate) -> asyncpg.Record:
    p.require("groups", "create")
    group_id = body.id or uuid4()
    try:
        row = await store.insert_group(conn, group_id, body.name, body.description)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc
    await store.appoint_defaults(
        conn, [(uuid4(), r) for r in await store.default_role_ids(conn)], None, group_id
    )
    return row


async def get_group(conn: Conn, p: Principal, group_id: UUID) -> asyncpg.Record:
    p.require("groups", "read")
    row = await store.get_group(conn, group_id)
    if row is None:
        raise NotFound("Group not found.")
    return row


async def update_group(conn: Conn, p: Principal, group_id: UUID, body: models.GroupUpdate) -> asyncpg.Record:
    p.require("groups", "update")
    fields = body.model_dump(exclude_unset=True)
    if fields.get("name", "") is None:
        raise ValidationFailed.field("name", "can't be blank")
    try:
        row = (
            await store.update_group(conn, group_id, fields)
            if fields
            else await store.get_group(conn, group_id)
        )
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc
    if row is None:
        raise NotFound("Group not found.")
    return row


async def delete_group(conn: Conn, p: Principal, group_id: UUID) -> asyncpg.Record:
    p.require("groups", "delete")
    affected = await store.group_member_ids(conn, group_id)
    row = await store.delete_group(conn, group_id)
    if row is None:
        raise NotFound("Group not found.")
    await _emit(conn, ev.GroupDeleted(group_id=group_id))
    await _access_changed(conn, affected)
    return row


async def add_member(conn: Conn, p: Principal, group_id: UUID, body: models.MemberCreate) -> asyncpg.Record:
    p.require("groups", "update")
    if await store.get_group(conn, group_id) is None:
        raise NotFound("Group not found.")
    if body.group_id not in (None, group_id):
        raise ValidationFailed.field("group_id", "must match the group in the path")
    if await store.get_user(conn, body.user_id) is None:
        raise ValidationFailed.field("user_id", "does not exist")
    try:
        row = await store.insert_member(conn, body.id or uuid4(), group_id, body.user_id)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("user_id", "is already a member of this group") from exc
    await _emit(conn, ev.MembershipChanged(group_id=group_id, user_id=body.user_id, member=True))
    await _access_changed(conn, [body.user_id])
    return row


async def get_member(conn: Conn, p: Principal, group_id: UUID, member_id: UUID) -> asyncpg.Record:
    p.require("groups", "read")
    row = await store.get_member(conn, group_id, member_id)
    if row is None:
        raise NotFound("Member not found.")
    return row


async def list_members(
    conn: Conn, p: Principal, group_id: UUID, page: PageParams
) -> tuple[list[asyncpg.Record], int]:
    await get_group(conn, p, group_id)
    return await store.list_members(conn, group_id, page)


async def remove_member(conn: Conn, p: Principal, group_id: UUID, member_id: UUID) -> asyncpg.Record:
    p.require("groups", "update")
    row = await store.get_member(conn, group_id, member_id)
    if row is None:
        raise NotFound("Member not found.")
    await store.delete_member(conn, member_id)
    await _emit(conn, ev.MembershipChanged(group_id=group_id, user_id=row["user_id"], member=False))
    await _access_changed(conn, [row["user_id"]])
    return row


# --- roles and appointments ------------------------------------------------------------


def _permissions(document: Any) -> dict[str, dict[str, bool]]:
    try:
        return permissions.normalize(document)
    except permissions.PermissionError_ as exc:
        raise ValidationFailed({"permissions": exc.messages}) from exc


async def _access_changed(conn: Conn, user_ids: Iterable[UUID] | None) -> None:
    """Tell every gateway replica to drop cached permissions (None: of everyone)."""
    if user_ids is None:
        await _emit(conn, ev.AccessChanged(user_ids=[]))
        return
    affected = sorted(set(user_ids))
    # An empty list would read as "everyone" on the wire; nobody affected means no event.
    if affected:
        await _emit(conn, ev.AccessChanged(user_ids=affected))


async def create_role(conn: Conn, p: Principal, body: models.RoleCreate) -> asyncpg.Record:
    p.require("roles", "create")
    fields = body.model_dump(exclude={"id"}) | {"permissions": _permissions(body.permissions)}
    try:
        return await store.insert_role(conn, body.id or uuid4(), fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc


async def get_role(conn: Conn, p: Principal, role_id: UUID) -> asyncpg.Record:
    p.require("roles", "read")
    row = await store.get_role(conn, role_id)
    if row is None:
        raise NotFound("Role not found.")
    return row


async def update_role(conn: Conn, p: Principal, role_id: UUID, body: models.RoleUpdate) -> asyncpg.Record:
    p.require("roles", "update")
    fields = body.model_dump(exclude_unset=True)
    for key in ("name", "default", "permissions"):
        if key in fields and fields[key] is None:
            raise ValidationFailed.field(key, "can't be blank")
    if "permissions" in fields:
        fields["permissions"] = _permissions(fields["permissions"])
    try:
        row = (
            await store.update_role(conn, role_id, fields) if fields else await store.get_role(conn, role_id)
        )
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc
    if row is None:
        raise NotFound("Role not found.")
    if "permissions" in fields:
        await _access_changed(conn, await store.role_user_ids(conn, role_id))
    return row


async def delete_role(conn: Conn, p: Principal, role_id: UUID) -> asyncpg.Record:
    p.require("roles", "delete")
    row = await store.get_role(conn, role_id)
    if row is None:
        raise NotFound("Role not found.")
    if row["builtin"]:
        raise Conflict("Built-in roles cannot be deleted; remove their appointments instead.")
    affected = await store.role_user_ids(conn, role_id)
    await store.delete_role(conn, role_id)
    await _access_changed(conn, affected)
    return row


async def appoint(conn: Conn, p: Principal, role_id: UUID, body: models.AppointmentCreate) -> asyncpg.Record:
    p.require("roles", "update")
    if await store.get_role(conn, role_id) is None:
        raise NotFound("Role not found.")
    if body.role_id not in (None, role_id):
        raise ValidationFailed.field("role_id", "must match the role in the path")
    is_user = body.entity_type == "User"
    exists = await (
        store.get_user(conn, body.entity_id) if is_user else store.get_group(conn, body.entity_id)
    )
    if exists is None:
        raise ValidationFailed.field("entity_id", f"no {body.entity_type.lower()} with this id")
    user_id, group_id = (body.entity_id, None) if is_user else (None, body.entity_id)
    try:
        row = await store.insert_appointment(conn, body.id or uuid4(), role_id, user_id, group_id)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("entity_id", "already holds this role") from exc
    affected = [body.entity_id] if is_user else await store.group_member_ids(conn, body.entity_id)
    await _access_changed(conn, affected)
    return row


async def get_appointment(conn: Conn, p: Principal, role_id: UUID, appointment_id: UUID) -> asyncpg.Record:
    p.require("roles", "read")
    row = await store.get_appointment(conn, role_id, appointment_id)
    if row is None:
        raise NotFound("Appointment not found.")
    return row


async def list_appointments(
    conn: Conn, p: Principal, role_id: UUID, page: PageParams
) -> tuple[list[asyncpg.Record], int]:
    await get_role(conn, p, role_id)
    return await store.list_appointments(conn, role_id, page)


async def dismiss(conn: Conn, p: Principal, role_id: UUID, appointment_id: UUID) -> asyncpg.Record:
    p.require("roles", "update")
    row = await store.get_appointment(conn, role_id, appointment_id)
    if row is None:
        raise NotFound("Appointment not found.")
    await store.delete_appointment(conn, appointment_id)
    affected = [row["user_id"]] if row["user_id"] else await store.group_member_ids(conn, row["group_id"])
    await _access_changed(conn, affected)
    return row


# --- identity providers ----------------------------------------------------------------


async def create_identity_provider(
    conn: Conn, p: Principal, body: models.IdentityProviderCreate
) -> asyncpg.Record:
    p.require("identity_providers", "create")
    try:
        return await store.insert_identity_provider(conn, body.id or uuid4(), body.model_dump())
    except asyncpg.UniqueViolationError as exc:
        field = "issuer" if "issuer" in str(exc) else "name"
        raise ValidationFailed.field(field, "has already been taken") from exc


async def get_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> asyncpg.Record:
    """Enabled ones are readable by anyone (login needs them); disabled ones by managers."""
    row = await store.get_identity_provider(conn, idp_id)
    if row is None or (row["enabled_at"] is None and not p.can("identity_providers", "update")):
        raise NotFound("Identity provider not found.")
    return row


async def update_identity_provider(
    conn: Conn, p: Principal, idp_id: UUID, body: models.IdentityProviderUpdate
) -> asyncpg.Record:
    p.require("identity_providers", "update")
    fields = body.model_dump(exclude_unset=True)
    for key in ("name", "issuer", "client_id", "client_secret", "scopes"):
        if key in fields and fields[key] is None:
            raise ValidationFailed.field(key, "can't be blank")
    if "issuer" in fields:
        # A new issuer means new discovery and keys; stale ones must not be trusted.
        fields.update(configuration=None, public_keys=None, refreshed_at=None)
    try:
        row = (
            await store.update_identity_provider(conn, idp_id, fields)
            if fields
            else await store.get_identity_provider(conn, idp_id)
        )
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field(
            "issuer" if "issuer" in str(exc) else "name", "has already been taken"
        ) from exc
    if row is None:
        raise NotFound("Identity provider not found.")
    return row


async def set_identity_provider_enabled(
    conn: Conn, p: Principal, idp_id: UUID, enabled: bool
) -> asyncpg.Record:
    p.require("identity_providers", "update")
    row = await store.set_identity_provider_enabled(conn, idp_id, enabled)
    if row is None:
        raise NotFound("Identity provider not found.")
    return row


async def delete_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> asyncpg.Record:
    p.require("identity_providers", "delete")
    # Its identities go with it, and their sessions with them: say so before they vanish.
    sessions = await store.live_sessions_of_identity_provider(conn, idp_id)
    row = await store.delete_identity_provider(conn, idp_id)
    if row is None:
        raise NotFound("Identity provider not found.")
    for session in sessions:
        await _emit(conn, ev.SessionRevoked(session_id=session["id"], user_id=session["user_id"]))
    return row


# --- sessions and API tokens -----------------------------------------------------------


async def start_session(
    conn: Conn, user_id: UUID, identity_id: UUID | None, ttl_seconds: int
) -> asyncpg.Record:
    expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    return await store.insert_session(conn, uuid4(), user_id, "session", expires, identity_id=identity_id)


async def end_session(conn: Conn, p: Principal) -> None:
    if p.session_id is None or p.user_id is None:
        raise NotFound("There is no session to end.")
    if await store.revoke_session(conn, p.session_id) is not None:
        await _emit(conn, ev.SessionRevoked(session_id=p.session_id, user_id=p.user_id))


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s != "*" and s not in permissions.ALL_KEYS]
    if unknown:
        raise ValidationFailed.field("scopes", f"unknown permission keys: {', '.join(unknown[:10])}")
    return sorted(set(scopes))


async def create_api_token(
    conn: Conn, p: Principal, user_id: UUID, body: models.ApiTokenCreate, max_days: int
) -> asyncpg.Record:
    await get_user(conn, p, user_id)
    # A scoped token must not mint itself a wider one.
    if p.is_scoped:
        raise Forbidden("A scoped API token cannot create API tokens; sign in or use an unscoped token.")
    # Minting tokens for someone else would let an operator act as them.
    if not p.owns(user_id):
        p.require("everything", "manage")
    if body.expires_in_days > max_days:
        raise ValidationFailed.field("expires_in_days", f"must be at most {max_days}")
    expires = datetime.now(UTC) + timedelta(days=body.expires_in_days)
    return await store.insert_session(
        conn, uuid4(), user_id, "api", expires, name=body.name, scopes=_check_scopes(body.scopes)
    )


async def _token_owner_check(conn: Conn, p: Principal, user_id: UUID) -> None:
    await get_user(conn, p, user_id)
    if not p.owns(user_id):
        p.require("api_tokens", "read")


async def list_api_tokens(
    conn: Conn, p: Principal, user_id: UUID, page: PageParams
) -> tuple[list[asyncpg.Record], int]:
    await _token_owner_check(conn, p, user_id)
    return await store.list_api_tokens(conn, user_id, page)


async def get_api_token(conn: Conn, p: Principal, user_id: UUID, token_id: UUID) -> asyncpg.Record:
    await _token_owner_check(conn, p, user_id)
    row = await store.get_api_token(conn, user_id, token_id)
    if row is None:
        raise NotFound("API token not found.")
    return row


async def revoke_api_token(conn: Conn, p: Principal, user_id: UUID, token_id: UUID) -> asyncpg.Record:
    row = await get_api_token(conn, p, user_id, token_id)
    if not p.may_as_owner("api_tokens", "delete", user_id):
        p.require("api_tokens", "delete")
    revoked = await store.revoke_session(conn, token_id)
    if revoked is not None:
        await _emit(conn, ev.SessionRevoked(session_id=token_id, user_id=user_id))
        return revoked
    return row
