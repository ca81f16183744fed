"""The baseline: a bare aiohttp + asyncpg server running the catalog's own SQL.

No middleware, no auth, no logging, no metrics: the same store functions and views the
catalog uses, so the ratio measures what the service and the gateway add.
Run as ``python -m bench.bare_catalog DSN PORT [POOL_SIZE]``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from bench import bare
from hspm.catalog.products import store as products_store
from hspm.catalog.products import views as products_views
from hspm.catalog.search import rules as search_rules
from hspm.catalog.search import store as search_store
from hspm.catalog.search import views as search_views
from hspm.catalog.search.models import SEARCH_SORTS, SearchQuery, Viewer
from hspm.common import db
from hspm.common.web.app import dumps

BASE = "http://127.0.0.1:8080"
ANONYMOUS = Viewer()


async def product(request: web.Request) -> web.Response:
    async with db.acquire(request.app[bare.pool_key], 5.0) as conn:
        row = await products_store.get_product(conn, UUID(request.match_info["id"]))
    if row is None or not row["listed"]:
        raise web.HTTPNotFound()
    return web.Response(body=dumps(products_views.product(row, BASE)), content_type="application/json")


async def run_search(conn: db.Conn, body: dict[str, Any]) -> dict[str, Any]:
    """The search the catalog runs for ``body`` (text, MIME filter, facets), rendered."""
    text = body.get("text")
    q = SearchQuery(
        page=search_rules.page_params({}, SEARCH_SORTS, has_text=bool(text)),
        text=text,
        mime_types=tuple(body.get("mime_type") or ()),
    )
    rows, total, found, _ = await search_store.search(conn, q, ANONYMOUS, tuple(body.get("facets") or ()))
    facets = {f: search_views.facet(f, found[f]) for f in found}
    return {
        "results": [search_views.product(r, BASE) for r in rows],
        "total_entries": total,
        "facets": facets,
    }


async def search(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    async with db.acquire(request.app[bare.pool_key], 5.0) as conn:
        out = await run_search(conn, body)
    return web.Response(body=dumps(out), content_type="application/json")


ROUTES: list[bare.Route] = [("GET", "/products/{id}", product), ("POST", "/products/search", search)]


def create_app(dsn: str, pool_size: int = 32) -> web.Application:
    return bare.create_app(dsn, pool_size, ROUTES)


if __name__ == "__main__":
    bare.serve(ROUTES, 32)
