"""All SQL of the sessions area: OpenID Connect logins in flight, the one-time codes that
hand a finished login's token to the UI, device sign-ins, and the database's clock."""

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


async def insert_device_authorization(
    conn: Conn, device_hash: bytes, user_code_hash: bytes, client_name: str, ttl_seconds: int, interval: int
) -> bool:
    """Record a pending device sign-in; False when the user code is taken (draw another)."""
    inserted: bool | None = await conn.fetchval(
        """INSERT INTO device_authorizations
               (device_hash, user_code_hash, client_name, expires_at, interval_seconds)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)
           ON CONFLICT DO NOTHING RETURNING true""",
        device_hash,
        user_code_hash,
        client_name,
        ttl_seconds,
        interval,
    )
    return bool(inserted)


async def count_device_authorizations(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM device_authorizations"))


async def purge_device_authorizations(conn: Conn) -> None:
    await conn.execute("DELETE FROM device_authorizations WHERE expires_at <= now()")


async def lock_device_authorization(conn: Conn, device_hash: bytes) -> asyncpg.Record | None:
    """A device sign-in by its device code, locked for this poll, with the database's verdicts:
    ``expired`` and ``too_soon`` (polled again within its interval)."""
    return await conn.fetchrow(
        """SELECT *, expires_at <= now() AS expired,
                  coalesce(last_polled_at > now() - make_interval(secs => interval_seconds), false)
                      AS too_soon
           FROM device_authorizations WHERE device_hash = $1 FOR UPDATE""",
        device_hash,
    )


async def record_device_poll(conn: Conn, device_hash: bytes, slow_down_by: int) -> None:
    """Remember when the device last polled, lengthening its interval when it was too soon."""
    await conn.execute(
        """UPDATE device_authorizations
           SET last_polled_at = now(), interval_seconds = interval_seconds + $2
           WHERE device_hash = $1""",
        device_hash,
        slow_down_by,
    )


async def delete_device_authorization(conn: Conn, device_hash: bytes) -> None:
    await conn.execute("DELETE FROM device_authorizations WHERE device_hash = $1", device_hash)


async def find_pending_device_authorization(conn: Conn, user_code_hash: bytes) -> asyncpg.Record | None:
    """A live, undecided device sign-in by its user code."""
    return await conn.fetchrow(
        """SELECT * FROM device_authorizations
           WHERE user_code_hash = $1 AND approved IS NULL AND expires_at > now()""",
        user_code_hash,
    )


async def decide_device_authorization(
    conn: Conn, user_code_hash: bytes, approved: bool, approver_id: UUID, identity_id: UUID | None
) -> bool:
    """Approve or deny a live, undecided device sign-in, once; False when there is none."""
    decided: bool | None = await conn.fetchval(
        """UPDATE device_authorizations
           SET approved = $2, decided_at = now(), approver_id = $3, approver_identity_id = $4
           WHERE user_code_hash = $1 AND approved IS NULL AND expires_at > now()
           RETURNING true""",
        user_code_hash,
        approved,
        approver_id,
        identity_id,
    )
    return bool(decided)


async def database_now(conn: Conn) -> datetime:
    value: datetime = await conn.fetchval("SELECT CURRENT_TIMESTAMP")
    return value
