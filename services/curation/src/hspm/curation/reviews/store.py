"""All SQL of review cases and their provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# Cases with their build's version and product's owner, as one relation so the shared
# pager's ``ORDER BY <sort>, id`` stays unambiguous.
CASES = (
    "(SELECT c.*, b.version, p.owner_id FROM review_cases c "
    "JOIN builds b ON b.id = c.build_id JOIN products p ON p.id = c.product_id) AS r"
)
CASE_COLS = (
    "id, build_id, product_id, version, owner_id, state, attention, attention_reason, submission, "
    "current_run_id, image_digest, deleted_at, submitted_at, created_at, updated_at"
)
_RETURNING = (
    "RETURNING id, build_id, product_id, state, attention, attention_reason, submission, current_run_id, "
    "image_digest, deleted_at, submitted_at, created_at, updated_at"
)
PROVENANCE_COLS = (
    "id, case_id, at, actor_kind, actor_id, actor_name, from_state, to_state, event, remark, run_id, "
    "recall_id, badge_ids"
)


@dataclass(frozen=True)
class Filters:
    """The queue's filters: each field names a column; None leaves it out."""

    state: str | None = None
    product_id: UUID | None = None
    build_id: UUID | None = None
    attention: bool | None = None
    # Tombstones (builds the catalog deleted) are left out unless asked for; True: only them.
    deleted: bool = False


async def get_case(conn: Conn, case_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {CASE_COLS} FROM {CASES} WHERE id = $1", case_id)


async def lock_case(conn: Conn, case_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM review_cases WHERE id = $1 FOR UPDATE", case_id)


async def lock_case_of_build(conn: Conn, build_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM review_cases WHERE build_id = $1 FOR UPDATE", build_id)


async def case_of_build(conn: Conn, build_id: UUID) -> Record | None:
    """The build's case as it is now, not locked."""
    return await conn.fetchrow("SELECT * FROM review_cases WHERE build_id = $1", build_id)


async def lock_cases_of_product(conn: Conn, product_id: UUID) -> list[Record]:
    """Every live case of the product with its build's version, locked for a recall."""
    rows = await conn.fetch(
        "SELECT c.*, b.version FROM review_cases c JOIN builds b ON b.id = c.build_id "
        "WHERE c.product_id = $1 AND c.deleted_at IS NULL ORDER BY b.created_at, c.id FOR UPDATE OF c",
        product_id,
    )
    return list(rows)


async def list_cases(
    conn: Conn, page: PageParams, filters: Filters, owner_id: UUID | None, everything: bool
) -> tuple[list[Record], int]:
    """The queue: ``everything`` for reviewers, otherwise the cases of ``owner_id``'s products."""
    where = sql.Where()
    if not everything:
        where.add("owner_id = {}", owner_id)
    fields = asdict(filters)
    where.add("deleted_at IS NOT NULL" if fields.pop("deleted") else "deleted_at IS NULL")
    for column, value in fields.items():
        if value is not None:
            where.add(f"{column} = {{}}", value)
    return await sql.page(conn, CASES, CASE_COLS, where, page)


async def insert_case(conn: Conn, case_id: UUID, build_id: UUID, product_id: UUID) -> Record:
    row = await conn.fetchrow(
        "INSERT INTO review_cases (id, build_id, product_id, state) VALUES ($1, $2, $3, 'submitted') "
        + _RETURNING,
        case_id,
        build_id,
        product_id,
    )
    assert row is not None
    return row


async def reopen_case(conn: Conn, case_id: UUID) -> Record:
    """A resubmission: the next submission, back in the queue at its end."""
    row = await conn.fetchrow(
        "UPDATE review_cases SET state = 'submitted', submission = submission + 1, current_run_id = NULL, "
        "image_digest = NULL, attention = false, attention_reason = NULL, submitted_at = now(), "
        "updated_at = now() "
        "WHERE id = $1 " + _RETURNING,
        case_id,
    )
    assert row is not None
    return row


async def set_state(conn: Conn, case_id: UUID, state: str, attention: str | None) -> Record:
    """The new state; ``attention`` (a reason) flags the case for an operator, None clears it."""
    row = await conn.fetchrow(
        "UPDATE review_cases SET state = $2, attention = $3::text IS NOT NULL, attention_reason = $3, "
        "updated_at = now() WHERE id = $1 " + _RETURNING,
        case_id,
        state,
        attention,
    )
    assert row is not None
    return row


async def pin_digest(conn: Conn, case_id: UUID, digest: str | None) -> Record:
    """The digest the submission's run judged becomes the case's pin (None: nothing resolved)."""
    row = await conn.fetchrow(
        "UPDATE review_cases SET image_digest = $2, updated_at = now() WHERE id = $1 " + _RETURNING,
        case_id,
        digest,
    )
    assert row is not None
    return row


async def tombstone(conn: Conn, build_ids: Sequence[UUID]) -> list[Record]:
    """Mark the builds' live cases deleted (hidden from queues, kept for the audit trail)."""
    rows = await conn.fetch(
        "UPDATE review_cases SET deleted_at = now(), updated_at = now() "
        "WHERE build_id = any($1::uuid[]) AND deleted_at IS NULL RETURNING *",
        list(build_ids),
    )
    return list(rows)


async def set_attention(conn: Conn, case_id: UUID, attention: str | None) -> None:
    await conn.execute(
        "UPDATE review_cases SET attention = $2::text IS NOT NULL, attention_reason = $2, updated_at = now() "
        "WHERE id = $1",
        case_id,
        attention,
    )


async def set_current_run(conn: Conn, case_id: UUID, run_id: UUID) -> None:
    await conn.execute(
        "UPDATE review_cases SET current_run_id = $2, updated_at = now() WHERE id = $1", case_id, run_id
    )


# --- provenance ------------------------------------------------------------------------------


async def append(conn: Conn, fields: dict[str, Any]) -> None:
    await sql.insert(conn, "provenance", "id", fields)


async def provenance_of(conn: Conn, case_id: UUID) -> Sequence[Record]:
    return await conn.fetch(
        f"SELECT {PROVENANCE_COLS} FROM provenance WHERE case_id = $1 ORDER BY id", case_id
    )


async def page_provenance(conn: Conn, case_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    where = sql.Where().add("case_id = {}", case_id)
    return await sql.page(conn, "provenance", PROVENANCE_COLS, where, page, f"id {page.order}")
