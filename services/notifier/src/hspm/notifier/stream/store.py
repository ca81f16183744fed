"""All SQL of the streams: positions, events, the wake-up, pruning."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.db import Conn

Record = asyncpg.Record

# The channel every replica listens on; the payload says what woke it (see ``hub``).
CHANNEL = "hspm_notifier"

# How every event frame is rendered, in the database: read and append render alike.
_OCCURRED = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
# An event's frame but its epoch and seq, for a wake-up that carries it (``append_many``).
_BODY = f"""json_build_object(
    'type', 'event', 'resource_type', resource_type, 'event_type', event_type, 'message', message,
    'model', model, 'occurred_at', {_OCCURRED}, 'traceparent', traceparent)"""

_APPEND = """
WITH pos AS (
    UPDATE streams SET next_seq = next_seq + 1 WHERE platform_id = $1
    RETURNING next_seq - 1 AS seq, epoch
)
INSERT INTO stream_events (platform_id, seq, resource_type, event_type, message, model, traceparent)
SELECT $1, pos.seq, $2, $3, $4, $5, $6 FROM pos
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
    conn: Conn,
    platform_id: UUID,
    resource_type: str,
    event_type: str,
    message: str,
    model: dict[str, Any],
    traceparent: str | None,
) -> int:
    """The event's sequence number; the row lock on ``streams`` orders concurrent appends."""
    seq = await conn.fetchval(_APPEND, platform_id, resource_type, event_type, message, model, traceparent)
    # Delivered only if the transaction commits: a wake-up, never the data itself.
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"s:{platform_id}")
    return int(seq)


# Many platforms' appends in one statement, their streams locked in id order first (two
# transactions telling overlapping platforms cannot deadlock).
_LOCK_MANY = (
    "SELECT platform_id FROM streams WHERE platform_id = ANY($1::uuid[]) ORDER BY platform_id FOR UPDATE"
)
_APPEND_MANY = f"""
WITH pos AS (
    UPDATE streams SET next_seq = next_seq + 1 WHERE platform_id = ANY($1::uuid[])
    RETURNING platform_id, next_seq - 1 AS seq, epoch
), made AS (
    INSERT INTO stream_events (platform_id, seq, resource_type, event_type, message, model, traceparent)
    SELECT pos.platform_id, pos.seq, $2, $3, $4, $5, $6 FROM pos
    RETURNING platform_id, seq, {_BODY}::text AS body
)
SELECT made.platform_id, made.seq, pos.epoch, made.body FROM made JOIN pos USING (platform_id, seq)
ORDER BY made.platform_id
"""


async def append_many(
    conn: Conn,
    platform_ids: list[UUID],
    resource_type: str,
    event_type: str,
    message: str,
    model: dict[str, Any],
    traceparent: str | None,
) -> list[Record]:
    """The same event appended to each platform's stream: ``(platform_id, seq, epoch,
    body)`` per platform, by id; ``body`` is the frame but its epoch and seq."""
    await conn.execute(_LOCK_MANY, platform_ids)
    rows = await conn.fetch(
        _APPEND_MANY, platform_ids, resource_type, event_type, message, model, traceparent
    )
    return list(rows)


async def notify_all(conn: Conn, payloads: list[str]) -> None:
    await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS t(p)", CHANNEL, payloads)


async def notify(conn: Conn, payload: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


async def position(conn: Conn, platform_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT epoch, next_seq - 1 AS head, floor_seq, acked_seq FROM streams WHERE platform_id = $1",
        platform_id,
    )


# One statement for many sessions' reads (see ``sockets.batch``): each asks for its
# platform's position and the events after its own; one snapshot answers both, so a
# session never sees events past the head it is told.
# Each event comes as its frame, rendered here (``sockets.protocol.event`` is the shape):
# the replica sends the text as it is, with no JSON decoded and encoded again per socket.
_READ_MANY = f"""
SELECT w.i, s.epoch, s.next_seq - 1 AS head, s.floor_seq, e.seq, e.frame
FROM unnest($1::uuid[], $2::bigint[], $3::int[]) WITH ORDINALITY AS w(platform_id, after, lim, i)
JOIN streams s ON s.platform_id = w.platform_id
LEFT JOIN LATERAL (
    SELECT seq, json_build_object(
        'type', 'event', 'epoch', s.epoch, 'seq', seq, 'resource_type', resource_type,
        'event_type', event_type, 'message', message, 'model', model, 'occurred_at', {_OCCURRED},
        'traceparent', traceparent
    )::text AS frame
    FROM stream_events
    WHERE platform_id = w.platform_id AND seq > w.after ORDER BY seq LIMIT w.lim
) e ON true
ORDER BY w.i, e.seq
"""


async def read_many(
    conn: Conn, platform_ids: list[UUID], afters: list[int], limits: list[int]
) -> list[Record]:
    """Rows of ``(i, epoch, head, floor_seq, seq, ...)`` for request ``i`` (1-based); a
    request with no new events has one row whose ``seq`` is NULL, a deleted platform none.

    Prepared afresh each time, never from the connection's statement cache: a plan cached
    while ``stream_events`` was nearly empty scans the whole table once per platform
    (measured: 0.8 s for 1,000 platforms after 25,000 events, 5 ms planned afresh). The
    extra parse is one round trip for a whole burst of sessions."""
    statement = await conn.prepare(_READ_MANY)
    return list(await statement.fetch(platform_ids, afters, limits))


async def positions(conn: Conn, platform_ids: list[UUID]) -> list[Record]:
    return list(
        await conn.fetch(
            "SELECT platform_id, epoch, next_seq - 1 AS head, floor_seq FROM streams "
            "WHERE platform_id = ANY($1::uuid[])",
            platform_ids,
        )
    )


async def record_acks(conn: Conn, platform_ids: list[UUID], seqs: list[int]) -> None:
    """Many sessions' acknowledgements in one statement (the highest per platform wins)."""
    await conn.execute(
        "UPDATE streams s SET acked_seq = greatest(s.acked_seq, a.seq) "
        "FROM (SELECT platform_id, max(seq) AS seq FROM unnest($1::uuid[], $2::bigint[]) "
        "      AS t(platform_id, seq) GROUP BY platform_id) a "
        "WHERE s.platform_id = a.platform_id",
        platform_ids,
        seqs,
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
