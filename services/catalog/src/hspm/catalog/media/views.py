"""JSON shapes of logos and screenshots, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from hspm.catalog.media.images import SIZES


def _sizes(base: str, path: str) -> dict[str, str]:
    return {size: f"{base}{path}/{size}" for size in SIZES}


def logo(row: Record, base: str) -> dict[str, Any]:
    path = f"/products/{row['product_id']}/logo"
    return {
        "id": row["id"],
        "product_id": row["product_id"],
        "content_type": row["content_type"],
        "width": row["width"],
        "height": row["height"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "images": _sizes(base, path),
        "path": path,
        "url": base + path,
    }


def screenshot(row: Record, base: str) -> dict[str, Any]:
    path = f"/products/{row['product_id']}/screenshots/{row['id']}"
    return {
        "id": row["id"],
        "product_id": row["product_id"],
        "caption": row["caption"],
        "content_type": row["content_type"],
        "width": row["width"],
        "height": row["height"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        # The RI's field; the image and its row change together here.
        "image_updated_at": row["updated_at"],
        "images": _sizes(base, path),
        "path": path,
        "url": base + path,
    }
