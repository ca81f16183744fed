"""Who the client is: the socket peer, or behind trusted proxies what they report.

X-Forwarded-* headers are believed only from peers in the configured networks; anyone else
could claim any address (and so any rate-limit bucket) or any public origin.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks; an empty string trusts no one."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip())


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers whose X-Forwarded-For, -Proto and -Host are believed."""

    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        return cls(parse_networks(spec))

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def peer_is_trusted(self, request: web.Request) -> bool:
        """True when the socket peer is a proxy whose X-Forwarded-* headers are believed."""
        return bool(self.networks) and self._trusted(request.remote or "")

    def client_ip(self, request: web.Request) -> str:
        """The socket peer, or behind trusted proxies the nearest untrusted forwarded address."""
        peer = request.remote or "unknown"
        if not self.peer_is_trusted(request):
            return peer
        chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        for address in reversed(chain):
            if not self._trusted(address):
                return address
        return chain[0] if chain else peer

    def public_origin(self, request: web.Request) -> str:
        """The scheme and host the client used (as a trusted proxy reports them)."""
        trusted = self.peer_is_trusted(request)
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme) if trusted else request.scheme
        host = request.headers.get("X-Forwarded-Host", request.host) if trusted else request.host
        return f"{scheme}://{host}"
