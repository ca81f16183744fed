"""JSON shapes of roles and appointments."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common import permissions
from hspm.identity.links import linked

_ROLE = ("id", "name", "description", "default", "builtin", "created_at", "updated_at")


def role(row: asyncpg.Record, base: str) -> dict[str, Any]:
    granted = permissions.as_document(permissions.granted(row["permissions"]))
    return linked(row, _ROLE, base, f"/roles/{row['id']}", permissions=granted)


def appointment(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """The spec's polymorphic ``entity_id``/``entity_type`` from the two foreign keys."""
    is_user = row["user_id"] is not None
    return linked(
        row,
        ("id", "role_id"),
        base,
        f"/roles/{row['role_id']}/appointments/{row['id']}",
        entity_id=row["user_id"] if is_user else row["group_id"],
        entity_type="User" if is_user else "Group",
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
