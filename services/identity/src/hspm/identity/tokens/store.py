"""All SQL of token records: the ``sessions`` table.

Tokens sit below users (deleting a user ends their tokens), so the API token routes
check that their user exists by reading ``users``, the users area's table, read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# A record still stands for a working token: neither revoked nor expired.
_LIVE = "revoked_at IS NULL AND expires_at > now()"


async def insert_session(
    conn: Conn,
    session_id: UUID,
    user_id: UUID,
    kind: str,
    expires_at: datetime,
    identity_id: UUID | None = None,
    name: str | None = None,
    scopes: list[str] | None = None,
) -> Record:
    row = await conn.fetchrow(
        """INSERT INTO sessions (id, user_id, identity_id, kind, name, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        session_id,
        user_id,
        identity_id,
        kind,
        name,
        scopes,
        expires_at,
    )
    assert row is not None
    return row


async def get_active_session(conn: Conn, session_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT * FROM sessions WHERE id = $1 AND {_LIVE}", session_id)


async def revoke_session(conn: Conn, session_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *",
        session_id,
    )


async def live_session_ids(conn: Conn, user_id: UUID, identity_id: UUID | None = None) -> list[UUID]:
    rows = await conn.fetch(
        f"""SELECT id FROM sessions WHERE user_id = $1 AND {_LIVE}
            AND ($2::uuid IS NULL OR identity_id = $2)""",
        user_id,
        identity_id,
    )
    return [r["id"] for r in rows]


async def live_sessions_of_identities(conn: Conn, identity_ids: Sequence[UUID]) -> list[Record]:
    return list(
        await conn.fetch(
            f"SELECT id, user_id FROM sessions WHERE identity_id = ANY($1::uuid[]) AND {_LIVE}",
            list(identity_ids),
        )
    )


async def list_api_tokens(conn: Conn, user_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("user_id = {}", user_id).add("kind = 'api'")
    return await sql.page(conn, "sessions", "*", where, page)


async def get_api_token(conn: Conn, user_id: UUID, token_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM sessions WHERE id = $1 AND user_id = $2 AND kind = 'api'", token_id, user_id
    )


async def user_exists(conn: Conn, user_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))
