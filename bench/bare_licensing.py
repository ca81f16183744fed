"""The baseline: a bare aiohttp + asyncpg server running licensing's own check.

No middleware, no auth, no logging, no metrics: the same store function (one SQL
statement, retried when a concurrent check took the last use) and the same view, so the
ratio measures what the service and the gateway add. The user is named by the
``X-Bench-User`` header in place of a token.
Run as ``python -m bench.bare_licensing DSN PORT [POOL_SIZE]``.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from aiohttp import web

from bench import bare
from hspm.common import db
from hspm.common.web.app import dumps
from hspm.licensing.authorizations import store, views
from hspm.licensing.directory.service import MAX_FAMILY_DEPTH

BASE = "http://127.0.0.1:8080"
USER_HEADER = "X-Bench-User"


async def check(request: web.Request) -> web.Response:
    user = UUID(request.headers[USER_HEADER])
    product = UUID(request.match_info["product_id"])
    attempt = uuid4()
    async with db.acquire(request.app[bare.pool_key], 5.0) as conn:
        row = await store.check(conn, "User", user, product, attempt, request.remote, None, MAX_FAMILY_DEPTH)
        while row["outcome"] == store.RETRY:
            row = await store.check(
                conn, "User", user, product, attempt, request.remote, None, MAX_FAMILY_DEPTH
            )
    if row["outcome"] != "granted":
        status = 404 if row["outcome"] == "not_found" else 422
        return web.Response(
            body=dumps({"message": row["outcome"]}), status=status, content_type="application/json"
        )
    return web.Response(body=dumps(views.claim(row, BASE)), content_type="application/json")


ROUTES: list[bare.Route] = [("PUT", "/authorizations/products/{product_id}", check)]


def create_app(dsn: str, pool_size: int = 8) -> web.Application:
    return bare.create_app(dsn, pool_size, ROUTES)


if __name__ == "__main__":
    bare.serve(ROUTES, 8)
