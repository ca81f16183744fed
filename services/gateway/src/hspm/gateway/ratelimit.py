"""Per-client token buckets, in memory per replica, with RateLimit-* headers."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from hspm.gateway import keys
from hspm.gateway.auth import MAX_TOKEN_LENGTH
from hspm.gateway.errors import TooManyRequests
from hspm.gateway.forwarding import client_ip

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one take, and what the RateLimit-* headers say about it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """RateLimit-* headers (and Retry-After when refused)."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Token buckets keyed by client: ``burst`` capacity, ``per_minute`` refill."""

    def __init__(self, per_minute: int, burst: int, max_clients: int) -> None:
        self.capacity = float(burst)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        # An idle bucket is full again after this long, so forgetting it changes nothing.
        self.idle_after = self.capacity / self.rate
        # key -> (tokens, last refill time); ordered by last use, oldest first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> Decision:
        """Spend one token of ``key``'s bucket if it has one."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        self._evict(now)
        return Decision(
            allowed=allowed,
            limit=int(self.capacity),
            remaining=int(tokens),
            reset=math.ceil((self.capacity - tokens) / self.rate),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate)),
        )

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            key, (_, last) = next(iter(buckets.items()))
            if now - last < self.idle_after and len(buckets) <= self.max_clients:
                return
            del buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


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
    return "ip:" + client_ip(request)


@web.middleware
async def ratelimit_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
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
