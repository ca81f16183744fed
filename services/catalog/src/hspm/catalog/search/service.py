"""The product index and search: what this caller may see, filtered, ranked and counted.

Visibility is the products area's rule (``products.service.sees_drafts``), applied by
the store to the page, the total and every facet alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asyncpg import Record

from hspm.catalog.products import service as products
from hspm.catalog.search import store
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.common.auth import Principal
from hspm.common.db import Conn


@dataclass(frozen=True)
class Results:
    """One page of products, the total, and the counts of each facet asked for."""

    rows: list[Record]
    total: int
    # Per facet: rows with ``value`` (MIME type) or ``id`` and ``name``, and ``count``.
    facets: dict[str, list[Any]] = field(default_factory=dict)


def viewer(p: Principal) -> Viewer:
    """Who is looking decides which products (and which of their builds) count."""
    return Viewer(user_id=p.user_id, sees_drafts=products.sees_drafts(p))


async def search(conn: Conn, p: Principal, query: SearchQuery, facets: tuple[str, ...]) -> Results:
    """``GET /products`` and ``POST /products/search`` alike: one statement, one match."""
    rows, total, counts = await store.search(conn, query, viewer(p), facets)
    return Results(rows, total, counts)
