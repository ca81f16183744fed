"""The stream's rules: append in the caller's transaction, replay by sequence, prune.

Every change a platform's agent must hear of is appended by the transaction that makes
the change (as the outbox is), so an agent never hears of a change that rolled back and
never misses one that committed. Delivery reads the table; NOTIFY only wakes replicas.
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import orjson

from hspm.common import tracing
from hspm.common.db import Conn
from hspm.notifier.stream import store
from hspm.notifier.stream.resume import Head
from hspm.notifier.stream.store import CHANNEL, Record

__all__ = ["CHANNEL", "Record"]

# PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more.
WAKE_BYTES = 7_900
# Plain wake-ups name this many platforms each; a carried frame is at most this long.
WAKE_IDS = 200
CARRY_BODY_BYTES = 3_000


def new_epoch() -> str:
    return secrets.token_hex(8)


async def open_stream(conn: Conn, platform_id: UUID) -> None:
    await store.open_stream(conn, platform_id, new_epoch())


async def append(
    conn: Conn, platform_id: UUID, resource_type: str, event_type: str, message: str, model: dict[str, Any]
) -> int:
    """One event in the spec's envelope; its sequence number. ``model`` must be JSON-ready.

    The event carries the trace of the change that made it: the agent that applies it
    continues that trace (docs/notifier-protocol.md, "Traces")."""
    traceparent = tracing.current_traceparent()
    return await store.append(conn, platform_id, resource_type, event_type, message, model, traceparent)


async def head(conn: Conn, platform_id: UUID) -> Head | None:
    row = await store.position(conn, platform_id)
    return None if row is None else _head(row)


async def append_many(
    conn: Conn,
    platform_ids: list[UUID],
    resource_type: str,
    event_type: str,
    message: str,
    model: dict[str, Any],
) -> list[UUID]:
    """One event appended to many platforms' streams in one statement (a notice fanned
    out); the platforms it went to. The wake-ups carry the frame itself (``f:``, a few
    NOTIFYs for them all), so replicas hand it to idle sockets without reading it back;
    a frame too large to carry wakes them plainly (``s:``) and they read."""
    traceparent = tracing.current_traceparent()
    rows = await store.append_many(conn, platform_ids, resource_type, event_type, message, model, traceparent)
    if rows:
        await store.notify_all(conn, wake_payloads(rows[0]["body"], rows))
    return [r["platform_id"] for r in rows]


def wake_payloads(body: str, rows: list[Record]) -> list[str]:
    """NOTIFY payloads (each at most ``WAKE_BYTES``) for these appends of one event."""
    if len(body) > CARRY_BODY_BYTES:
        ids = [str(r["platform_id"]) for r in rows]
        return ["s:" + ",".join(ids[i : i + WAKE_IDS]) for i in range(0, len(ids), WAKE_IDS)]
    payloads: list[str] = []
    entries: list[str] = []
    size = len(body) + 32
    for r in rows:
        entry = orjson.dumps([str(r["platform_id"]), r["epoch"], int(r["seq"])]).decode()
        if entries and size + len(entry) + 1 > WAKE_BYTES:
            payloads.append(_carrying(body, entries))
            entries, size = [], len(body) + 32
        entries.append(entry)
        size += len(entry) + 1
    payloads.append(_carrying(body, entries))
    return payloads


def _carrying(body: str, entries: list[str]) -> str:
    return 'f:{"b":' + orjson.dumps(body).decode() + ',"p":[' + ",".join(entries) + "]}"


def _head(row: Record) -> Head:
    return Head(epoch=row["epoch"], head=int(row["head"]), floor=int(row["floor_seq"]))


async def read_many(
    conn: Conn, requests: list[tuple[UUID, int, int]]
) -> list[tuple[Head | None, list[Record]]]:
    """For each ``(platform_id, after, limit)``: the stream's position (None: the platform
    is gone) and up to ``limit`` events after ``after``, all from one snapshot."""
    ids = [r[0] for r in requests]
    rows = await store.read_many(conn, ids, [r[1] for r in requests], [r[2] for r in requests])
    answers: list[tuple[Head | None, list[Record]]] = [(None, []) for _ in requests]
    for row in rows:
        at = int(row["i"]) - 1
        head, events = answers[at]
        if head is None:
            head = _head(row)
        if row["seq"] is not None:
            events.append(row)
        answers[at] = (head, events)
    return answers


async def heads(conn: Conn, platform_ids: list[UUID]) -> dict[UUID, Head]:
    return {r["platform_id"]: _head(r) for r in await store.positions(conn, platform_ids)}


async def acknowledge_many(conn: Conn, acks: list[tuple[UUID, int]]) -> None:
    await store.record_acks(conn, [a[0] for a in acks], [a[1] for a in acks])


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
