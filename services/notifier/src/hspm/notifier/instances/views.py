"""JSON shape of an instance: the reference server's fields and the desired/reported state."""

from __future__ import annotations

from typing import Any

import asyncpg

INSTANCE_FIELDS = (
    "id",
    "platform_id",
    "build_id",
    "product_id",
    "image",
    "desired_state",
    "reported_state",
    "launch_bindings",
    "errors",
    "deployed_at",
    "reported_at",
    "created_at",
    "updated_at",
)


def instance_path(instance_id: object) -> str:
    return f"/instances/{instance_id}"


def instance(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = instance_path(row["id"])
    return {k: row[k] for k in INSTANCE_FIELDS} | {"path": path, "url": base + path}
