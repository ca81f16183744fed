"""Per-client token buckets, in memory per replica, with RateLimit-* headers."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


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
