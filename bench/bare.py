"""The bare baselines' common part: an aiohttp app on uvloop with one asyncpg pool, nothing else.

Each bare module (``bare_catalog``, ``bare_licensing``) adds only its handlers, which run the
same store SQL as the service, so a ratio to it measures what the service adds.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
import uvloop
from aiohttp import web

from hspm.common import db

pool_key = web.AppKey("pool", asyncpg.Pool)
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


def create_app(dsn: str, pool_size: int, routes: Sequence[Route]) -> web.Application:
    async def pool(app: web.Application) -> AsyncIterator[None]:
        app[pool_key] = await db.create_pool(dsn, pool_size, pool_size)
        yield
        await app[pool_key].close()

    app = web.Application()
    app.cleanup_ctx.append(pool)
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app


def serve(routes: Sequence[Route], default_pool: int) -> None:
    """``python -m bench.bare_x DSN PORT [POOL]``."""
    pool_size = int(sys.argv[3]) if len(sys.argv) > 3 else default_pool
    web.run_app(
        create_app(sys.argv[1], pool_size, routes),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
