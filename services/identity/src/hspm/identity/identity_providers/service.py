"""Identity providers: who may see and change them, and the cascade of removing one.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.paging import PageParams
from hspm.identity.identity_providers import models, store
from hspm.identity.tokens import service as tokens
from hspm.identity.users import service as users

Record = asyncpg.Record

_REQUIRED = ("name", "issuer", "client_id", "client_secret", "scopes")


# --- rules ----------------------------------------------------------------------------------


def shows_configuration(p: Principal) -> bool:
    """Anyone sees what login needs; those who manage providers also see their configuration."""
    return p.can("identity_providers", "update")


def _taken(exc: asyncpg.UniqueViolationError) -> ValidationFailed:
    """Names and issuers are unique; say which one clashed."""
    return ValidationFailed.field("issuer" if "issuer" in str(exc) else "name", "has already been taken")


def _found(row: Record | None) -> Record:
    if row is None:
        raise NotFound("Identity provider not found.")
    return row


# --- for the login flow ---------------------------------------------------------------------


async def find_provider(conn: Conn, idp_id: UUID) -> Record | None:
    """A provider as the service itself reads it (no caller to check)."""
    return await store.get_identity_provider(conn, idp_id)


async def store_discovery(
    conn: Conn, idp_id: UUID, configuration: dict[str, Any], public_keys: dict[str, Any]
) -> None:
    """Cache a provider's discovery document and keys, stamped with when they were fetched."""
    await store.store_discovery(conn, idp_id, configuration, public_keys)


# --- the API --------------------------------------------------------------------------------


async def list_identity_providers(conn: Conn, p: Principal, page: PageParams) -> tuple[list[Record], int]:
    """Every provider for those who manage them; anyone else (anonymous too) sees enabled ones."""
    return await store.list_identity_providers(conn, page, enabled_only=not shows_configuration(p))


async def create_identity_provider(conn: Conn, p: Principal, body: models.IdentityProviderCreate) -> Record:
    p.require("identity_providers", "create")
    try:
        return await store.insert_identity_provider(conn, body.id or uuid4(), body.model_dump())
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc


async def get_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> Record:
    """Enabled ones are readable by anyone (login needs them); disabled ones by managers."""
    row = await store.get_identity_provider(conn, idp_id)
    if row is not None and row["enabled_at"] is None and not shows_configuration(p):
        row = None
    return _found(row)


async def update_identity_provider(
    conn: Conn, p: Principal, idp_id: UUID, body: models.IdentityProviderUpdate
) -> Record:
    p.require("identity_providers", "update")
    fields = body.model_dump(exclude_unset=True)
    for key in _REQUIRED:
        if key in fields and fields[key] is None:
            raise ValidationFailed.field(key, "can't be blank")
    if "issuer" in fields:
        # A new issuer means new discovery and keys; stale ones must not be trusted.
        fields.update(configuration=None, public_keys=None, refreshed_at=None)
    try:
        row = await (
            store.update_identity_provider(conn, idp_id, fields)
            if fields
            else store.get_identity_provider(conn, idp_id)
        )
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    return _found(row)


async def set_identity_provider_enabled(conn: Conn, p: Principal, idp_id: UUID, enabled: bool) -> Record:
    p.require("identity_providers", "update")
    return _found(await store.set_identity_provider_enabled(conn, idp_id, enabled))


async def enable_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> Record:
    return await set_identity_provider_enabled(conn, p, idp_id, True)


async def disable_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> Record:
    return await set_identity_provider_enabled(conn, p, idp_id, False)


async def delete_identity_provider(conn: Conn, p: Principal, idp_id: UUID) -> Record:
    p.require("identity_providers", "delete")
    # Its identities go with it, and their sessions with them: say so once they are gone.
    sessions = await tokens.live_sessions_of_identities(conn, await users.identity_ids_at(conn, idp_id))
    row = _found(await store.delete_identity_provider(conn, idp_id))
    await tokens.announce_ended(conn, sessions)
    return row
