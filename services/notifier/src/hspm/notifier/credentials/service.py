"""Rules of agent keys: the platform's owner (or staff with platforms.update) adds and
revokes them; revoking wakes every replica, which closes that key's sockets at once."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
from hspm.notifier.credentials import ed25519, models, store
from hspm.notifier.platforms import service as platforms
from hspm.notifier.stream import service as stream

Record = asyncpg.Record
MAX_ACTIVE_KEYS = 20


async def _writable_platform(conn: Conn, p: Principal, platform_id: UUID) -> Record:
    row = await platforms.get_platform(conn, p, platform_id)
    p.require_or_owner("platforms", "update", row["user_id"])
    return row


async def add_key(conn: Conn, p: Principal, platform_id: UUID, body: models.KeyCreate) -> Record:
    await _writable_platform(conn, p, platform_id)
    try:
        raw = ed25519.parse_public_key(body.public_key)
    except ed25519.BadKey as exc:
        raise ValidationFailed.field("public_key", str(exc)) from exc
    if await store.count_active(conn, platform_id) >= MAX_ACTIVE_KEYS:
        raise Conflict(f"A platform has at most {MAX_ACTIVE_KEYS} active keys; revoke one first.")
    try:
        return await store.insert_key(conn, uuid4(), platform_id, body.name, raw, ed25519.fingerprint(raw))
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            "This key is already registered for the platform.",
            errors={"public_key": ["has already been taken"]},
        ) from exc


async def list_keys(conn: Conn, p: Principal, platform_id: UUID) -> list[Record]:
    await platforms.get_platform(conn, p, platform_id)
    return await store.list_keys(conn, platform_id)


async def _key_of(conn: Conn, platform_id: UUID, key_id: UUID) -> Record:
    row = await store.get_key(conn, key_id)
    if row is None or row["platform_id"] != platform_id:
        raise NotFound("Key not found.")
    return row


async def get_key(conn: Conn, p: Principal, platform_id: UUID, key_id: UUID) -> Record:
    await platforms.get_platform(conn, p, platform_id)
    return await _key_of(conn, platform_id, key_id)


async def revoke_key(conn: Conn, p: Principal, platform_id: UUID, key_id: UUID) -> Record:
    """Kept with ``revoked_at`` (an audit trail); its live sockets close within seconds."""
    await _writable_platform(conn, p, platform_id)
    await _key_of(conn, platform_id, key_id)
    row = await store.revoke_key(conn, key_id)
    assert row is not None
    await stream.announce(conn, f"k:{key_id}")
    return row


# --- for agents proving possession ---------------------------------------------------------


async def active_key(conn: Conn, platform_id: UUID, key_id: UUID) -> Record | None:
    """The key, if it is this platform's and not revoked."""
    row = await store.get_key(conn, key_id)
    if row is None or row["platform_id"] != platform_id or row["revoked_at"] is not None:
        return None
    return row


async def active_pairs(conn: Conn, key_ids: list[UUID]) -> set[tuple[UUID, UUID]]:
    """Which of these keys are still active, as ``(platform_id, key_id)``."""
    return {(r["platform_id"], r["id"]) for r in await store.active_pairs(conn, key_ids)}


def signature_valid(key: Record, platform_id: UUID, nonce: str, signature: str) -> bool:
    return ed25519.verify(
        bytes(key["public_key"]), signature, ed25519.challenge_message(str(platform_id), nonce)
    )
