"""All SQL of identity providers, their cached discovery documents included."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

_IDP_COLS = (
    "id, name, issuer, client_id, client_secret, alternate_client_id, scopes, configuration, "
    "public_keys, refreshed_at, enabled_at, created_at, updated_at"
)


async def insert_identity_provider(conn: Conn, idp_id: UUID, f: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO identity_providers
            (id, name, issuer, client_id, client_secret, alternate_client_id, scopes, enabled_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END)
            RETURNING {_IDP_COLS}""",
        idp_id,
        f["name"],
        f["issuer"],
        f["client_id"],
        f["client_secret"],
        f.get("alternate_client_id"),
        f["scopes"],
        f["enabled"],
    )
    assert row is not None
    return row


async def get_identity_provider(conn: Conn, idp_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_IDP_COLS} FROM identity_providers WHERE id = $1", idp_id)


async def list_identity_providers(
    conn: Conn, page: PageParams, enabled_only: bool
) -> tuple[list[Record], int]:
    where = sql.Where()
    if enabled_only:
        where.add("enabled_at IS NOT NULL")
    return await sql.page(conn, "identity_providers", _IDP_COLS, where, page)


async def update_identity_provider(conn: Conn, idp_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "identity_providers", _IDP_COLS, idp_id, fields)


async def set_identity_provider_enabled(conn: Conn, idp_id: UUID, enabled: bool) -> Record | None:
    return await conn.fetchrow(
        f"""UPDATE identity_providers SET enabled_at = CASE WHEN $2 THEN coalesce(enabled_at, now()) END,
            updated_at = now() WHERE id = $1 RETURNING {_IDP_COLS}""",
        idp_id,
        enabled,
    )


async def store_discovery(
    conn: Conn, idp_id: UUID, configuration: dict[str, Any], public_keys: dict[str, Any]
) -> None:
    await conn.execute(
        """UPDATE identity_providers SET configuration = $2, public_keys = $3, refreshed_at = now()
           WHERE id = $1""",
        idp_id,
        configuration,
        public_keys,
    )


async def delete_identity_provider(conn: Conn, idp_id: UUID) -> Record | None:
    return await sql.delete(conn, "identity_providers", _IDP_COLS, idp_id)
