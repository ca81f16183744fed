"""JSON shapes of products, sub-products, badges and awards, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

Row = asyncpg.Record | Mapping[str, Any]

_PRODUCT = (
    *("id", "name", "description", "external_id", "locale", "mime_type", "user_id", "uri", "support_url"),
    *("published_at", "visible_at", "created_at", "updated_at", "listed", "badges"),
)
_SUB_PRODUCT = ("id", "parent_id", "child_id", "created_at", "updated_at")
_BADGE = ("id", "name", "description", "created_at", "updated_at")
# An awarded badge: the badge's own fields, plus who awarded it, when and why.
_AWARD = (
    *("id", "badge_id", "product_id", "name", "description", "reason", "awarded_by"),
    *("created_at", "updated_at"),
)
LOGO_SIZES = ("small", "medium", "large")


def _linked(row: Row, fields: tuple[str, ...], base: str, path: str, **extra: Any) -> dict[str, Any]:
    """The named fields of ``row`` and ``extra``, then the spec's ``path`` and absolute ``url``."""
    return {k: row[k] for k in fields} | extra | {"path": path, "url": base + path}


def product(row: Row, base: str) -> dict[str, Any]:
    """A row selected with ``store.PRODUCT_COLS``; logos always exist (a placeholder if none)."""
    path = f"/products/{row['id']}"
    logo = {size: f"{base}{path}/logo/{size}" for size in LOGO_SIZES}
    offers = [product_license(o, row["id"], base) for o in row["product_licenses"]]
    return _linked(row, _PRODUCT, base, path, logo=logo, product_licenses=offers)


def product_license(offer: Mapping[str, Any], product_id: Any, base: str) -> dict[str, Any]:
    """An offer from the licensing copy, linked to licensing's product license (served by
    the licensing service under the product's path). A row written by hand has no id, so
    no link."""
    pl_id = offer["id"]
    path = None if pl_id is None else f"/products/{product_id}/licenses/{pl_id}"
    return {
        "id": pl_id,
        "product_id": product_id,
        "license_id": offer["license_id"],
        "name": offer["name"],
        "path": path,
        "url": None if path is None else base + path,
    }


def sub_product(row: Row, base: str) -> dict[str, Any]:
    return _linked(row, _SUB_PRODUCT, base, f"/sub_products/{row['id']}")


def badge(row: Row, base: str) -> dict[str, Any]:
    return _linked(row, _BADGE, base, f"/badges/{row['id']}")


def award(row: Row, base: str) -> dict[str, Any]:
    path = f"/products/{row['product_id']}/badges/{row['badge_id']}"
    return _linked(row, _AWARD, base, path, badge_url=f"{base}/badges/{row['badge_id']}")
