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
    "requested_at, started_at, completed_at, digest, rules, runtime, timings, image, summary, error, "
    "created_at, updated_at"
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
    """Each product's latest published build with no open run and no run completed recently.

    The builds are locked (skipping those another pass holds) until the transaction ends.
    """
    rows = await conn.fetch(
        """
        WITH latest AS (
            SELECT DISTINCT ON (b.product_id) b.id FROM builds b
            JOIN review_cases c ON c.build_id = b.id AND c.state = 'published'
            ORDER BY b.product_id, b.published_at DESC NULLS LAST, b.created_at DESC
        )
        SELECT b.id FROM builds b
        WHERE b.id IN (SELECT id FROM latest)
          AND NOT EXISTS (
            SELECT 1 FROM validation_runs r WHERE r.build_id = b.id
              AND (r.status <> 'completed' OR r.completed_at > now() - make_interval(secs => $1)))
        ORDER BY b.id LIMIT $2
        FOR UPDATE OF b SKIP LOCKED
        """,
        interval,
        limit,
    )
    return [r["id"] for r in rows]


async def stale_runs(conn: Conn, timeout: float, limit: int) -> list[Record]:
    """Runs still open ``timeout`` seconds after they were requested (the request was lost)."""
    rows = await conn.fetch(
        f"SELECT {RUN_COLS} FROM validation_runs WHERE status <> 'completed' "
        "AND requested_at < now() - make_interval(secs => $1) ORDER BY requested_at LIMIT $2 "
        "FOR UPDATE SKIP LOCKED",
        timeout,
        limit,
    )
    return list(rows)
