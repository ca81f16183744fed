"""A service's replicas as the gateway sees them: its base URLs, taken in turn.

``HSPM_<SERVICE>_URL`` may name several base URLs, comma separated (one per replica, where
no load balancer stands in front of them). Requests go round robin; a replica that
refuses the connection is passed over for the next one, because a request that never
reached a replica can go to another whatever its method. One URL (a Kubernetes Service,
a compose service name) is the common case and costs nothing more.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from yarl import URL


@dataclass(frozen=True)
class Replica:
    base: str
    # (host, port, Host header) for the lean client; None for other than plain http://.
    address: tuple[str, int, str] | None


def replica(base: str) -> Replica:
    url = URL(base)
    if url.scheme == "http" and url.raw_host and url.port:
        return Replica(base, (url.raw_host, url.port, url.host_port_subcomponent or url.raw_host))
    return Replica(base, None)


class Replicas:
    def __init__(self, bases: tuple[str, ...]) -> None:
        if not bases:
            raise ValueError("a deployed service has at least one base URL")
        self.replicas = tuple(replica(b) for b in bases)
        self._turn = itertools.count()

    def in_turn(self) -> Iterator[Replica]:
        """Every replica once, starting with the one whose turn it is."""
        start = next(self._turn) % len(self.replicas)
        n = len(self.replicas)
        return (self.replicas[(start + i) % n] for i in range(n))

    def first(self) -> Replica:
        """The replica whose turn it is (for what is not retried elsewhere)."""
        return next(self.in_turn())


def parse_bases(value: str) -> tuple[str, ...]:
    """``"http://a:1, http://b:1/"`` -> ``("http://a:1", "http://b:1")``; blanks dropped."""
    return tuple(b.strip().rstrip("/") for b in value.split(",") if b.strip())
