"""The product index and search: what this caller may see, filtered, ranked and counted.

Visibility is the products area's rule (``products.service.sees_drafts``), applied by
the store to the page, the total and every facet alike.

The license filter and facet read the catalog's copy of licensing's offers, kept here
from its events (``search.consumers``); products embed the same copy.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from asyncpg import Record

from hspm.catalog.products import service as products
from hspm.catalog.search import store
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.stamped import ReadClock, Stamp, StampedCache
from hspm.common.auth import Principal
from hspm.common.db import Conn

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Results:
    """One page of products, the total, and the counts of each facet asked for."""

    rows: list[Record]
    total: int
    # Per facet: rows with ``value`` (MIME type) or ``id`` and ``name``, and ``count``.
    facets: dict[str, list[Any]] = field(default_factory=dict)
    # The JSON these rendered to, by base URL: a cached result is rendered once.
    rendered: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


def viewer(p: Principal) -> Viewer:
    """Who is looking decides which products (and which of their builds) count."""
    return Viewer(user_id=p.user_id, sees_drafts=products.sees_drafts(p))


Key = tuple[SearchQuery, Viewer, tuple[str, ...]]
Found = tuple[Results, Stamp]  # a search's result and the stamp it was read under
RunSearch = Callable[[Viewer], Coroutine[Any, Any, Found]]


class ResultCache(StampedCache[Key, Results]):
    """Search results by query, viewer and facets (``hspm.catalog.stamped`` says when one
    is served); ``size`` entries at most, each at most one page, so the memory is bounded."""


async def find(
    cache: ResultCache,
    p: Principal,
    query: SearchQuery,
    facets: tuple[str, ...],
    read: ReadClock,
    run: RunSearch,
) -> Results:
    """``GET /products`` and ``POST /products/search`` alike, through this replica's cache.

    ``read`` fetches the generation (``generation``), once for every request waiting on
    it; ``run`` searches (``search``) on a connection of its own. A search not cached is
    run once however many ask for it at the same moment: the others take its result when
    it was read under their generation or a later one, so it is current for them too.
    """
    seen_by = viewer(p)
    return await cache.through((query, seen_by, facets), read, lambda: run(seen_by))


async def search(conn: Conn, query: SearchQuery, seen_by: Viewer, facets: tuple[str, ...]) -> Found:
    """One statement, one match: the page, the total, the facets, and their stamp."""
    rows, total, counts, stamp = await store.search(conn, query, seen_by, facets)
    return Results(rows, total, counts), stamp


async def offer_license(
    conn: Conn, product_license_id: UUID, product_id: UUID, license_id: UUID, name: str, at: datetime
) -> bool:
    """Licensing offers ``product_id`` under a license, or renamed the offer (upserted).

    An offer for a product the catalog does not have is dropped, not kept for later:
    products are born here, and licensing learns of one only from this service's
    ``ProductCreated``, written with the product's row. So no product event can follow;
    a missing product was deleted, and its offers went with it (a foreign key cascade,
    as ``ProductDeleted`` is emitted). Also dropped: an offer of a product license
    already withdrawn, or older than the one the copy holds (messages can overtake).
    """
    kept = await store.offer_license(conn, product_license_id, product_id, license_id, name, at)
    if not kept:
        log.info(
            "license_offer.ignored",
            product_license_id=str(product_license_id),
            product_id=str(product_id),
            license_id=str(license_id),
        )
    return kept


async def withdraw_license(conn: Conn, product_license_id: UUID, product_id: UUID, license_id: UUID) -> bool:
    """Licensing withdrew a product license: its offer goes, if the copy still holds it,
    and the withdrawal is remembered so a late offer of it cannot bring it back."""
    return await store.withdraw_license(conn, product_license_id, product_id, license_id)
