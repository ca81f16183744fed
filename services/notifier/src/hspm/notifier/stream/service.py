"""The stream's rules: append in the caller's transaction, replay by sequence, prune.

Every change a platform's agent must hear of is appended by the transaction that makes
the change (as the outbox is), so an agent never hears of a change that rolled back and
never misses one that committed. Delivery reads the table; NOTIFY only wakes replicas.
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from hspm.common.db import Conn
from hspm.notifier.stream import store
from hspm.notifier.stream.resume import Head
from hspm.notifier.stream.store import CHANNEL, Record

__all__ = ["CHANNEL", "Record"]


def new_epoch() -> str:
    return secrets.token_hex(8)


async def open_stream(conn: Conn, platform_id: UUID) -> None:
    await store.open_stream(conn, platform_id, new_epoch())


async def append(
    conn: Conn, platform_id: UUID, resource_type: str, event_type: str, message: str, model: dict[str, Any]
) -> int:
    """One event in the spec's envelope; its sequence number. ``model`` must be JSON-ready."""
    return await store.append(conn, platform_id, resource_type, event_type, message, model)


async def head(conn: Conn, platform_id: UUID) -> Head | None:
    row = await store.position(conn, platform_id)
    if row is None:
        return None
    return Head(epoch=row["epoch"], head=int(row["head"]), floor=int(row["floor_seq"]))


async def events_after(conn: Conn, platform_id: UUID, after: int, limit: int) -> list[Record]:
    return await store.events_after(conn, platform_id, after, limit)


async def acknowledge(conn: Conn, platform_id: UUID, seq: int) -> None:
    await store.record_ack(conn, platform_id, seq)


async def prune(conn: Conn, retention_seconds: float, max_events: int) -> list[UUID]:
    """Drop events past the retention window or count; the platforms whose floor rose."""
    return await store.prune(conn, retention_seconds, max_events)


async def reset(conn: Conn, platform_id: UUID) -> str:
    """Forget a platform's history and renumber: every agent resyncs. The new epoch."""
    epoch = new_epoch()
    await store.reset_epoch(conn, platform_id, epoch)
    await store.notify(conn, f"s:{platform_id}")
    return epoch


async def announce(conn: Conn, payload: str) -> None:
    """Wake every replica about something other than new events (a key revoked...)."""
    await store.notify(conn, payload)
