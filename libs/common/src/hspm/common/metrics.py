"""The Prometheus metrics of the shared machinery (outbox, bus) and the notifier's sockets.

The outbox relay and the bus consumer are built deep below the application, where no
app-scoped registry is in reach, so their metrics are process-wide objects labelled by
service, held in :data:`SHARED`. Every service's ``/metrics`` serves them: the base app
registers :data:`COLLECTORS` into its own registry. Per-replica values that an app owns
(the notifier's sockets) are made per registry instead, by a factory here, so two apps
in one process never mix their numbers. Every name is listed in
docs/operations/metrics-and-traces.md.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.registry import Collector

SHARED = CollectorRegistry()

OUTBOX_PENDING = Gauge(
    "hspm_outbox_pending_events",
    "Outbox rows not yet published, counted by the relay after each pass (at most every few seconds)",
    ["service"],
    registry=SHARED,
)
OUTBOX_PUBLISHED = Counter(
    "hspm_outbox_published_total",
    "Outbox rows published with the broker's confirm, by whether a queue was bound (routed/unrouted)",
    ["service", "outcome"],
    registry=SHARED,
)
OUTBOX_FAILED = Counter(
    "hspm_outbox_publish_failures_total",
    "Outbox rows whose publish failed; the relay publishes them again once their lease expires",
    ["service"],
    registry=SHARED,
)
BUS_CONSUMED = Counter(
    "hspm_bus_messages_total",
    "Messages taken off a service's queue, by event type and outcome (acked, requeued, dead_lettered)",
    ["service", "event_type", "outcome"],
    registry=SHARED,
)

COLLECTORS: tuple[Collector, ...] = (OUTBOX_PENDING, OUTBOX_PUBLISHED, OUTBOX_FAILED, BUS_CONSUMED)


def outbox_batch(service: str, routed: int, unrouted: int, failed: int) -> None:
    """Count one relay batch's rows by what became of them."""
    OUTBOX_PUBLISHED.labels(service, "routed").inc(routed)
    OUTBOX_PUBLISHED.labels(service, "unrouted").inc(unrouted)
    OUTBOX_FAILED.labels(service).inc(failed)


def consumed(service: str, event_type: str, outcome: str) -> None:
    """Count one message taken off a queue: ``acked``, ``requeued`` or ``dead_lettered``."""
    BUS_CONSUMED.labels(service, event_type, outcome).inc()


def agent_connections(
    registry: CollectorRegistry, agents: Callable[[], int], owners: Callable[[], int]
) -> Gauge:
    """The notifier replica's authenticated sockets, read from its hub at scrape time.

    Read when scraped rather than counted at each join and leave: the hub's indexes are
    the truth, and a counter kept beside them could drift on an unusual close path.
    """
    gauge = Gauge(
        "hspm_notifier_connections",
        "Authenticated notifier sockets on this replica: Platform Agents (agent), platform owners (owner)",
        ["kind"],
        registry=registry,
    )
    gauge.labels("agent").set_function(agents)
    gauge.labels("owner").set_function(owners)
    return gauge
