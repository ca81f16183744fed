"""Typed keys of the gateway's application and request state."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    # Imported for types only: the modules below read these keys at run time.
    from hspm.gateway.auth import Authenticator, SessionPrincipal
    from hspm.gateway.config import Settings
    from hspm.gateway.cors import CorsPolicy
    from hspm.gateway.forwarding import Network
    from hspm.gateway.openapi import OpenApiCache
    from hspm.gateway.ratelimit import Decision, RateLimiter
    from hspm.gateway.routing import RouteTable

settings: web.AppKey[Settings] = web.AppKey("gateway_settings")
routes: web.AppKey[RouteTable] = web.AppKey("gateway_routes")
upstreams: web.AppKey[dict[str, str | None]] = web.AppKey("gateway_upstreams")
client: web.AppKey[aiohttp.ClientSession] = web.AppKey("gateway_client")
auth: web.AppKey[Authenticator] = web.AppKey("gateway_auth")
limiter: web.AppKey[RateLimiter] = web.AppKey("gateway_limiter")
cors: web.AppKey[CorsPolicy] = web.AppKey("gateway_cors")
trusted_proxies: web.AppKey[tuple[Network, ...]] = web.AppKey("gateway_trusted_proxies")
openapi: web.AppKey[OpenApiCache] = web.AppKey("gateway_openapi")
websockets: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("gateway_websockets")

rate_decision: web.RequestKey[Decision] = web.RequestKey("gateway_rate_decision")
principal: web.RequestKey[SessionPrincipal] = web.RequestKey("gateway_principal")
