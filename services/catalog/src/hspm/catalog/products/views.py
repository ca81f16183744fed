"""JSON shapes of products, sub-products, badges and awards, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

_PRODUCT_FIELDS = (
    "id",
    "name",
    "description",
    "external_id",
    "locale",
    "mime_type",
    "user_id",
    "uri",
    "support_url",
    "published_at",
    "visible_at",
    "created_at",
    "updated_at",
    "listed",
    "badges",
)
LOGO_SIZES = ("small", "medium", "large")


def _link(body: dict[str, Any], base: str, path: str) -> dict[str, Any]:
    body["path"] = path
    body["url"] = base + path
    return body


def product(row: asyncpg.Record | Mapping[str, Any], base: str) -> dict[str, Any]:
    """A row selected with ``store.PRODUCT_COLS``; logos always exist (a placeholder if none)."""
    path = f"/products/{row['id']}"
    body = {k: row[k] for k in _PRODUCT_FIELDS}
    body["logo"] = {size: f"{base}{path}/logo/{size}" for size in LOGO_SIZES}
    return _link(body, base, path)


def sub_product(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "parent_id", "child_id", "created_at", "updated_at")}
    return _link(body, base, f"/sub_products/{row['id']}")


def badge(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "name", "description", "created_at", "updated_at")}
    return _link(body, base, f"/badges/{row['id']}")


def award(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """An awarded badge: the badge's own fields plus who awarded it, when and why."""
    body = {
        k: row[k]
        for k in (
            "id",
            "badge_id",
            "product_id",
            "name",
            "description",
            "reason",
            "awarded_by",
            "created_at",
            "updated_at",
        )
    }
    body["badge_url"] = f"{base}/badges/{row['badge_id']}"
    return _link(body, base, f"/products/{row['product_id']}/badges/{row['badge_id']}")
