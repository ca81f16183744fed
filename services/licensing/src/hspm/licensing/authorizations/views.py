"""JSON shapes of the check's answer (the claim it used) and of an attempt."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.licensing.entitlements.views import claim

__all__ = ["attempt", "claim"]  # a claim renders as the entitlements area renders it

ATTEMPT_FIELDS = (
    "id",
    "claim_id",
    "claimant_id",
    "claimant_type",
    "product_id",
    "entitlement_id",
    "granted",
    "outcome",
    "address",
    "platform_id",
    "created_at",
)


def attempt(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """The spec's Attempt and what it records besides. Attempts are never changed, so
    ``updated_at`` (a field of every spec record) is the time it was made."""
    body = {k: row[k] for k in ATTEMPT_FIELDS}
    path = f"/attempts/{row['id']}"
    return body | {"updated_at": row["created_at"], "path": path, "url": base + path}
