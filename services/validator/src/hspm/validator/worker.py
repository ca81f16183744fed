"""The validator's queue: validation requests in, reports out, a bounded number at once.

The validator keeps nothing durable, so it needs no outbox: a request is acknowledged
only after its report's publish is confirmed. If the process dies mid-run the broker
redelivers the request (up to the delivery limit, then the dead-letter queue), and
curation ignores a second report for a run it has already closed. This is the validator's
consumers layer: each request goes to ``pipeline.validate`` and nothing else.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import CollectorRegistry, Counter, Histogram

from hspm.common.bus import Bus, Consumer, delivery_count
from hspm.common.events import Event
from hspm.common.events.curation import ValidationRequested
from hspm.common.events.validator import ValidationCompleted, ValidationStarted
from hspm.validator import pipeline
from hspm.validator.config import Settings
from hspm.validator.sandbox import runner

log = structlog.get_logger(__name__)

# Runs cancelled at shutdown clean up their sandboxes within this, then go back to the queue.
CANCEL_GRACE_SECONDS = 5.0


class Worker:
    """Consumes ``curation.validation.requested`` with at most ``max_parallel`` runs at once."""

    def __init__(self, settings: Settings, bus: Bus, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.bus = bus
        self.consumer = Consumer(bus, "validator", self._handle, settings.max_parallel)
        self.running: set[asyncio.Task[ValidationCompleted]] = set()
        self.http: aiohttp.ClientSession | None = None
        self._stopped = False
        self.runs = Counter(
            "hspm_validations_total", "Validation runs by outcome", ["outcome"], registry=registry
        )
        self.seconds = Histogram(
            "hspm_validation_seconds",
            "Validation run duration",
            buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160),
            registry=registry,
        )

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=self.settings.registry_timeout)
        self.http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        reason = runner.probe(self.settings)
        log.info("validator.ready", parallel=self.settings.max_parallel, sandbox=reason or "available")
        await self.consumer.start_service_queue([ValidationRequested.TYPE])

    async def _handle(self, event: Event, message: AbstractIncomingMessage) -> None:
        assert isinstance(event, ValidationRequested) and self.http is not None
        attempt = delivery_count(message)
        await self.bus.publish_event(
            ValidationStarted(
                run_id=event.run_id, build_id=event.build_id, attempt=attempt, producer="validator"
            )
        )
        task = asyncio.create_task(pipeline.validate(event, self.settings, self.http))
        self.running.add(task)
        try:
            completed = await task
        finally:
            self.running.discard(task)
        self.runs.labels(completed.outcome).inc()
        self.seconds.observe(completed.timings.get("total", 0.0))
        log.info(
            "validation.completed",
            run_id=str(event.run_id),
            outcome=completed.outcome,
            seconds=completed.timings.get("total"),
        )
        # Acknowledged by the consumer only after this confirm: the report is never lost.
        await self.bus.publish_event(completed)

    async def stop(self) -> None:
        """Stop taking requests, cancel running ones (they clean up), requeue them.

        A cancelled run's request is never acknowledged: closing the channel returns it
        to the queue for another replica (or this one, restarted).
        """
        if self._stopped:
            return
        self._stopped = True
        await self.consumer.pause()
        for task in list(self.running):
            task.cancel()
        if self.running:
            await asyncio.wait(list(self.running), timeout=CANCEL_GRACE_SECONDS)
        await self.consumer.stop(1.0)
        if self.http is not None:
            await self.http.close()
