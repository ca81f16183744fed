"""All SQL of the sessions area: OpenID Connect logins in flight, and the database's clock."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common.db import Conn


async def insert_login(conn: Conn, state: str, idp_id: UUID, nonce: str, verifier: str) -> None:
    await conn.execute(
        "INSERT INTO oidc_logins (state, identity_provider_id, nonce, code_verifier) VALUES ($1, $2, $3, $4)",
        state,
        idp_id,
        nonce,
        verifier,
    )


async def take_login(conn: Conn, state: str, max_age_seconds: int) -> asyncpg.Record | None:
    """Consume a login's state exactly once; stale ones are refused."""
    return await conn.fetchrow(
        """DELETE FROM oidc_logins WHERE state = $1
           AND created_at > now() - make_interval(secs => $2) RETURNING *""",
        state,
        max_age_seconds,
    )


async def purge_logins(conn: Conn, max_age_seconds: int) -> None:
    await conn.execute(
        "DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => $1)", max_age_seconds
    )


async def database_now(conn: Conn) -> datetime:
    value: datetime = await conn.fetchval("SELECT CURRENT_TIMESTAMP")
    return value
