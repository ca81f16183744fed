"""JSON shapes of the offline area: an entitlement's standing, and the public key set."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.licensing import terms


def status(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """Whether the entitlement still stands: ``state`` is active, upcoming, expired or revoked."""
    path = f"/entitlements/{row['id']}"
    return {
        "entitlement_id": row["id"],
        "state": row["state"],
        "valid_from": row["valid_from"],
        # One definition of a window's end for every area: ``terms``.
        "valid_until": terms.valid_until(
            row["expiry"], row["valid_from"], row["days_valid"], row["expires_at"]
        ),
        "revoked_at": row["revoked_at"],
        "path": f"{path}/license/status",
        "url": f"{base}{path}/license/status",
        "license_url": f"{base}{path}/license",
        "entitlement_url": base + path,
    }
