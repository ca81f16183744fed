"""Typed keys of the gateway's application and request state.

Every value here is state of this replica only (the gateway has no database): caches,
buckets and policies built at start-up from the settings, read by the middlewares and
handlers.
"""

from __future__ import annotations

import weakref

import aiohttp
from aiohttp import web

from hspm.gateway.config import Settings
from hspm.gateway.docs.openapi import OpenApiCache
from hspm.gateway.edge.auth import Authenticator, SessionPrincipal
from hspm.gateway.edge.cors import CorsPolicy
from hspm.gateway.edge.proxies import TrustedProxies
from hspm.gateway.edge.ratelimit import Decision, RateLimiter
from hspm.gateway.forwarding.replicas import Replicas
from hspm.gateway.forwarding.routing import RouteTable
from hspm.gateway.forwarding.upstream import UpstreamPool

settings: web.AppKey[Settings] = web.AppKey("gateway_settings")
routes: web.AppKey[RouteTable] = web.AppKey("gateway_routes")
upstreams: web.AppKey[dict[str, Replicas | None]] = web.AppKey("gateway_upstreams")
client: web.AppKey[aiohttp.ClientSession] = web.AppKey("gateway_client")
# The lean client of the proxy's hot path; None when HSPM_LEAN_UPSTREAM is off.
upstream_pool: web.AppKey[UpstreamPool | None] = web.AppKey("gateway_upstream_pool")
auth: web.AppKey[Authenticator] = web.AppKey("gateway_auth")
limiter: web.AppKey[RateLimiter] = web.AppKey("gateway_limiter")
cors: web.AppKey[CorsPolicy] = web.AppKey("gateway_cors")
trusted_proxies: web.AppKey[TrustedProxies] = web.AppKey("gateway_trusted_proxies")
openapi: web.AppKey[OpenApiCache] = web.AppKey("gateway_openapi")
websockets: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("gateway_websockets")
# Where the internal listener serves /metrics, once started (absent when not configured).
metrics_url: web.AppKey[str] = web.AppKey("gateway_metrics_url")

rate_decision: web.RequestKey[Decision] = web.RequestKey("gateway_rate_decision")
principal: web.RequestKey[SessionPrincipal] = web.RequestKey("gateway_principal")
