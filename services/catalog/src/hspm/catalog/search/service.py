"""The product index and search: what this caller may see, filtered, ranked and counted.

Visibility is the products area's rule (``products.service.sees_drafts``), applied by
the store to the page, the total and every facet alike.

The license filter and facet read the catalog's copy of licensing's offers, kept here
from its events (``search.consumers``); products embed the same copy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
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
Clock = tuple[int, datetime]  # the search generation and the database's now()
ReadClock = Callable[[], Coroutine[Any, Any, Clock]]
Found = tuple[Results, store.Stamp]  # a search's result and the stamp it was read under
RunSearch = Callable[[Viewer], Coroutine[Any, Any, Found]]


@dataclass(frozen=True)
class _Entry:
    results: Results
    stamp: store.Stamp


class _SharedRead:
    """One read of the generation at a time, shared by every request that arrived before
    it began. A read already under way may have begun before a request did, so that
    request waits for the next one: whatever it is served was current when it asked.
    Under load one round trip answers a whole line of requests instead of one each.
    """

    def __init__(self) -> None:
        self._next: asyncio.Future[Clock] | None = None
        self._running: asyncio.Task[Clock] | None = None

    async def get(self, read: ReadClock) -> Clock:
        turn = self._next
        if turn is None:
            turn = self._next = asyncio.get_running_loop().create_future()
            if self._running is None:
                self._start(read)
        # Shielded: a caller that goes away must not cancel the read the others wait for.
        return await asyncio.shield(turn)

    def _start(self, read: ReadClock) -> None:
        waiting, self._next = self._next, None
        assert waiting is not None
        self._running = asyncio.get_running_loop().create_task(read())
        self._running.add_done_callback(lambda task: self._finish(task, waiting, read))

    def _finish(self, task: asyncio.Task[Clock], waiting: asyncio.Future[Clock], read: ReadClock) -> None:
        self._running = None
        if task.cancelled():
            waiting.cancel()
        elif (error := task.exception()) is not None:
            waiting.set_exception(error)
        else:
            waiting.set_result(task.result())
        if self._next is not None:
            self._start(read)


class ResultCache:
    """Search results by query, viewer and facets, each kept with the stamp it was read
    under and served only while the stamp still holds (migration 0008 says why that is
    exact). Least recently used entries go first; ``size`` entries at most, each at most
    one page, so the memory is bounded.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._clock = _SharedRead()
        self._flights: dict[Key, asyncio.Task[Found]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Key, generation: int, now: datetime) -> Results | None:
        entry = self._entries.get(key)
        due = entry is not None and entry.stamp.next_change is not None and entry.stamp.next_change <= now
        if entry is None or entry.stamp.generation != generation or due:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.results

    def put(self, key: Key, results: Results, stamp: store.Stamp) -> None:
        if self.size <= 0:
            return
        self._entries[key] = _Entry(results, stamp)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def fill(self, key: Key, generation: int, run: Callable[[], Coroutine[Any, Any, Found]]) -> Results:
        """Run the search for ``key`` (or join the one already running) and keep its result."""
        flight = self._flights.get(key)
        if flight is not None:
            with contextlib.suppress(Exception):  # its failure is not this request's: run anew
                results, stamp = await asyncio.shield(flight)
                if stamp.generation >= generation:
                    return results
        task = asyncio.get_running_loop().create_task(run())
        self._flights[key] = task
        task.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: the others waiting on it must not lose it if this caller goes away.
        results, _ = await asyncio.shield(task)
        return results

    def _landed(self, key: Key, task: asyncio.Task[Found]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled() and task.exception() is None:
            results, stamp = task.result()
            self.put(key, results, stamp)

    async def clock(self, read: ReadClock) -> Clock:
        """The generation and the time now, read once for all who are asking."""
        return await self._clock.get(read)


async def generation(conn: Conn) -> Clock:
    """The search generation and the database's clock (what ``ResultCache.clock`` reads)."""
    return await store.generation(conn)


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
    if cache.size <= 0:
        results, _ = await run(seen_by)
        return results
    key: Key = (query, seen_by, facets)
    generation, now = await cache.clock(read)
    hit = cache.get(key, generation, now)
    if hit is not None:
        return hit
    return await cache.fill(key, generation, lambda: run(seen_by))


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
