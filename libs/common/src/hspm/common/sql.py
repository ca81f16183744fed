"""Small SQL builders every store module shares.

Identifiers (tables, column lists, field names, sort keys) must come from code or from
a whitelist such as ``PageParams.sort``; every value travels as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.db import Conn
from hspm.common.paging import PageParams


class Where:
    """Collects ``AND``-ed conditions; ``{}`` in a fragment becomes the next placeholder."""

    def __init__(self, *args: Any) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = list(args)

    def add(self, fragment: str, *values: Any) -> Where:
        for value in values:
            self.args.append(value)
            fragment = fragment.replace("{}", f"${len(self.args)}", 1)
        self.parts.append(fragment)
        return self

    @classmethod
    def of(cls, parts: list[str], args: list[Any]) -> Where:
        """Conditions already numbered ``$1..$n`` against ``args``."""
        where = cls(*args)
        where.parts = list(parts)
        return where

    @property
    def clause(self) -> str:
        return f"WHERE {' AND '.join(self.parts)}" if self.parts else ""


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern with LIKE's wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    conn: Conn, table: str, cols: str, where: Where, params: PageParams, order_by: str | None = None
) -> tuple[list[asyncpg.Record], int]:
    """One page of rows and the total count; ``id`` breaks ties so pages never overlap."""
    total = await conn.fetchval(f"SELECT count(*) FROM {table} {where.clause}", *where.args)
    n = len(where.args)
    order = order_by or f'"{params.sort}" {params.order}'
    rows = await conn.fetch(
        f"SELECT {cols} FROM {table} {where.clause} ORDER BY {order}, id LIMIT ${n + 1} OFFSET ${n + 2}",
        *where.args,
        params.per_page,
        params.offset,
    )
    return list(rows), int(total)


async def insert(conn: Conn, table: str, cols: str, fields: Mapping[str, Any]) -> asyncpg.Record:
    """Insert one row from ``fields`` and return ``cols`` of it."""
    names = ", ".join(f'"{name}"' for name in fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING {cols}", *fields.values()
    )
    assert row is not None
    return row


async def update(
    conn: Conn, table: str, cols: str, row_id: UUID, fields: Mapping[str, Any]
) -> asyncpg.Record | None:
    """Set ``fields`` (and ``updated_at``) on one row; None when it does not exist."""
    sets = [f'"{name}" = ${i}' for i, name in enumerate(fields, 2)]
    sets.append("updated_at = now()")
    return await conn.fetchrow(
        f"UPDATE {table} SET {', '.join(sets)} WHERE id = $1 RETURNING {cols}", row_id, *fields.values()
    )


async def delete(conn: Conn, table: str, cols: str, row_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"DELETE FROM {table} WHERE id = $1 RETURNING {cols}", row_id)
