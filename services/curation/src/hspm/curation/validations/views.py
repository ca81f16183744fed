"""JSON shapes of validation runs, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common.auth import Principal
from hspm.curation import access
from hspm.curation.validations import service

_RUN = (
    "id",
    "build_id",
    "product_id",
    "trigger",
    "status",
    "outcome",
    "attempt",
    "requested_at",
    "dispatched_at",
    "started_at",
    "completed_at",
    "timings",
    "digest",
    "rules",
    "runtime",
    "summary",
    "error",
)


def run_path(row: asyncpg.Record) -> str:
    return f"/products/{row['product_id']}/builds/{row['build_id']}/validations/{row['id']}"


def _requested_by(row: asyncpg.Record, viewer: Principal) -> dict[str, Any]:
    """Who asked: shown to staff and to the requester; other viewers see only that a user did."""
    if row["requested_by"] is None:
        return {"kind": "system", "id": None, "name": row["requested_by_name"]}
    if access.sees_all_runs(viewer) or viewer.owns(row["requested_by"]):
        return {"kind": "user", "id": row["requested_by"], "name": row["requested_by_name"]}
    return {"kind": "user", "id": None, "name": None}


def run(row: asyncpg.Record, base: str, viewer: Principal, full: bool = False) -> dict[str, Any]:
    """A run with its per-rule results; ``full`` adds the image facts and the policy applied."""
    body = {k: row[k] for k in _RUN}
    body["requested_by"] = _requested_by(row, viewer)
    if full:
        body["image"] = row["image"]
        body["policy"] = service.policy_shown(viewer, row["policy"])
    path = run_path(row)
    return body | {"path": path, "url": base + path}
