"""JSON shape of an agent key: the public half, its fingerprint and whether it is revoked."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg


def key_path(platform_id: object, key_id: object) -> str:
    return f"/platforms/{platform_id}/keys/{key_id}"


def agent_key(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = key_path(row["platform_id"], row["id"])
    return {
        "id": row["id"],
        "platform_id": row["platform_id"],
        "name": row["name"],
        "public_key": base64.b64encode(row["public_key"]).decode("ascii"),
        "fingerprint": row["fingerprint"],
        "created_at": row["created_at"],
        "revoked_at": row["revoked_at"],
        "path": path,
        "url": base + path,
    }


def key_list(rows: list[asyncpg.Record], base: str) -> dict[str, Any]:
    return {"results": [agent_key(r, base) for r in rows]}
