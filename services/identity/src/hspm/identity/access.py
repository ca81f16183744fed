"""Effective permissions: the union of a user's roles, group appointments included."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hspm.common import permissions
from hspm.common.db import Conn
from hspm.identity import store


async def user_permissions(conn: Conn, user_id: UUID) -> set[str]:
    return permissions.union(await store.effective_permission_documents(conn, user_id))


def scoped(user_keys: set[str], scopes: list[str] | None) -> set[str]:
    """An API token can do what its user can, narrowed to its scopes (``*`` keeps all)."""
    if scopes is None or "*" in scopes:
        return user_keys
    if permissions.MANAGE in user_keys:
        return set(scopes) & permissions.ALL_KEYS
    return user_keys & set(scopes)


async def session_principal(conn: Conn, session_id: UUID) -> dict[str, Any] | None:
    """What the gateway needs to act for a session; None if unknown, expired or revoked."""
    row = await store.get_active_session(conn, session_id)
    if row is None:
        return None
    keys = scoped(await user_permissions(conn, row["user_id"]), row["scopes"])
    return {
        "session_id": row["id"],
        "user_id": row["user_id"],
        "name": row["user_name"],
        "kind": row["kind"],
        "expires_at": row["expires_at"],
        "permissions": sorted(keys),
        # Owner rights follow the scopes too; None means a session or an unscoped token.
        "scopes": None if not row["scopes"] or "*" in row["scopes"] else sorted(row["scopes"]),
    }
