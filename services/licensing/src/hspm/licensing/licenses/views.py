"""JSON shape of a license: every field, the DRM terms included.

A license's ``url`` is its terms' address (a field of the spec's License, unique), so its
own address is given as ``path`` and ``href`` instead of the usual absolute ``url``.
"""

from __future__ import annotations

from typing import Any

import asyncpg

LICENSE_FIELDS = (
    "id",
    "name",
    "description",
    "url",
    "expiry",
    "expires_at",
    "days_valid",
    "uses",
    "external_id",
    "created_at",
    "updated_at",
)


def license_path(license_id: object) -> str:
    return f"/licenses/{license_id}"


def license(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in LICENSE_FIELDS}
    path = license_path(row["id"])
    return body | {"path": path, "href": base + path}
