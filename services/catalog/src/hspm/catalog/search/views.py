"""JSON shapes of index and search results: products with badges, logo URLs and facets."""

from __future__ import annotations

from typing import Any

from asyncpg import Record

from hspm.catalog.products import views as products_views
from hspm.catalog.search.service import Results
from hspm.common.paging import PageParams, page_envelope


def product(row: Record, base: str) -> dict[str, Any]:
    """The products area's shape; search rows carry badges as two parallel arrays."""
    data = dict(row)
    data["badges"] = [{"id": i, "name": n} for i, n in zip(row["badge_ids"], row["badge_names"], strict=True)]
    return products_views.product(data, base)


def facet(name: str, rows: list[Any]) -> list[dict[str, Any]]:
    if name == "mime_type":
        return [{"value": r["value"], "count": r["count"]} for r in rows]
    return [{"id": r["id"], "name": r["name"], "count": r["count"]} for r in rows]


def results(found: Results, page: PageParams, base: str) -> dict[str, Any]:
    """The spec's page envelope, with the paging echoed back and facets when asked for."""
    body = page_envelope([product(r, base) for r in found.rows], found.total, page)
    body.update(page=page.page, sort=page.sort, order=page.order.lower())
    if found.facets:
        body["facets"] = {name: facet(name, rows) for name, rows in found.facets.items()}
    return body
