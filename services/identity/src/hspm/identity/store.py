"""All SQL of the identity service. Functions take a connection and plain values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

# Column lists are fixed here; only whitelisted names ever reach an f-string.
_USER_COLS = (
    "id, name, external_id, salutation, first_name, middle_name, last_name, email, created_at, updated_at"
)
_IDP_COLS = (
    "id, name, issuer, client_id, client_secret, alternate_client_id, scopes, configuration, "
    "public_keys, refreshed_at, enabled_at, created_at, updated_at"
)
_IDENTITY_COLS = (
    "id, user_id, identity_provider_id, sub, iat, hd, locale, email, jwt, notify_via_email, "
    "notify_via_sms, created_at, updated_at"
)
_ROLE_COLS = 'id, name, description, "default", permissions, builtin, created_at, updated_at'
_APPOINTMENT_COLS = "id, role_id, user_id, group_id, created_at, updated_at"


async def _page(
    conn: Conn, table: str, cols: str, where: list[str], args: list[Any], page: PageParams
) -> tuple[list[Record], int]:
    """Identity's filters are built as numbered fragments; the shared builder pages them."""
    return await sql.page(conn, table, cols, sql.Where.of(where, args), page)


async def _update(conn: Conn, table: str, cols: str, row_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await sql.update(conn, table, cols, row_id, fields)


# --- users -------------------------------------------------------------------------


async def insert_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> Record:
    names = ["id", *fields]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO users ({', '.join(names)}) VALUES ({placeholders}) RETURNING {_USER_COLS}",
        user_id,
        *fields.values(),
    )
    assert row is not None
    return row


async def get_user(conn: Conn, user_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1", user_id)


async def list_users(
    conn: Conn, page: PageParams, name: str | None, external_id: str | None
) -> tuple[list[Record], int]:
    where: list[str] = []
    args: list[Any] = []
    if name:
        args.append(sql.like_pattern(name))
        where.append(f"lower(name) LIKE ${len(args)}")
    if external_id:
        args.append(external_id)
        where.append(f"external_id = ${len(args)}")
    return await _page(conn, "users", _USER_COLS, where, args, page)


async def update_user(conn: Conn, user_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await _update(conn, "users", _USER_COLS, user_id, fields)


async def delete_user(conn: Conn, user_id: UUID) -> Record | None:
    return await conn.fetchrow(f"DELETE FROM users WHERE id = $1 RETURNING {_USER_COLS}", user_id)


# --- identity providers -------------------------------------------------------------


async def insert_identity_provider(conn: Conn, idp_id: UUID, f: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO identity_providers
            (id, name, issuer, client_id, client_secret, alternate_client_id, scopes, enabled_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END)
            RETURNING {_IDP_COLS}""",
        idp_id,
        f["name"],
        f["issuer"],
        f["client_id"],
        f["client_secret"],
        f.get("alternate_client_id"),
        f["scopes"],
        f["enabled"],
    )
    assert row is not None
    return row


async def get_identity_provider(conn: Conn, idp_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_IDP_COLS} FROM identity_providers WHERE id = $1", idp_id)


async def get_identity_provider_by_issuer(conn: Conn, issuer: str) -> Record | None:
    return await conn.fetchrow(f"SELECT {_IDP_COLS} FROM identity_providers WHERE issuer = $1", issuer)


async def list_identity_providers(
    conn: Conn, page: PageParams, enabled_only: bool
) -> tuple[list[Record], int]:
    where = ["enabled_at IS NOT NULL"] if enabled_only else []
    return await _page(conn, "identity_providers", _IDP_COLS, where, [], page)


async def update_identity_provider(conn: Conn, idp_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await _update(conn, "identity_providers", _IDP_COLS, idp_id, fields)


async def set_identity_provider_enabled(conn: Conn, idp_id: UUID, enabled: bool) -> Record | None:
    return await conn.fetchrow(
        f"""UPDATE identity_providers SET enabled_at = CASE WHEN $2 THEN coalesce(enabled_at, now()) END,
            updated_at = now() WHERE id = $1 RETURNING {_IDP_COLS}""",
        idp_id,
        enabled,
    )


async def store_discovery(
    conn: Conn, idp_id: UUID, configuration: dict[str, Any], public_keys: dict[str, Any]
) -> None:
    await conn.execute(
        """UPDATE identity_providers SET configuration = $2, public_keys = $3, refreshed_at = now()
           WHERE id = $1""",
        idp_id,
        configuration,
        public_keys,
    )


async def delete_identity_provider(conn: Conn, idp_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM identity_providers WHERE id = $1 RETURNING {_IDP_COLS}",
        idp_id,
    )


# --- identities ---------------------------------------------------------------------


async def insert_identity(conn: Conn, identity_id: UUID, f: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO identities (id, user_id, identity_provider_id, sub, iat, hd, locale, email, jwt,
                notify_via_email, notify_via_sms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_IDENTITY_COLS}""",
        identity_id,
        f["user_id"],
        f["identity_provider_id"],
        f["sub"],
        f.get("iat"),
        f.get("hd"),
        f.get("locale"),
        f.get("email"),
        f.get("jwt", {}),
        f.get("notify_via_email", False),
        f.get("notify_via_sms", False),
    )
    assert row is not None
    return row


async def get_identity(conn: Conn, identity_id: UUID) -> Record | None:
    return await conn.fetchrow(f"SELECT {_IDENTITY_COLS} FROM identities WHERE id = $1", identity_id)


async def find_identity(conn: Conn, idp_id: UUID, sub: str) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_IDENTITY_COLS} FROM identities WHERE identity_provider_id = $1 AND sub = $2",
        idp_id,
        sub,
    )


async def list_identities(conn: Conn, user_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await _page(conn, "identities", _IDENTITY_COLS, ["user_id = $1"], [user_id], page)


async def update_identity(conn: Conn, identity_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await _update(conn, "identities", _IDENTITY_COLS, identity_id, fields)


async def delete_identity(conn: Conn, identity_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM identities WHERE id = $1 RETURNING {_IDENTITY_COLS}", identity_id
    )


# --- groups and members -------------------------------------------------------------


async def insert_group(conn: Conn, group_id: UUID, name: str, description: str | None) -> Record:
    row = await conn.fetchrow(
        "INSERT INTO groups (id, name, description) VALUES ($1, $2, $3) RETURNING *",
        group_id,
        name,
        description,
    )
    assert row is not None
    return row


async def get_group(conn: Conn, group_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM groups WHERE id = $1", group_id)


async def list_groups(
    conn: Conn, page: PageParams, name: str | None, role_id: UUID | None
) -> tuple[list[Record], int]:
    where: list[str] = []
    args: list[Any] = []
    if name:
        args.append(sql.like_pattern(name))
        where.append(f"lower(name) LIKE ${len(args)}")
    if role_id:
        args.append(role_id)
        where.append(f"id IN (SELECT group_id FROM appointments WHERE role_id = ${len(args)})")
    return await _page(conn, "groups", "*", where, args, page)


async def update_group(conn: Conn, group_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await _update(conn, "groups", "*", group_id, fields)


async def delete_group(conn: Conn, group_id: UUID) -> Record | None:
    return await conn.fetchrow("DELETE FROM groups WHERE id = $1 RETURNING *", group_id)


async def group_member_ids(conn: Conn, group_id: UUID) -> list[UUID]:
    return [
        r["user_id"] for r in await conn.fetch("SELECT user_id FROM members WHERE group_id = $1", group_id)
    ]


async def group_ids_of_user(conn: Conn, user_id: UUID) -> list[UUID]:
    return [
        r["group_id"] for r in await conn.fetch("SELECT group_id FROM members WHERE user_id = $1", user_id)
    ]


async def insert_member(conn: Conn, member_id: UUID, group_id: UUID, user_id: UUID) -> Record:
    row = await conn.fetchrow(
        "INSERT INTO members (id, group_id, user_id) VALUES ($1, $2, $3) RETURNING *",
        member_id,
        group_id,
        user_id,
    )
    assert row is not None
    return row


async def get_member(conn: Conn, group_id: UUID, member_id: UUID) -> Record | None:
    return await conn.fetchrow("SELECT * FROM members WHERE id = $1 AND group_id = $2", member_id, group_id)


async def list_members(conn: Conn, group_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await _page(conn, "members", "*", ["group_id = $1"], [group_id], page)


async def delete_member(conn: Conn, member_id: UUID) -> Record | None:
    return await conn.fetchrow("DELETE FROM members WHERE id = $1 RETURNING *", member_id)


# --- roles and appointments ---------------------------------------------------------


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


async def list_roles(
    conn: Conn, page: PageParams, default: bool | None, name: str | None
) -> tuple[list[Record], int]:
    where: list[str] = []
    args: list[Any] = []
    if default is not None:
        args.append(default)
        where.append(f'"default" = ${len(args)}')
    if name:
        args.append(sql.like_pattern(name))
        where.append(f"lower(name) LIKE ${len(args)}")
    return await _page(conn, "roles", _ROLE_COLS, where, args, page)


async def update_role(conn: Conn, role_id: UUID, fields: dict[str, Any]) -> Record | None:
    return await _update(conn, "roles", _ROLE_COLS, role_id, fields)


async def delete_role(conn: Conn, role_id: UUID) -> Record | None:
    return await conn.fetchrow(f"DELETE FROM roles WHERE id = $1 RETURNING {_ROLE_COLS}", role_id)


async def default_role_ids(conn: Conn) -> list[UUID]:
    return [r["id"] for r in await conn.fetch('SELECT id FROM roles WHERE "default"')]


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
    return await _page(conn, "appointments", _APPOINTMENT_COLS, ["role_id = $1"], [role_id], page)


async def delete_appointment(conn: Conn, appointment_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM appointments WHERE id = $1 RETURNING {_APPOINTMENT_COLS}",
        appointment_id,
    )


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


# --- sessions and API tokens --------------------------------------------------------


async def insert_session(
    conn: Conn,
    session_id: UUID,
    user_id: UUID,
    kind: str,
    expires_at: datetime,
    identity_id: UUID | None = None,
    name: str | None = None,
    scopes: list[str] | None = None,
) -> Record:
    row = await conn.fetchrow(
        """INSERT INTO sessions (id, user_id, identity_id, kind, name, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        session_id,
        user_id,
        identity_id,
        kind,
        name,
        scopes,
        expires_at,
    )
    assert row is not None
    return row


async def get_active_session(conn: Conn, session_id: UUID) -> Record | None:
    return await conn.fetchrow(
        """SELECT s.*, u.name AS user_name FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()""",
        session_id,
    )


async def revoke_session(conn: Conn, session_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *",
        session_id,
    )


async def live_session_ids(conn: Conn, user_id: UUID, identity_id: UUID | None = None) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           AND ($2::uuid IS NULL OR identity_id = $2)""",
        user_id,
        identity_id,
    )
    return [r["id"] for r in rows]


async def live_sessions_of_identity_provider(conn: Conn, idp_id: UUID) -> list[Record]:
    """Sessions opened through any identity at this provider that still work."""
    return list(
        await conn.fetch(
            """SELECT s.id, s.user_id FROM sessions s JOIN identities i ON i.id = s.identity_id
               WHERE i.identity_provider_id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()""",
            idp_id,
        )
    )


async def list_api_tokens(conn: Conn, user_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    return await _page(conn, "sessions", "*", ["user_id = $1", "kind = 'api'"], [user_id], page)


async def get_api_token(conn: Conn, user_id: UUID, token_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM sessions WHERE id = $1 AND user_id = $2 AND kind = 'api'", token_id, user_id
    )


async def session_identity(conn: Conn, identity_id: UUID) -> Record | None:
    return await conn.fetchrow(
        """SELECT i.id, i.user_id, p.id AS provider_id, p.name AS provider_name
           FROM identities i JOIN identity_providers p ON p.id = i.identity_provider_id WHERE i.id = $1""",
        identity_id,
    )


# --- OIDC logins in flight ----------------------------------------------------------


async def insert_login(conn: Conn, state: str, idp_id: UUID, nonce: str, verifier: str) -> None:
    await conn.execute(
        "INSERT INTO oidc_logins (state, identity_provider_id, nonce, code_verifier) VALUES ($1, $2, $3, $4)",
        state,
        idp_id,
        nonce,
        verifier,
    )


async def take_login(conn: Conn, state: str, max_age_seconds: int) -> Record | None:
    """Consume a login's state exactly once; stale ones are refused."""
    return await conn.fetchrow(
        """DELETE FROM oidc_logins WHERE state = $1
           AND created_at > now() - make_interval(secs => $2) RETURNING *""",
        state,
        max_age_seconds,
    )


async def purge_logins(conn: Conn, max_age_seconds: int) -> None:
    await conn.execute(
        "DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => $1)", max_age_seconds
    )


async def database_now(conn: Conn) -> datetime:
    value: datetime = await conn.fetchval("SELECT CURRENT_TIMESTAMP")
    return value
