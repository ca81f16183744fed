"""JSON shapes of interfaces and surrogates, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg


def interface(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "name", "uri", "version", "ordinal", "created_at", "updated_at")}
    path = f"/interfaces/{row['id']}"
    return body | {"path": path, "url": base + path}


def surrogate(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "interface_id", "substitute_id", "created_at", "updated_at")}
    path = f"/interfaces/{row['interface_id']}/surrogates/{row['id']}"
    return body | {"path": path, "url": base + path}
