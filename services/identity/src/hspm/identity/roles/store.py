"""All SQL of roles and appointments.

Roles sit below groups (a new group gets the default roles), so the users a role reaches
through a group are read here from ``members``, the groups area's table, read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# Column lists are fixed here; only whitelisted names ever reach an f-string.
_ROLE_COLS = 'id, name, description, "default", permissions, builtin, created_at, updated_at'
_APPOINTMENT_COLS = "id, role_id, user_id, group_id, created_at, updated_at"


# --- roles ----------------------------------------------------------------------------


async def insert_role(conn: Conn, role_id: UUID, f: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO roles (id, name, description, "default", permissions)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_ROLE_COLS}""",
        role_id,
        f["name"],
        f.get("description"),
        f.get("default", False),
        f["permissions"],
    )
    assert row is not None
    return row


async def get_role(conn: Conn, role_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_ROLE_COLS} FROM roles WHERE id = $1", role_id)


async def get_role_by_name(conn: Conn, name: str) -> Record | None:
    return await conn.fetchrow(f"SELECT {_ROLE_COLS} FROM roles WHERE name = $1", name)


async def list_roles(
    conn: Conn, page: PageParams, default: bool | None, name: str | None
) -> tuple[list[Record], int]:
    where = sql.Where()
    if default is not None:
        where.add('"default" = {}', default)
    if name:
        where.add("lower(name) LIKE {}", sql.like_pattern(name))
    return await sql.page(conn, "roles", _ROLE_COLS, where, page)


async def update_role(conn: Conn, role_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, "roles", _ROLE_COLS, role_id, fields)


async def delete_role(conn: Conn, role_id: UUID) -> Record | None:
    return await sql.delete(conn, "roles", _ROLE_COLS, role_id)


async def default_role_ids(conn: Conn) -> list[UUID]:
    return [r["id"] for r in await conn.fetch('SELECT id FROM roles WHERE "default"')]


# --- appointments -----------------------------------------------------------------------


async def insert_appointment(
    conn: Conn, appointment_id: UUID, role_id: UUID, user_id: UUID | None, group_id: UUID | None
) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO appointments (id, role_id, user_id, group_id) VALUES ($1, $2, $3, $4)
            RETURNING {_APPOINTMENT_COLS}""",
        appointment_id,
        role_id,
        user_id,
        group_id,
    )
    assert row is not None
    return row


async def appoint_defaults(
    conn: Conn, ids: Sequence[tuple[UUID, UUID]], user_id: UUID | None, group_id: UUID | None
) -> None:
    """Appoint each ``(appointment id, role id)``; a role already held is left as it is."""
    await conn.executemany(
        """INSERT INTO appointments (id, role_id, user_id, group_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        [(aid, rid, user_id, group_id) for aid, rid in ids],
    )


async def get_appointment(conn: Conn, role_id: UUID, appointment_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_APPOINTMENT_COLS} FROM appointments WHERE id = $1 AND role_id = $2",
        appointment_id,
        role_id,
    )


async def list_appointments(conn: Conn, role_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await sql.page(
        conn, "appointments", _APPOINTMENT_COLS, sql.Where().add("role_id = {}", role_id), page
    )


async def update_appointment(
    conn: Conn, role_id: UUID, appointment_id: UUID, user_id: UUID | None, group_id: UUID | None
) -> Record | None:
    return await conn.fetchrow(
        f"""UPDATE appointments SET user_id = $3, group_id = $4, updated_at = now()
            WHERE id = $1 AND role_id = $2 RETURNING {_APPOINTMENT_COLS}""",
        appointment_id,
        role_id,
        user_id,
        group_id,
    )


async def delete_appointment(conn: Conn, role_id: UUID, appointment_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM appointments WHERE id = $1 AND role_id = $2 RETURNING {_APPOINTMENT_COLS}",
        appointment_id,
        role_id,
    )


async def group_ids_holding(conn: Conn, role_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT group_id FROM appointments WHERE role_id = $1 AND group_id IS NOT NULL", role_id
    )
    return [r["group_id"] for r in rows]


# --- holders, through groups too (reads members) -----------------------------------------


async def group_member_ids(conn: Conn, group_id: UUID) -> list[UUID]:
    return [
        r["user_id"] for r in await conn.fetch("SELECT user_id FROM members WHERE group_id = $1", group_id)
    ]


async def role_user_ids(conn: Conn, role_id: UUID) -> list[UUID]:
    """Users holding a role directly or through a group."""
    rows = await conn.fetch(
        """SELECT user_id FROM appointments WHERE role_id = $1 AND user_id IS NOT NULL
           UNION SELECT m.user_id FROM appointments a JOIN members m ON m.group_id = a.group_id
           WHERE a.role_id = $1""",
        role_id,
    )
    return [r["user_id"] for r in rows]


async def effective_permission_documents(conn: Conn, user_id: UUID) -> list[dict[str, Any]]:
    """Permissions of every role appointed to the user or to a group the user is in."""
    rows = await conn.fetch(
        """SELECT r.permissions FROM roles r JOIN appointments a ON a.role_id = r.id
           WHERE a.user_id = $1
              OR a.group_id IN (SELECT group_id FROM members WHERE user_id = $1)""",
        user_id,
    )
    return [r["permissions"] for r in rows]
