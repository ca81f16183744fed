"""The baseline: a bare aiohttp + asyncpg server running the catalog's own SQL.

No middleware, no auth, no logging, no metrics: the same store functions and views the
catalog uses, so the ratio measures what the service and the gateway add.
Run as ``python -m bench.bare_catalog DSN PORT``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from uuid import UUID

import orjson
import uvloop
from aiohttp import web

from hspm.catalog.products import store as products_store
from hspm.catalog.products import views as products_views
from hspm.catalog.search import rules as search_rules
from hspm.catalog.search import store as search_store
from hspm.catalog.search import views as search_views
from hspm.catalog.search.models import SEARCH_SORTS, SearchQuery, Viewer
from hspm.common import db
from hspm.common.web.app import dumps

BASE = "http://127.0.0.1:8080"
pool_key = web.AppKey("pool", object)
ANONYMOUS = Viewer()


async def product(request: web.Request) -> web.Response:
    async with request.app[pool_key].acquire() as conn:  # type: ignore[attr-defined]
        row = await products_store.get_product(conn, UUID(request.match_info["id"]))
    if row is None or not row["listed"]:
        raise web.HTTPNotFound()
    return web.Response(body=dumps(products_views.product(row, BASE)), content_type="application/json")


async def search(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    text = body.get("text")
    q = SearchQuery(
        page=search_rules.page_params({}, SEARCH_SORTS, has_text=bool(text)),
        text=text,
        mime_types=tuple(body.get("mime_type") or ()),
    )
    async with request.app[pool_key].acquire() as conn:  # type: ignore[attr-defined]
        rows, total = await search_store.search_products(conn, q, ANONYMOUS)
        facets = {
            f: search_views.facet(f, await search_store.facet_counts(conn, q, ANONYMOUS, f))
            for f in body.get("facets") or ()
        }
    out = {"results": [search_views.product(r, BASE) for r in rows], "total_entries": total, "facets": facets}
    return web.Response(body=dumps(out), content_type="application/json")


def create_app(dsn: str) -> web.Application:
    async def pool(app: web.Application) -> AsyncIterator[None]:
        app[pool_key] = await db.create_pool(dsn, 2, 32)
        yield
        await app[pool_key].close()  # type: ignore[attr-defined]

    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_get("/products/{id}", product)
    app.router.add_post("/products/search", search)
    return app


if __name__ == "__main__":
    web.run_app(
        create_app(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
