"""JSON shape of a recall notice: which platform was told of which recall, acknowledged when."""

from __future__ import annotations

from typing import Any

import asyncpg

NOTICE_FIELDS = (
    "recall_id",
    "platform_id",
    "product_id",
    "severity",
    "deadline",
    "fixed_build_id",
    "notified_at",
    "acknowledged_at",
)


def notice(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in NOTICE_FIELDS if k in row.keys()}  # noqa: SIM118 - a Record
    path = f"/platforms/{row['platform_id']}/recalls/{row['recall_id']}"
    return body | {"path": path, "url": base + path}
