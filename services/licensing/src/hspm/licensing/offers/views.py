"""JSON shape of a product license, with its license's terms embedded.

What a customer reads before acquiring: the terms travel with the offer, so a product
page needs no second request per license.
"""

from __future__ import annotations

from typing import Any

import asyncpg

_OFFER = ("id", "product_id", "license_id", "external_id", "created_at", "updated_at")


def offer_path(product_id: object, offer_id: object) -> str:
    return f"/products/{product_id}/licenses/{offer_id}"


def embedded_license(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = f"/licenses/{row['license_id']}"
    return {
        "id": row["license_id"],
        "name": row["license_name"],
        "url": row["license_url"],
        "expiry": row["expiry"],
        "days_valid": row["days_valid"],
        "expires_at": row["expires_at"],
        "uses": row["uses"],
        "path": path,
        "href": base + path,
    }


def offer(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in _OFFER}
    body["license"] = embedded_license(row, base)
    path = offer_path(row["product_id"], row["id"])
    return body | {"path": path, "url": base + path}
