"""JSON shapes of index and search results: products with badges, logo URLs and facets."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from hspm.catalog.products import views as products_views


def product(row: Record, base: str) -> dict[str, Any]:
    """The products area's shape; search rows carry badges as two parallel arrays."""
    data = dict(row)
    data["badges"] = [{"id": i, "name": n} for i, n in zip(row["badge_ids"], row["badge_names"], strict=True)]
    return products_views.product(data, base)


def facet(name: str, rows: list[Record]) -> list[dict[str, Any]]:
    if name == "mime_type":
        return [{"value": r["value"], "count": r["count"]} for r in rows]
    return [{"id": r["id"], "name": r["name"], "count": r["count"]} for r in rows]
