"""Which headers cross the gateway in each direction, and what it adds on the way in."""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from hspm.common.auth import PRINCIPAL_HEADER
from hspm.common.web.app import request_id_key
from hspm.gateway import keys

# RFC 9110 §7.6.1 hop-by-hop fields, plus Host: the client library sets the upstream's.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# Services trust only the gateway's assertion: the bearer token and anything a client
# claims about itself or its route stay at the edge.
REQUEST_DROP = HOP_BY_HOP | {
    "authorization",
    PRINCIPAL_HEADER.lower(),
    "content-length",
    "expect",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-request-id",
}
# The body is re-framed by aiohttp; CORS and the request id are the gateway's to set.
RESPONSE_DROP = HOP_BY_HOP | {
    "content-length",
    "x-request-id",
    "access-control-allow-origin",
    "access-control-expose-headers",
}
WEBSOCKET_DROP = REQUEST_DROP | {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
}


def _without(headers: CIMultiDictProxy[str], drop: frozenset[str]) -> CIMultiDict[str]:
    """``headers`` minus ``drop`` and whatever their own Connection header names as hop-by-hop."""
    value = headers.get("Connection")
    also_drop = frozenset(t.strip().lower() for t in value.split(",")) if value else frozenset()
    kept: CIMultiDict[str] = CIMultiDict()
    for name, item in headers.items():
        lower = name.lower()
        if lower not in drop and lower not in also_drop:
            kept.add(name, item)
    return kept


def upstream_headers(
    request: web.Request, assertion: str | None, drop: frozenset[str] = REQUEST_DROP
) -> CIMultiDict[str]:
    """The client's headers minus the edge's own, plus request id, forwarding and principal."""
    incoming = request.headers
    headers = _without(incoming, drop)
    trusted = request.app[keys.trusted_proxies].peer_is_trusted(request)
    peer = request.remote or "unknown"
    prior = incoming.get("X-Forwarded-For") if trusted else None
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = (
        incoming.get("X-Forwarded-Proto", request.scheme) if trusted else request.scheme
    )
    headers["X-Forwarded-Host"] = incoming.get("X-Forwarded-Host", request.host) if trusted else request.host
    headers["X-Request-ID"] = request[request_id_key]
    if assertion is not None:
        headers[PRINCIPAL_HEADER] = assertion
    return headers


def downstream_headers(upstream: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The upstream's response headers minus hop-by-hop and framing ones."""
    return _without(upstream, RESPONSE_DROP)
