"""All SQL of the streams: positions, events, the wake-up, pruning."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

# The channel every replica listens on; the payload says what woke it (see ``hub``).
CHANNEL = "hspm_notifier"

_APPEND = """
WITH pos AS (
    UPDATE streams SET next_seq = next_seq + 1 WHERE platform_id = $1
    RETURNING next_seq - 1 AS seq, epoch
)
INSERT INTO stream_events (platform_id, seq, resource_type, event_type, message, model)
SELECT $1, pos.seq, $2, $3, $4, $5 FROM pos
RETURNING seq
"""

_PRUNE = """
WITH gone AS (
    DELETE FROM stream_events e
    USING streams s
    WHERE e.platform_id = s.platform_id
      AND (e.created_at < now() - make_interval(secs => $1) OR e.seq < s.next_seq - $2)
    RETURNING e.platform_id, e.seq
)
UPDATE streams s SET floor_seq = greatest(s.floor_seq, g.top + 1)
FROM (SELECT platform_id, max(seq) AS top FROM gone GROUP BY platform_id) g
WHERE s.platform_id = g.platform_id
RETURNING s.platform_id
"""


async def open_stream(conn: Conn, platform_id: UUID, epoch: str) -> None:
    await conn.execute("INSERT INTO streams (platform_id, epoch) VALUES ($1, $2)", platform_id, epoch)


async def append(
    conn: Conn, platform_id: UUID, resource_type: str, event_type: str, message: str, model: dict[str, Any]
) -> int:
    """The event's sequence number; the row lock on ``streams`` orders concurrent appends."""
    seq = await conn.fetchval(_APPEND, platform_id, resource_type, event_type, message, model)
    # Delivered only if the transaction commits: a wake-up, never the data itself.
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"s:{platform_id}")
    return int(seq)


async def notify(conn: Conn, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


async def position(conn: Conn, platform_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT epoch, next_seq - 1 AS head, floor_seq, acked_seq FROM streams WHERE platform_id = $1",
        platform_id,
    )


async def events_after(conn: Conn, platform_id: UUID, after: int, limit: int) -> list[Record]:
    rows = await conn.fetch(
        "SELECT seq, resource_type, event_type, message, model, created_at FROM stream_events "
        "WHERE platform_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        platform_id,
        after,
        limit,
    )
    return list(rows)


async def record_ack(conn: Conn, platform_id: UUID, seq: int) -> None:
    await conn.execute(
        "UPDATE streams SET acked_seq = greatest(acked_seq, $2) WHERE platform_id = $1", platform_id, seq
    )


async def prune(conn: Conn, retention_seconds: float, max_events: int) -> list[UUID]:
    rows = await conn.fetch(_PRUNE, retention_seconds, max_events)
    return [r["platform_id"] for r in rows]


async def reset_epoch(conn: Conn, platform_id: UUID, epoch: str) -> None:
    """History is gone altogether: new numbering from the current head on."""
    await conn.execute("DELETE FROM stream_events WHERE platform_id = $1", platform_id)
    await conn.execute(
        "UPDATE streams SET epoch = $2, floor_seq = next_seq WHERE platform_id = $1", platform_id, epoch
    )
