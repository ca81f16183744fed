"""All SQL of users and their identities."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# Column lists are fixed here; only whitelisted names ever reach an f-string.
_USER_COLS = (
    "id, name, external_id, salutation, first_name, middle_name, last_name, email, created_at, updated_at"
)
_IDENTITY_COLS = (
    "id, user_id, identity_provider_id, sub, iat, hd, locale, email, jwt, notify_via_email, "
    "notify_via_sms, created_at, updated_at"
)


# --- users ----------------------------------------------------------------------------------


async def insert_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "users", _USER_COLS, {"id": user_id, **fields})


async def get_user(conn: Conn, user_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1", user_id)


async def list_users(
    conn: Conn, page: PageParams, name: str | None, external_id: str | None
) -> tuple[list[Record], int]:
    where = sql.Where()
    if name:
        where.add("lower(name) LIKE {}", sql.like_pattern(name))
    if external_id:
        where.add("external_id = {}", external_id)
    return await sql.page(conn, "users", _USER_COLS, where, page)


async def update_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "users", _USER_COLS, user_id, fields)


async def delete_user(conn: Conn, user_id: UUID) -> Record | None:
    return await sql.delete(conn, "users", _USER_COLS, user_id)


# --- identities -----------------------------------------------------------------------------


async def insert_identity(conn: Conn, identity_id: UUID, f: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO identities (id, user_id, identity_provider_id, sub, iat, hd, locale, email, jwt,
                notify_via_email, notify_via_sms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_IDENTITY_COLS}""",
        identity_id,
        f["user_id"],
        f["identity_provider_id"],
        f["sub"],
        f.get("iat"),
        f.get("hd"),
        f.get("locale"),
        f.get("email"),
        f.get("jwt", {}),
        f.get("notify_via_email", False),
        f.get("notify_via_sms", False),
    )
    assert row is not None
    return row


async def get_identity(conn: Conn, identity_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_IDENTITY_COLS} FROM identities WHERE id = $1", identity_id)


async def find_identity(conn: Conn, idp_id: UUID, sub: str) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_IDENTITY_COLS} FROM identities WHERE identity_provider_id = $1 AND sub = $2",
        idp_id,
        sub,
    )


async def identity_ids_at(conn: Conn, idp_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT id FROM identities WHERE identity_provider_id = $1", idp_id)
    return [r["id"] for r in rows]


async def list_identities(conn: Conn, user_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(conn, "identities", _IDENTITY_COLS, sql.Where().add("user_id = {}", user_id), page)


async def update_identity(conn: Conn, identity_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "identities", _IDENTITY_COLS, identity_id, fields)


async def delete_identity(conn: Conn, identity_id: UUID) -> Record | None:
    return await sql.delete(conn, "identities", _IDENTITY_COLS, identity_id)
