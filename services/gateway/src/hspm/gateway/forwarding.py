"""Who the client is, and which headers cross the gateway in each direction."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from hspm.common.auth import PRINCIPAL_HEADER
from hspm.common.web.app import request_id_key
from hspm.gateway import keys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

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


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks; an empty string trusts no one."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip())


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def peer_is_trusted(request: web.Request) -> bool:
    """True when the socket peer is a proxy whose X-Forwarded-* headers are believed."""
    networks = request.app[keys.trusted_proxies]
    return bool(networks) and _trusted(request.remote or "", networks)


def client_ip(request: web.Request) -> str:
    """The socket peer, or behind trusted proxies the nearest untrusted forwarded address."""
    peer = request.remote or "unknown"
    if not peer_is_trusted(request):
        return peer
    networks = request.app[keys.trusted_proxies]
    chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, networks):
            return address
    return chain[0] if chain else peer


def public_origin(request: web.Request) -> str:
    """The scheme and host the client used (as a trusted proxy reports them)."""
    trusted = peer_is_trusted(request)
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme) if trusted else request.scheme
    host = request.headers.get("X-Forwarded-Host", request.host) if trusted else request.host
    return f"{scheme}://{host}"


def _connection_tokens(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    value = headers.get("Connection")
    if not value:
        return frozenset()
    return frozenset(t.strip().lower() for t in value.split(","))


def upstream_headers(
    request: web.Request, assertion: str | None, drop: frozenset[str] = REQUEST_DROP
) -> CIMultiDict[str]:
    """The client's headers minus the edge's own, plus request id, forwarding and principal."""
    incoming = request.headers
    also_drop = _connection_tokens(incoming)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in incoming.items():
        lower = name.lower()
        if lower not in drop and lower not in also_drop:
            headers.add(name, value)
    trusted = peer_is_trusted(request)
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
    also_drop = _connection_tokens(upstream)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream.items():
        lower = name.lower()
        if lower not in RESPONSE_DROP and lower not in also_drop:
            headers.add(name, value)
    return headers
