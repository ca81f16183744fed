"""JSON shapes of groups and memberships."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.identity.links import linked

_STAMPS = ("created_at", "updated_at")


def group(row: asyncpg.Record, base: str) -> dict[str, Any]:
    return linked(row, ("id", "name", "description", *_STAMPS), base, f"/groups/{row['id']}")


def member(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = f"/groups/{row['group_id']}/members/{row['id']}"
    return linked(row, ("id", "group_id", "user_id", *_STAMPS), base, path)
