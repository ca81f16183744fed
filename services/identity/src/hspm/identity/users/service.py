"""Users and identities: who may read and change them, default roles, the cascades of a
delete, and the events they emit.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, ValidationFailed
from hspm.common.events import identity as ev
from hspm.common.paging import PageParams
from hspm.identity import access
from hspm.identity.events import emit
from hspm.identity.groups import service as groups
from hspm.identity.roles import service as roles
from hspm.identity.tokens import service as tokens
from hspm.identity.users import models, store

Record = asyncpg.Record

# The name an operator's bootstrap API token is listed under.
BOOTSTRAP_TOKEN = "bootstrap"


# --- rules ----------------------------------------------------------------------------------


def may_update(p: Principal, user_id: UUID) -> None:
    """Users change their own record (unless a scoped token says otherwise); others need
    ``users.update``."""
    if not p.may_as_owner("users", "update_self", user_id):
        p.require("users", "update")


def _no_blank_name(fields: dict[str, Any]) -> None:
    if "name" in fields and fields["name"] is None:
        raise ValidationFailed.field("name", "can't be blank")


# --- users ----------------------------------------------------------------------------------


async def register_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> Record:
    """Create a user with every default role appointed, as login and the API both do."""
    try:
        row = await store.insert_user(conn, user_id, fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("id", "has already been taken") from exc
    await roles.appoint_defaults(conn, user_id=user_id)
    await emit(conn, ev.UserCreated(user_id=user_id, name=row["name"]))
    return row


async def refresh_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> None:
    """Names from a returning login; an event only when something changed."""
    before = await store.get_user(conn, user_id)
    if before is None or all(before[k] == v for k, v in fields.items()):
        return
    row = await store.update_user(conn, user_id, fields)
    assert row is not None
    await emit(conn, ev.UserUpdated(user_id=user_id, name=row["name"]))


async def create_administrator(conn: Conn, name: str, token_days: int) -> tuple[Record, Record]:
    """An operator's bootstrap: a user holding the Administrator role, and an API token's record."""
    user = await register_user(conn, uuid4(), {"name": name})
    await roles.appoint_administrator(conn, user["id"])
    return user, await tokens.record_api_token(conn, user["id"], BOOTSTRAP_TOKEN, token_days)


async def find_user(conn: Conn, user_id: UUID) -> Record | None:
    """A user as the service itself reads it (no caller to check)."""
    return await store.get_user(conn, user_id)


async def create_user(conn: Conn, p: Principal, body: models.UserCreate) -> Record:
    p.require("users", "create")
    return await register_user(conn, body.id or uuid4(), body.model_dump(exclude={"id"}, exclude_none=True))


async def get_user(conn: Conn, p: Principal, user_id: UUID) -> Record:
    access.signed_in(p)
    row = await store.get_user(conn, user_id)
    # Unreadable and missing look the same, so ids cannot be probed.
    if row is None or not access.may_read_user(p, user_id):
        raise NotFound("User not found.")
    return row


async def list_users(
    conn: Conn, p: Principal, page: PageParams, name: str | None, external_id: str | None
) -> tuple[list[Record], int]:
    p.require("users", "read")
    return await store.list_users(conn, page, name, external_id)


async def update_user(conn: Conn, p: Principal, user_id: UUID, body: models.UserUpdate) -> Record:
    await get_user(conn, p, user_id)
    may_update(p, user_id)
    fields = body.model_dump(exclude_unset=True)
    _no_blank_name(fields)
    row = await (store.update_user(conn, user_id, fields) if fields else store.get_user(conn, user_id))
    assert row is not None
    await emit(conn, ev.UserUpdated(user_id=user_id, name=row["name"]))
    return row


async def delete_user(conn: Conn, p: Principal, user_id: UUID) -> Record:
    p.require("users", "delete")
    if p.owns(user_id):
        raise Forbidden("You cannot delete yourself.")
    sessions = await tokens.live_session_ids(conn, user_id)
    group_ids = await groups.group_ids_of_user(conn, user_id)
    row = await store.delete_user(conn, user_id)
    if row is None:
        raise NotFound("User not found.")
    # The delete cascaded to these tokens and memberships: say so.
    await tokens.announce_ended(conn, [(sid, user_id) for sid in sessions])
    # Licensing counts group claims by membership.
    for group_id in group_ids:
        await emit(conn, ev.MembershipChanged(group_id=group_id, user_id=user_id, member=False))
    await emit(conn, ev.UserDeleted(user_id=user_id))
    return row


# --- identities -----------------------------------------------------------------------------


async def _owned_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> Record:
    access.signed_in(p)
    row = await store.get_identity(conn, identity_id)
    if row is None or row["user_id"] != user_id or not access.may_read_user(p, user_id):
        raise NotFound("Identity not found.")
    return row


async def list_identities(
    conn: Conn, p: Principal, user_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await get_user(conn, p, user_id)
    return await store.list_identities(conn, user_id, page)


async def get_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> Record:
    return await _owned_identity(conn, p, user_id, identity_id)


async def create_identity(conn: Conn, p: Principal, user_id: UUID, body: models.IdentityCreate) -> Record:
    p.require("users", "update")
    if await store.get_user(conn, user_id) is None:
        raise NotFound("User not found.")
    fields = body.model_dump(exclude={"id", "user_id"}) | {"user_id": user_id}
    try:
        return await store.insert_identity(conn, body.id or uuid4(), fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("sub", "is already linked at this identity provider") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        # Providers belong to an area above this one: the identity's key checks that it exists.
        raise ValidationFailed.field("identity_provider_id", "does not exist") from exc


async def update_identity(
    conn: Conn, p: Principal, user_id: UUID, identity_id: UUID, body: models.IdentityUpdate
) -> Record:
    await _owned_identity(conn, p, user_id, identity_id)
    fields = body.model_dump(exclude_unset=True)
    # Owners may change their notification choices; moving an identity is an admin's act.
    if "user_id" in fields:
        p.require("users", "update")
    else:
        may_update(p, user_id)
    if "user_id" in fields and await store.get_user(conn, fields["user_id"]) is None:
        raise ValidationFailed.field("user_id", "does not exist")
    if fields.get("user_id") not in (None, user_id):
        # Sessions opened through this identity act as the old user: end them.
        await tokens.end_identity_sessions(conn, user_id, identity_id)
    row = await (
        store.update_identity(conn, identity_id, fields) if fields else store.get_identity(conn, identity_id)
    )
    assert row is not None
    return row


async def delete_identity(conn: Conn, p: Principal, user_id: UUID, identity_id: UUID) -> Record:
    await _owned_identity(conn, p, user_id, identity_id)
    may_update(p, user_id)
    sessions = await tokens.live_session_ids(conn, user_id, identity_id)
    row = await store.delete_identity(conn, identity_id)
    assert row is not None
    await tokens.announce_ended(conn, [(sid, user_id) for sid in sessions])
    return row


# --- for the other areas: login and the providers' cascade ------------------------------------


async def sign_in(
    conn: Conn, idp_id: UUID, sub: str, user_fields: dict[str, Any], identity_fields: dict[str, Any]
) -> tuple[UUID, UUID]:
    """Find the identity by (provider, sub) and refresh it, or create the user and identity.

    Returns ``(user id, identity id)``.
    """
    existing = await store.find_identity(conn, idp_id, sub)
    if existing is not None:
        await refresh_user(conn, existing["user_id"], user_fields)
        await store.update_identity(conn, existing["id"], identity_fields)
        return existing["user_id"], existing["id"]
    user = await register_user(conn, uuid4(), user_fields)
    fields = identity_fields | {"user_id": user["id"], "identity_provider_id": idp_id, "sub": sub}
    identity = await store.insert_identity(conn, uuid4(), fields)
    return user["id"], identity["id"]


async def find_identity(conn: Conn, identity_id: UUID) -> Record | None:
    """An identity as the service itself reads it (no caller to check)."""
    return await store.get_identity(conn, identity_id)


async def identity_ids_at(conn: Conn, idp_id: UUID) -> list[UUID]:
    """The identities at a provider (deleting the provider removes them)."""
    return await store.identity_ids_at(conn, idp_id)
