"""All SQL of the sessions area: OpenID Connect logins in flight, the one-time codes that
hand a finished login's token to the UI, and the database's clock."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common.db import Conn


async def insert_login(
    conn: Conn, state: str, idp_id: UUID, nonce: str, verifier: str, browser_hash: bytes
) -> None:
    await conn.execute(
        """INSERT INTO oidc_logins (state, identity_provider_id, nonce, code_verifier, browser_hash)
           VALUES ($1, $2, $3, $4, $5)""",
        state,
        idp_id,
        nonce,
        verifier,
        browser_hash,
    )


async def take_login(
    conn: Conn, state: str, browser_hash: bytes, max_age_seconds: int
) -> asyncpg.Record | None:
    """Consume a login's state exactly once, and only from the browser that started it;
    stale ones are refused. Another browser's attempt leaves the login in place."""
    return await conn.fetchrow(
        """DELETE FROM oidc_logins WHERE state = $1 AND browser_hash = $2
           AND created_at > now() - make_interval(secs => $3) RETURNING *""",
        state,
        browser_hash,
        max_age_seconds,
    )


async def purge_logins(conn: Conn, max_age_seconds: int) -> None:
    await conn.execute(
        "DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => $1)", max_age_seconds
    )


async def insert_login_code(conn: Conn, code_hash: bytes, session_id: UUID, ttl_seconds: int) -> None:
    await conn.execute(
        """INSERT INTO login_codes (code_hash, session_id, expires_at)
           VALUES ($1, $2, now() + make_interval(secs => $3))""",
        code_hash,
        session_id,
        ttl_seconds,
    )


async def take_login_code(conn: Conn, code_hash: bytes) -> UUID | None:
    """The session a hand-over code stands for, consumed exactly once; expired ones are refused."""
    session_id: UUID | None = await conn.fetchval(
        "DELETE FROM login_codes WHERE code_hash = $1 AND expires_at > now() RETURNING session_id",
        code_hash,
    )
    return session_id


async def purge_login_codes(conn: Conn) -> None:
    await conn.execute("DELETE FROM login_codes WHERE expires_at <= now()")


async def database_now(conn: Conn) -> datetime:
    value: datetime = await conn.fetchval("SELECT CURRENT_TIMESTAMP")
    return value
