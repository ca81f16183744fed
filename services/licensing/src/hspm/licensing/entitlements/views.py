"""JSON shapes of an entitlement and a claim, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.licensing import terms

_ENTITLEMENT = (
    "id",
    "user_id",
    "product_license_id",
    "product_id",
    "license_id",
    "valid_from",
    "state",
    "source",
    "uses_count",
    "uses",
    "external_id",
    "created_at",
    "updated_at",
)
_CLAIM = (
    "id",
    "claimant_id",
    "claimant_type",
    "entitlement_id",
    "authorization_count",
    "authorized_at",
    "created_at",
    "updated_at",
)


def entitlement(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in _ENTITLEMENT}
    # One definition of a window's end for every area: ``terms``.
    body["valid_until"] = terms.valid_until(
        row["expiry"], row["valid_from"], row["days_valid"], row["expires_at"]
    )
    path = f"/entitlements/{row['id']}"
    return body | {"path": path, "url": base + path, "claims_url": f"{base}{path}/claims"}


def claim(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in _CLAIM}
    path = f"/entitlements/{row['entitlement_id']}/claims/{row['id']}"
    return body | {"path": path, "url": base + path}
