"""The product index and search: what this caller may see, filtered, ranked and counted.

Visibility is the products area's rule (``products.service.sees_drafts``), applied by
the store to the page, the total and every facet alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    facets: dict[str, list[Record]] = field(default_factory=dict)


def viewer(p: Principal) -> Viewer:
    """Who is looking decides which products (and which of their builds) count."""
    return Viewer(user_id=p.user_id, sees_drafts=products.sees_drafts(p))


async def search(conn: Conn, p: Principal, query: SearchQuery, facets: tuple[str, ...]) -> Results:
    """``GET /products`` and ``POST /products/search`` alike; each facet is one more query."""
    who = viewer(p)
    rows, total = await store.search_products(conn, query, who)
    counts = {name: await store.facet_counts(conn, query, who, name) for name in facets}
    return Results(rows, total, counts)
