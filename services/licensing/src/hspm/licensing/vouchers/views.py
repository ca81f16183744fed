"""JSON shape of a voucher, with the spec's ``path`` and ``url``; the code only when revealed."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.licensing.vouchers import codes

_VOUCHER = (
    "id",
    "product_license_id",
    "product_id",
    "entitlement_id",
    "issued_at",
    "expires_at",
    "redeemed_at",
    "redeemed_by",
    "issued_by",
    "state",
    "created_at",
    "updated_at",
)


def voucher(row: asyncpg.Record, base: str, reveal: bool) -> dict[str, Any]:
    """``reveal`` is the service's decision (``reveals_code``): an unredeemed code is a secret."""
    body = {k: row[k] for k in _VOUCHER}
    body["code"] = codes.display(row["code"]) if reveal else None
    path = f"/vouchers/{row['id']}"
    return body | {"path": path, "url": base + path}
