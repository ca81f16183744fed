"""What every request goes through at the edge, before and after it is routed.

Preflights are answered here and never reach a service or a rate limit; every other request
is charged one token of its client's bucket; and every response, errors and streams included,
leaves with the CORS, RateLimit-* and X-Request-ID headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hspm.common.errors import NotFound, TooManyRequests
from hspm.common.web.app import request_id_key
from hspm.gateway import keys
from hspm.gateway.edge.auth import MAX_TOKEN_LENGTH
from hspm.gateway.edge.cors import is_preflight

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


# Served only on the internal listener (app.metrics_listener), never on the public port.
INTERNAL_PATHS = frozenset({"/metrics"})


@web.middleware
async def internal_paths_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The public listener answers 404 for what only operators' tools may read."""
    if request.path in INTERNAL_PATHS:
        raise NotFound(f"No resource is served at {request.path}.")
    return await handler(request)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer preflights at the edge; they never reach a service or a rate limit."""
    if is_preflight(request):
        return request.app[keys.cors].preflight(request)
    return await handler(request)


def client_key(request: web.Request) -> str:
    """The session of an already-verified token, else the client's address.

    A token not yet verified is charged to the address: that bounds the signature
    checks a client can cause with made-up tokens.
    """
    authorization = request.headers.get("Authorization")
    if authorization is not None and len(authorization) <= MAX_TOKEN_LENGTH + 7:
        token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        verified = request.app[keys.auth].peek(token) if token else None
        if verified is not None:
            return "s:" + verified.session_id
    return "ip:" + request.app[keys.trusted_proxies].client_ip(request)


@web.middleware
async def ratelimit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Charge the client one token; refuse with 429 and Retry-After when it has none."""
    if request.path in EXEMPT_PATHS:
        return await handler(request)
    decision = request.app[keys.limiter].take(client_key(request))
    request[keys.rate_decision] = decision
    if not decision.allowed:
        raise TooManyRequests(
            f"Rate limit exceeded; retry in {decision.retry_after} s.",
        )
    return await handler(request)


async def edge_headers(request: web.Request, response: web.StreamResponse) -> None:
    """CORS, rate-limit and request-id headers on every response, errors and streams too."""
    request.app[keys.cors].decorate(request, response)
    decision = request.get(keys.rate_decision)
    if decision is not None:
        response.headers.update(decision.headers())
    request_id = request.get(request_id_key)
    if request_id:
        response.headers["X-Request-ID"] = request_id
