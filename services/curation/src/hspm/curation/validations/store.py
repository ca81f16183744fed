"""All SQL of validation runs, and the scheduler's picks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

RUN_COLS = (
    "id, build_id, product_id, trigger, status, outcome, requested_by, requested_by_name, policy, attempt, "
    "requested_at, dispatched_at, started_at, completed_at, digest, rules, runtime, timings, image, summary, "
    "error, created_at, updated_at"
)
# Any constant works; every replica of curation must use the same one.
SCHEDULER_LOCK = 0x68737063  # "hspc"


async def insert_run(conn: Conn, fields: dict[str, Any]) -> Record:
    return await sql.insert(conn, "validation_runs", RUN_COLS, fields)


async def get_run(conn: Conn, run_id: UUID, lock: bool = False) -> Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {RUN_COLS} FROM validation_runs WHERE id = $1{suffix}", run_id)


async def open_run(conn: Conn, build_id: UUID) -> Record | None:
    """The build's queued or running run, if any."""
    return await conn.fetchrow(
        f"SELECT {RUN_COLS} FROM validation_runs WHERE build_id = $1 AND status <> 'completed' "
        "ORDER BY requested_at DESC LIMIT 1",
        build_id,
    )


async def list_runs(conn: Conn, build_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("build_id = {}", build_id)
    return await sql.page(conn, "validation_runs", RUN_COLS, where, page)


async def latest_run(conn: Conn, build_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {RUN_COLS} FROM validation_runs WHERE build_id = $1 ORDER BY requested_at DESC, id LIMIT 1",
        build_id,
    )


async def latest_outcome(conn: Conn, build_id: UUID) -> str | None:
    """The outcome of the build's most recently completed run."""
    outcome: str | None = await conn.fetchval(
        "SELECT outcome FROM validation_runs WHERE build_id = $1 AND status = 'completed' "
        "ORDER BY completed_at DESC, id LIMIT 1",
        build_id,
    )
    return outcome


async def mark_started(conn: Conn, run_id: UUID, attempt: int, at: datetime) -> bool:
    """queued → running (a retry bumps the attempt); a finished run stays finished."""
    return bool(
        await conn.fetchval(
            "UPDATE validation_runs SET status = 'running', attempt = greatest(attempt, $2), "
            "started_at = coalesce(started_at, $3), updated_at = now() "
            "WHERE id = $1 AND status <> 'completed' RETURNING 1",
            run_id,
            attempt,
            at,
        )
    )


async def finish(conn: Conn, run_id: UUID, report: dict[str, Any]) -> Record:
    """Store the report and close the run."""
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(report, 2))
    row = await conn.fetchrow(
        f"UPDATE validation_runs SET status = 'completed', completed_at = now(), updated_at = now(), {sets} "
        f"WHERE id = $1 RETURNING {RUN_COLS}",
        run_id,
        *report.values(),
    )
    assert row is not None
    return row


# --- the scheduler ---------------------------------------------------------------------------


async def try_scheduler_lock(conn: Conn) -> bool:
    """One replica's pass at a time; the lock goes with the transaction."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SCHEDULER_LOCK))


async def due_for_revalidation(conn: Conn, interval: float, limit: int) -> list[UUID]:
    """Each product's latest published build with no open and no recent run of its own.

    Only submission and scheduled runs count: a manual run or a dry run (anyone's, of
    anything) never postpones a re-validation. Deleted builds are not watched. The builds
    are locked (skipping those another pass holds) until the transaction ends.
    """
    rows = await conn.fetch(
        """
        WITH latest AS (
            SELECT DISTINCT ON (b.product_id) b.id FROM builds b
            JOIN review_cases c ON c.build_id = b.id AND c.state = 'published' AND c.deleted_at IS NULL
            WHERE b.deleted_at IS NULL
            ORDER BY b.product_id, b.published_at DESC NULLS LAST, b.created_at DESC
        )
        SELECT b.id FROM builds b
        WHERE b.id IN (SELECT id FROM latest)
          AND NOT EXISTS (
            SELECT 1 FROM validation_runs r WHERE r.build_id = b.id
              AND r.trigger IN ('submission', 'scheduled')
              AND (r.status <> 'completed' OR r.completed_at > now() - make_interval(secs => $1)))
        ORDER BY b.id LIMIT $2
        FOR UPDATE OF b SKIP LOCKED
        """,
        interval,
        limit,
    )
    return [r["id"] for r in rows]


async def stale_runs(conn: Conn, timeout: float, limit: int) -> list[Record]:
    """Runs still open ``timeout`` seconds after their release (the request was lost).

    A run still waiting in the queue is not lost: its clock starts when it is released.
    """
    rows = await conn.fetch(
        f"SELECT {RUN_COLS} FROM validation_runs WHERE status <> 'completed' "
        "AND dispatched_at < now() - make_interval(secs => $1) ORDER BY dispatched_at LIMIT $2 "
        "FOR UPDATE SKIP LOCKED",
        timeout,
        limit,
    )
    return list(rows)


# --- the fair queue --------------------------------------------------------------------------

_LIMIT_COLS = "max_in_flight, max_open_per_requester, max_open_per_product, retry_after_seconds"


async def configure_queue(
    conn: Conn, max_in_flight: int, per_requester: int, per_product: int, retry_after: int
) -> None:
    """Write the queue's limits (every start: the settings are the truth)."""
    await conn.execute(
        f"INSERT INTO validation_queue (id, {_LIMIT_COLS}) VALUES (true, $1, $2, $3, $4) "
        "ON CONFLICT (id) DO UPDATE SET max_in_flight = $1, max_open_per_requester = $2, "
        "max_open_per_product = $3, retry_after_seconds = $4, updated_at = now()",
        max_in_flight,
        per_requester,
        per_product,
        retry_after,
    )


async def queue_limits(conn: Conn, lock: bool = False) -> Record:
    """The limits; ``lock`` takes the row lock that serializes releases until the transaction ends."""
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_LIMIT_COLS} FROM validation_queue{suffix}")
    assert row is not None, "the queue's limits are written at start"
    return row


async def open_on_request(conn: Conn, requester: UUID | None, product_id: UUID) -> tuple[int, int]:
    """Open manual runs and dry runs: (requested by ``requester``, of ``product_id``)."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE requested_by = $1) AS mine, "
        "count(*) FILTER (WHERE product_id = $2) AS product FROM validation_runs "
        "WHERE status <> 'completed' AND trigger IN ('manual', 'dry_run') "
        "AND (requested_by = $1 OR product_id = $2)",
        requester,
        product_id,
    )
    assert row is not None
    return int(row["mine"]), int(row["product"])


async def in_flight(conn: Conn) -> int:
    """Runs released to the validator and not yet reported."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM validation_runs WHERE dispatched_at IS NOT NULL AND status <> 'completed'"
        )
    )


async def next_to_release(conn: Conn, n: int) -> list[UUID]:
    """The ``n`` waiting runs to release next: by priority, then round-robin over fair keys.

    A key's k-th waiting run (oldest first) takes turn k plus the key's runs in flight;
    on the same turn the key served least recently goes first, then the oldest request.
    """
    rows = await conn.fetch(
        """
        WITH flying AS (
            SELECT fair_key, count(*) AS n FROM validation_runs
            WHERE dispatched_at IS NOT NULL AND status <> 'completed' GROUP BY fair_key
        ), waiting AS (
            SELECT id, priority, fair_key, requested_at,
                   row_number() OVER (PARTITION BY priority, fair_key ORDER BY requested_at, id) AS turn
            FROM validation_runs WHERE dispatched_at IS NULL AND status = 'queued'
        )
        SELECT w.id FROM waiting w LEFT JOIN flying f ON f.fair_key IS NOT DISTINCT FROM w.fair_key
        ORDER BY w.priority, w.turn + coalesce(f.n, 0),
                 (SELECT max(r.dispatched_at) FROM validation_runs r WHERE r.fair_key = w.fair_key)
                     NULLS FIRST,
                 w.requested_at, w.id
        LIMIT $1
        """,
        n,
    )
    return [r["id"] for r in rows]


async def mark_released(conn: Conn, run_ids: list[UUID]) -> dict[UUID, Any]:
    """Stamp the runs released; their stored requests, by run id."""
    rows = await conn.fetch(
        "UPDATE validation_runs SET dispatched_at = clock_timestamp(), updated_at = now() "
        "WHERE id = any($1::uuid[]) AND dispatched_at IS NULL RETURNING id, request",
        run_ids,
    )
    return {r["id"]: r["request"] for r in rows}
