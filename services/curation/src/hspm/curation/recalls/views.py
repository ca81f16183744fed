"""JSON shape of a recall, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

_RECALL = (
    "id",
    "product_id",
    "versions",
    "build_ids",
    "severity",
    "reason",
    "fixed_build_id",
    "deadline",
    "created_at",
    "updated_at",
)


def recall(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in _RECALL}
    body["issued_by"] = {"id": row["issued_by"], "name": row["issued_by_name"]}
    path = f"/recalls/{row['id']}"
    return body | {"path": path, "url": base + path}
