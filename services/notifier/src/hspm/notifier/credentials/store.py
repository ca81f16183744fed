"""All SQL of agent keys."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

KEY_COLS = "id, platform_id, name, public_key, fingerprint, created_at, revoked_at"


async def insert_key(conn: Conn, key_id: UUID, platform_id: UUID, name: str, raw: bytes, fp: str) -> Record:
    row = await conn.fetchrow(
        f"INSERT INTO agent_keys (id, platform_id, name, public_key, fingerprint) "
        f"VALUES ($1, $2, $3, $4, $5) RETURNING {KEY_COLS}",
        key_id,
        platform_id,
        name,
        raw,
        fp,
    )
    assert row is not None
    return row


async def count_active(conn: Conn, platform_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM agent_keys WHERE platform_id = $1 AND revoked_at IS NULL", platform_id
        )
    )


async def list_keys(conn: Conn, platform_id: UUID) -> list[Record]:
    rows = await conn.fetch(
        f"SELECT {KEY_COLS} FROM agent_keys WHERE platform_id = $1 ORDER BY created_at, id", platform_id
    )
    return list(rows)


async def get_key(conn: Conn, key_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {KEY_COLS} FROM agent_keys WHERE id = $1", key_id)


async def active_pairs(conn: Conn, key_ids: list[UUID]) -> list[Record]:
    return list(
        await conn.fetch(
            "SELECT id, platform_id FROM agent_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL",
            key_ids,
        )
    )


async def revoke_key(conn: Conn, key_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"UPDATE agent_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING {KEY_COLS}",
        key_id,
    )
