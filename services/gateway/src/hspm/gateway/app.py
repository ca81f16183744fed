"""The gateway's app factory: per-replica state, the edge's middlewares, the routes.

Unlike the area template it has no database and no areas: it owns no data. It authenticates,
rate-limits and forwards each request to the owning service, merges their OpenAPI documents and
relays WebSockets, so its layers are ``edge/``, ``forwarding/`` and ``docs/``; its only events
are identity's cache invalidations (``consumers``).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web.app import create_base_app, metrics, state_key
from hspm.gateway import keys
from hspm.gateway.config import Settings
from hspm.gateway.consumers import HANDLERS
from hspm.gateway.docs.openapi import OpenApiCache
from hspm.gateway.edge import check
from hspm.gateway.edge.auth import Authenticator
from hspm.gateway.edge.cors import CorsPolicy
from hspm.gateway.edge.middlewares import (
    cors_middleware,
    edge_headers,
    internal_paths_middleware,
    ratelimit_middleware,
)
from hspm.gateway.edge.proxies import TrustedProxies
from hspm.gateway.edge.ratelimit import RateLimiter
from hspm.gateway.forwarding import websocket
from hspm.gateway.forwarding.replicas import Replicas
from hspm.gateway.forwarding.routing import RouteTable
from hspm.gateway.forwarding.upstream import UpstreamPool
from hspm.gateway.routes import RULES, setup_routes

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
        middlewares=[internal_paths_middleware, cors_middleware, ratelimit_middleware],
    )
    app[keys.settings] = settings
    app[keys.routes] = RouteTable(RULES)
    app[keys.upstreams] = settings.upstreams()
    app[keys.cors] = CorsPolicy(settings.origins())
    app[keys.trusted_proxies] = TrustedProxies.parse(settings.trusted_proxies)
    app[keys.limiter] = RateLimiter(
        settings.rate_limit_per_minute, settings.rate_limit_burst, settings.rate_limit_max_clients
    )
    app[keys.websockets] = weakref.WeakSet()
    app.cleanup_ctx.append(http_client)
    app.cleanup_ctx.append(metrics_listener)
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
    auth = Authenticator(settings, client, app[keys.upstreams]["identity"])
    # Same limits as the aiohttp client's connector: 256 per service, idle 30 s.
    pool = UpstreamPool(limit=256, keepalive=30, connect_timeout=5) if settings.lean_upstream else None
    app[keys.upstream_pool] = pool
    app[keys.client] = client
    app[keys.auth] = auth
    upstreams = app[keys.upstreams]
    app[keys.openapi] = OpenApiCache(client, upstreams, app[keys.routes], settings.openapi_cache_seconds)
    app[state_key].readiness.append(("identity", identity_probe(client, upstreams["identity"])))
    try:
        yield
    finally:
        await auth.close()
        if pool is not None:
            pool.close()
        await client.close()


def identity_probe(client: aiohttp.ClientSession, identity: Replicas | None) -> Callable[[], Awaitable[None]]:
    """Readiness: without identity no token can be checked (one healthy replica will do)."""

    async def probe() -> None:
        if identity is None:
            raise ConnectionError("identity is not configured")
        failures: list[str] = []
        for replica in identity.in_turn():
            try:
                async with client.get(f"{replica.base}/healthz", timeout=READY_TIMEOUT) as resp:
                    if resp.status == 200:
                        return
                    failures.append(f"answered {resp.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures.append(type(exc).__name__)
        raise ConnectionError(f"no identity replica is healthy: {', '.join(failures)}")

    return probe


async def metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """``/metrics`` (and the edge's token check) on a second, internal address.

    The public port is the internet's. Prometheus scrapes it on the private network
    (compose publishes only the public port); it serves the same registry the public
    app counts into, and, with ``HSPM_EDGE_AUTH``, the token check an edge proxy asks.
    """
    settings = app[keys.settings]
    if settings.metrics_port is None:
        yield
        return
    internal = web.Application()
    internal[state_key] = app[state_key]
    internal.router.add_get("/metrics", metrics)
    if settings.edge_auth:
        internal[check.public_app] = app
        internal.router.add_get("/edge/auth", check.token_check)
    runner = web.AppRunner(internal, access_log=None)
    await runner.setup()
    try:
        host = settings.metrics_host or settings.http_host
        await web.TCPSite(runner, host, settings.metrics_port, reuse_port=True).start()
        bound_host, bound_port = runner.addresses[0][:2]
        bound_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        app[keys.metrics_url] = f"http://{bound_host}:{bound_port}"
        yield
    finally:
        await runner.cleanup()
