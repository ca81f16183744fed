"""The gateway's app factory: resources, middlewares, routes."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web.app import create_base_app, request_id_key, state_key
from hspm.gateway import keys, websocket
from hspm.gateway.auth import Authenticator
from hspm.gateway.config import Settings
from hspm.gateway.consumers import HANDLERS
from hspm.gateway.cors import CorsPolicy, cors_middleware
from hspm.gateway.forwarding import parse_networks
from hspm.gateway.openapi import OpenApiCache
from hspm.gateway.ratelimit import RateLimiter, ratelimit_middleware
from hspm.gateway.routes import RULES, setup_routes
from hspm.gateway.routing import RouteTable

# The client passes Accept-Encoding through untouched; letting aiohttp add its own
# would hand compressed bodies to clients that never asked for them.
SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
READY_TIMEOUT = aiohttp.ClientTimeout(total=1)


def create_app(settings: Settings) -> web.Application:
    """The gateway application for ``settings``."""
    app = create_base_app(
        settings,
        "gateway",
        trust_principal=False,
        middlewares=[cors_middleware, ratelimit_middleware],
    )
    app[keys.settings] = settings
    app[keys.routes] = RouteTable(RULES)
    app[keys.upstreams] = settings.upstreams()
    app[keys.cors] = CorsPolicy(settings.origins())
    app[keys.trusted_proxies] = parse_networks(settings.trusted_proxies)
    app[keys.limiter] = RateLimiter(
        settings.rate_limit_per_minute, settings.rate_limit_burst, settings.rate_limit_max_clients
    )
    app[keys.websockets] = weakref.WeakSet()
    app.cleanup_ctx.append(http_client)
    # The bus must be up before the broadcast queue that invalidates caches.
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.broadcast(HANDLERS))
    app.on_response_prepare.append(edge_headers)
    app.on_shutdown.append(websocket.close_all)
    setup_routes(app)
    return app


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """One client session for every upstream call, and the caches built on it."""
    settings = app[keys.settings]
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout, connect=5),
        auto_decompress=False,
        skip_auto_headers=SKIP_AUTO_HEADERS,
        # A shared jar would replay one user's upstream cookies for the next user.
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    auth = Authenticator(settings, client)
    app[keys.client] = client
    app[keys.auth] = auth
    upstreams: dict[str, str | None] = app[keys.upstreams]
    app[keys.openapi] = OpenApiCache(client, upstreams, app[keys.routes], settings.openapi_cache_seconds)
    app[state_key].readiness.append(("identity", identity_probe(client, settings.identity_url)))
    try:
        yield
    finally:
        await auth.close()
        await client.close()


def identity_probe(client: aiohttp.ClientSession, identity_url: str | None) -> Callable[[], Awaitable[None]]:
    """Readiness: without identity no token can be checked."""

    async def probe() -> None:
        if identity_url is None:
            raise ConnectionError("identity is not configured")
        async with client.get(f"{identity_url}/healthz", timeout=READY_TIMEOUT) as resp:
            if resp.status != 200:
                raise ConnectionError(f"identity answered {resp.status}")

    return probe


async def edge_headers(request: web.Request, response: web.StreamResponse) -> None:
    """CORS, rate-limit and request-id headers on every response, errors and streams too."""
    request.app[keys.cors].decorate(request, response)
    decision = request.get(keys.rate_decision)
    if decision is not None:
        response.headers.update(decision.headers())
    request_id = request.get(request_id_key)
    if request_id:
        response.headers["X-Request-ID"] = request_id
