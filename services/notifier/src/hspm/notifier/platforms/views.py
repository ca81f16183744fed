"""JSON shape of a platform: the reference server's fields and its nested path."""

from __future__ import annotations

from typing import Any

import asyncpg

PLATFORM_FIELDS = ("id", "name", "user_id", "public_key", "created_at", "updated_at")


def platform_path(user_id: object, platform_id: object) -> str:
    return f"/users/{user_id}/platforms/{platform_id}"


def platform(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = platform_path(row["user_id"], row["id"])
    return {k: row[k] for k in PLATFORM_FIELDS} | {"path": path, "url": base + path}
